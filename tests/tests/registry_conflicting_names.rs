//! Two enums with handlers that share an event name: incoming messages
//! could not be routed, so `from_registry` refuses.

use primus::{BuildError, Server};

#[primus::event]
pub enum Chat {
    Say(String),
}

#[primus::event]
pub enum Game {
    #[primus(rename = "say")]
    Announce(String),
}

#[primus::on(Chat::Say)]
async fn chat_say() {}

#[primus::on(Game::Announce)]
async fn game_announce() {}

#[tokio::test]
async fn the_same_event_name_in_two_handled_enums_is_refused() {
    let error = match Server::from_registry() {
        Err(error @ BuildError::Registry(_)) => error.to_string(),
        other => panic!("expected a registry error, got {other:?}"),
    };
    assert!(
        error.starts_with("the event name `say` is used by `Chat` and `Game`"),
        "{error}"
    );
}
