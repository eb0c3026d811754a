//! The chat example end to end: its server (handlers in the `chat-server`
//! crate, built from the registry) with typed Rust clients and a raw one.

use chat_events::{ChatClient, ChatServer};
use primus_client::{Client, ClientError, Events};
use primus_tests::events::next_as;
use primus_tests::raw;
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;
use serde_json::json;

/// The next chat event.
async fn next(events: &mut Events) -> ChatServer {
    next_as(events, WAIT).await
}

/// The chat example's server, served.
async fn chat() -> Running {
    serve(chat_server::server().expect("chat server")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat() {
    let running = chat().await;
    let (ada, mut ada_events) = Client::builder(running.url()).connect().expect("connect");
    let (bob, mut bob_events) = Client::builder(running.url()).connect().expect("connect");
    assert!(matches!(next(&mut ada_events).await, ChatServer::System(_)));
    assert!(matches!(next(&mut bob_events).await, ChatServer::System(_)));

    assert_eq!(
        ada.request(ChatClient::join("ada".into())).await.expect("join"),
        ["ada"]
    );
    assert_eq!(
        next(&mut ada_events).await,
        ChatServer::Joined { name: "ada".into() }
    );
    assert_eq!(
        next(&mut bob_events).await,
        ChatServer::Joined { name: "ada".into() }
    );
    assert_eq!(
        bob.request(ChatClient::join("bob".into())).await.expect("join"),
        ["ada", "bob"]
    );
    assert_eq!(
        next(&mut ada_events).await,
        ChatServer::Joined { name: "bob".into() }
    );
    assert_eq!(
        next(&mut bob_events).await,
        ChatServer::Joined { name: "bob".into() }
    );

    ada.send(&ChatClient::Say("hi bob".into())).expect("say");
    let said = ChatServer::Message {
        from: "ada".into(),
        text: "hi bob".into(),
    };
    assert_eq!(next(&mut bob_events).await, said);
    assert_eq!(next(&mut ada_events).await, said);
    assert_eq!(bob.request(ChatClient::who()).await.expect("who"), ["ada", "bob"]);

    match bob.request(ChatClient::join("   ".into())).await {
        Err(ClientError::Rejected(reason)) => assert!(reason.contains("1 to 32 characters"), "{reason}"),
        other => panic!("expected a rejected join, got {other:?}"),
    }

    bob.end();
    assert_eq!(
        next(&mut ada_events).await,
        ChatServer::Left { name: "bob".into() }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_primus_peer_gets_a_hint() {
    let running = chat().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert!(matches!(next(&mut events).await, ChatServer::System(_)));
    client.write(&json!("hello?")).expect("write");
    match next(&mut events).await {
        ChatServer::System(hint) => assert!(hint.contains(r#""event":"say""#), "{hint}"),
        other => panic!("expected a hint, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_from_other_origins_are_refused() {
    let running = chat().await;
    // The server's default `Origins` check, scheme included (the chat's own
    // string compare once let `evil://127.0.0.1:PORT` through).
    let same_host_other_scheme = format!("evil://{}", running.addr);
    for origin in ["http://evil.example", "null", same_host_other_scheme.as_str()] {
        match raw::try_connect(&running.ws_url(), &[("origin", origin)]).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
            other => panic!("expected a 403 for {origin}, got {other:?}"),
        }
    }
    // The chat's own page (same host) may connect.
    let own = format!("http://{}", running.addr);
    assert!(raw::try_connect(&running.ws_url(), &[("origin", &own)])
        .await
        .is_ok());
}

/// The same chat, typed both ways (events, requests with replies and
/// refusals, the chat's room of members), over engine.io and SockJS: the
/// server made with each transformer, the typed Rust clients speaking it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_over_engine_io_and_sockjs() {
    use primus::transformer::{EngineIo, SockJs};
    use primus_client::Transport;
    let transformers: [(Box<dyn primus::transformer::Transformer>, Transport); 2] = [
        (Box::new(EngineIo::default()), Transport::EngineIo),
        (Box::new(SockJs::default()), Transport::SockJs),
    ];
    for (transformer, transport) in transformers {
        let running = serve(chat_server::server_over(transformer).expect("chat server")).await;
        let connect = || {
            Client::builder(running.url())
                .transformer(transport)
                .connect()
                .expect("connect")
        };
        let (ada, mut ada_events) = connect();
        let (bob, mut bob_events) = connect();
        assert!(matches!(next(&mut ada_events).await, ChatServer::System(_)));
        assert!(matches!(next(&mut bob_events).await, ChatServer::System(_)));
        assert_eq!(
            ada.request(ChatClient::join("ada".into())).await.expect("join"),
            ["ada"]
        );
        assert_eq!(
            next(&mut ada_events).await,
            ChatServer::Joined { name: "ada".into() }
        );
        assert_eq!(
            next(&mut bob_events).await,
            ChatServer::Joined { name: "ada".into() }
        );
        assert_eq!(
            bob.request(ChatClient::join("bob".into())).await.expect("join"),
            ["ada", "bob"],
            "{transport:?}"
        );
        assert_eq!(
            next(&mut ada_events).await,
            ChatServer::Joined { name: "bob".into() }
        );
        assert_eq!(
            next(&mut bob_events).await,
            ChatServer::Joined { name: "bob".into() }
        );
        bob.send(&ChatClient::Say("hi ada".into())).expect("say");
        let said = ChatServer::Message {
            from: "bob".into(),
            text: "hi ada".into(),
        };
        assert_eq!(next(&mut ada_events).await, said, "{transport:?}");
        assert_eq!(next(&mut bob_events).await, said, "{transport:?}");
        match ada.request(ChatClient::join("   ".into())).await {
            Err(ClientError::Rejected(reason)) => assert!(reason.contains("1 to 32 characters"), "{reason}"),
            other => panic!("expected a rejected join over {transport:?}, got {other:?}"),
        }
        bob.end();
        assert_eq!(
            next(&mut ada_events).await,
            ChatServer::Left { name: "bob".into() },
            "{transport:?}"
        );
        ada.end();
    }
}
