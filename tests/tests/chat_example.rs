//! The chat example end to end: its server (handlers in the `chat-server`
//! crate, built from the registry) with typed Rust clients and a raw one.

use chat_events::{ChatClient, ChatServer};
use primus_client::{Client, ClientError, Events};
use primus_tests::{init_logs, serve, ErrorLog};
use serde_json::json;
use std::time::Duration;

async fn next(events: &mut Events) -> ChatServer {
    tokio::time::timeout(Duration::from_secs(5), events.next_as::<ChatServer>())
        .await
        .expect("timed out")
        .expect("ended")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat() {
    init_logs();
    let running = serve(chat_server::server().expect("chat server"), ErrorLog::default()).await;
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
    init_logs();
    let running = serve(chat_server::server().expect("chat server"), ErrorLog::default()).await;
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
    init_logs();
    let running = serve(chat_server::server().expect("chat server"), ErrorLog::default()).await;
    let host = running.addr.to_string();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(running.ws_url())
            .expect("request");
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().expect("header"));
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("expected a 403, got {other:?}"),
    }
    // The chat's own page (same host) may connect.
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(running.ws_url())
            .expect("request");
    request
        .headers_mut()
        .insert("origin", format!("http://{host}").parse().expect("header"));
    assert!(tokio_tungstenite::connect_async(request).await.is_ok());
}
