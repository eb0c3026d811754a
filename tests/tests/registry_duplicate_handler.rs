//! Two handlers for one event, in different modules (the compiler cannot
//! see that): `from_registry` refuses with both names.

use primus::{BuildError, Server};

#[primus::event]
pub enum Ping {
    Hit,
}

mod first {
    #[primus::on(super::Ping::Hit)]
    async fn on_hit() {}
}

mod second {
    #[primus::on(crate::Ping::Hit)]
    async fn also_on_hit() {}
}

#[tokio::test]
async fn duplicate_event_handlers_are_refused() {
    let error = match Server::from_registry() {
        Err(error @ BuildError::Registry(_)) => error.to_string(),
        other => panic!("expected a registry error, got {other:?}"),
    };
    assert_eq!(
        error,
        "`Ping::hit` has two handlers, `registry_duplicate_handler::first::on_hit` and \
         `registry_duplicate_handler::second::also_on_hit`; each event has exactly one handler \
         (call shared code from it instead)"
    );
}
