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

/// With no events registered, the typings are "not found", and the answer
/// names no Rust internals (before: a 500 that did).
#[tokio::test]
async fn typings_without_events_are_404() {
    let server = Server::builder().build().expect("build");
    let running = primus_tests::server::serve(server).await;
    let reply = primus_tests::raw::get(running.addr, "/primus/primus.d.ts", &[]).await;
    reply.assert_status(404);
    assert_eq!(reply.body, "no typed events are registered\n");
    assert!(!reply.body.contains("primus::"), "{}", reply.body);
}
