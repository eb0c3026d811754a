//! With nothing registered (the handler crate is a dependency but never
//! named, so it is not linked), `from_registry` fails loudly.

use primus::registry::RegistryError;
use primus::{BuildError, Server};

#[tokio::test]
async fn empty_registry_is_a_clear_error() {
    assert!(primus::registry::handlers().is_empty());
    match Server::from_registry() {
        Err(BuildError::Registry(RegistryError::Empty)) => {}
        other => panic!("expected RegistryError::Empty, got {other:?}"),
    }
    let message = BuildError::Registry(RegistryError::Empty).to_string();
    assert!(message.contains("use that_crate as _;"), "{message}");
}
