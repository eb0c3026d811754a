//! The chat example end to end: its server (handlers in the `chat-server`
//! crate, built from the registry) with typed Rust clients and a raw one.

use chat_events::{ChatClient, ChatServer};
use primus_client::{Client, ClientError, Events};
use primus_tests::events::next_as;
use primus_tests::raw;
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;
use serde_json::json;
use std::time::Duration;

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

/// The chat's `/metrics`, scraped after some chat: primus' counters and
/// histograms through the `metrics` facade, as Prometheus text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_from_the_chat() {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test binary");
    let server = chat_server::server().expect("chat server");
    let addr = primus_tests::server::serve_app(chat_server::app_with_metrics(&server, metrics)).await;
    let url = format!("http://{addr}");
    let (ada, mut ada_events) = Client::builder(&url).connect().expect("connect");
    assert!(matches!(next(&mut ada_events).await, ChatServer::System(_)));
    ada.request(ChatClient::join("ada".into())).await.expect("join");
    ada.send(&ChatClient::Say("counted".into())).expect("say");
    loop {
        if let ChatServer::Message { .. } = next(&mut ada_events).await {
            break;
        }
    }
    // A refused join counts as a handler error.
    assert!(ada.request(ChatClient::join("".into())).await.is_err());
    let reply = raw::get(addr, "/metrics", &[]).await;
    reply.assert_status(200);
    let body = reply.body;
    let value = |line_start: &str| -> f64 {
        body.lines()
            .find(|line| line.starts_with(line_start))
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no `{line_start}` in:\n{body}"))
    };
    assert!(value("primus_connects_total{transformer=\"websockets\"}") >= 1.0);
    assert!(value("primus_connections_open") >= 1.0);
    assert!(value("primus_messages_in_total") >= 3.0);
    assert!(value("primus_bytes_in_total") > 0.0);
    assert!(value("primus_messages_out_total") >= 3.0);
    assert!(value("primus_bytes_out_total") > 0.0);
    assert!(value("primus_spark_errors_total{kind=\"handler\"}") >= 1.0);
    assert!(value("primus_handler_seconds_count{event=\"join\"}") >= 2.0);
    assert!(value("primus_broadcast_fanout_count") >= 1.0);

    // Disconnects are counted by reason: ada closing is the client's.
    ada.end();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let body = raw::get(addr, "/metrics", &[]).await.body;
        if body.contains("primus_disconnects_total{reason=\"client\"}") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no client disconnect counted:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The chat app (page, `/metrics`, Primus) served over HTTPS/WSS by the
/// server's own accept loop (`serve_app_tls`), as `--tls-cert`/`--tls-key`
/// serve it: two people chat over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_over_tls() {
    let pki = primus_tests::tls::TestPki::new("chat test CA");
    let server = chat_server::server().expect("chat server");
    let app = chat_server::app(&server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let serving = server.clone();
    let tls = pki.server_tls();
    tokio::spawn(async move { serving.serve_app_tls(listener, app, tls).await });
    let url = format!("https://{addr}");
    let trust = || {
        primus_client::ClientTls::no_roots()
            .add_root_pem(pki.ca_pem.as_bytes())
            .expect("CA")
    };
    let (ada, mut ada_events) = Client::builder(&url).tls(trust()).connect().expect("connect");
    let (bob, mut bob_events) = Client::builder(&url).tls(trust()).connect().expect("connect");
    assert!(matches!(next(&mut ada_events).await, ChatServer::System(_)));
    assert!(matches!(next(&mut bob_events).await, ChatServer::System(_)));
    ada.request(ChatClient::join("ada".into())).await.expect("join");
    bob.request(ChatClient::join("bob".into())).await.expect("join");
    ada.send(&ChatClient::Say("over tls".into())).expect("say");
    let said = ChatServer::Message {
        from: "ada".into(),
        text: "over tls".into(),
    };
    loop {
        if next(&mut bob_events).await == said {
            break;
        }
    }
    server.destroy(primus::Destroy::default()).await;
}
