//! Our Rust client speaking the WebSocket transport of engine.io and
//! SockJS (`Client::builder(url).transformer(Transport::…)`), against a
//! real Node.js Primus 8 server made with that transformer
//! (`tests/interop/server.js --transformer …`) and against our own server
//! with `EngineIo` and `SockJs`: echo (1 MiB too), order, `id`, the
//! server's `end`, heartbeats.

use primus::transformer::{EngineIo, SockJs};
use primus_client::{Client, ConnectionEvent, Events, Transport};
use primus_tests::events::{events_for, expect_open, next_value, until_end};
use primus_tests::logs::init_logs;
use primus_tests::wait::WAIT;
use primus_tests::{contract, node};
use serde_json::json;
use std::time::Duration;

async fn open(url: &str, transport: Transport) -> (Client, Events) {
    let (client, mut events) = Client::builder(url)
        .transformer(transport)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    (client, events)
}

/// Echo (one mebibyte too), order, `id` and the server's `end` honoured,
/// against the server at `url`.
async fn speaks(url: &str, transport: Transport) {
    let (client, mut events) = open(url, transport).await;
    let values = [
        json!("hello"),
        json!(42),
        json!({"a": 1, "b": [true, null], "c": {"d": "e"}}),
        json!("héllo 世界 🚀 \u{2028} end"),
        json!("x".repeat(1024 * 1024)),
    ];
    for value in &values {
        client.write(value).expect("write");
    }
    for value in &values {
        assert_eq!(&next_value(&mut events, WAIT).await, value);
    }
    for n in 0..200 {
        client.write(&json!({ "seq": n })).expect("write");
    }
    for n in 0..200 {
        assert_eq!(next_value(&mut events, WAIT).await, json!({ "seq": n }));
    }
    let id = tokio::time::timeout(WAIT, client.id())
        .await
        .expect("id in time")
        .expect("id");
    client.write(&json!({ "cmd": "id" })).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "id": id }));

    client.write(&json!({ "cmd": "end" })).expect("write");
    assert_eq!(until_end(&mut events, WAIT).await, ["close"]);
}

/// Heartbeats answered: the server (pinging every 200 ms) keeps the client.
async fn keeps_up_heartbeats(url: &str, transport: Transport) {
    let (client, mut events) = open(url, transport).await;
    let seen = events_for(&mut events, Duration::from_millis(1300)).await;
    let pings = seen
        .iter()
        .filter(|e| matches!(e, ConnectionEvent::Ping(_)))
        .count();
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, ConnectionEvent::Close | ConnectionEvent::End)),
        "the server dropped the client: {seen:?}"
    );
    assert!(pings >= 4, "only {pings} pings in 1.3 s at a 200 ms interval");
    client.write("still here").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("still here"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_over_engine_io_and_sockjs_against_node_primus() {
    init_logs();
    for (name, transport) in [("engine.io", Transport::EngineIo), ("sockjs", Transport::SockJs)] {
        let server = node::start_server_over(0, 200, name).await;
        keeps_up_heartbeats(&server.url(), transport).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_over_engine_io_and_sockjs_against_our_server() {
    let engine_io = contract::server_with(|builder| {
        builder
            .ping_interval(Some(Duration::from_millis(200)))
            .transformer(EngineIo::default())
    })
    .await;
    keeps_up_heartbeats(&engine_io.url(), Transport::EngineIo).await;
    let sockjs = contract::server_with(|builder| {
        builder
            .ping_interval(Some(Duration::from_millis(200)))
            .transformer(SockJs::default())
    })
    .await;
    keeps_up_heartbeats(&sockjs.url(), Transport::SockJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_against_node_primus() {
    init_logs();
    let server = node::start_server_over(0, 30_000, "engine.io").await;
    speaks(&server.url(), Transport::EngineIo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockjs_against_node_primus() {
    init_logs();
    let server = node::start_server_over(0, 30_000, "sockjs").await;
    speaks(&server.url(), Transport::SockJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_against_our_server() {
    let running = contract::server_with(|builder| builder.transformer(EngineIo::default())).await;
    speaks(&running.url(), Transport::EngineIo).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockjs_against_our_server() {
    let running = contract::server_with(|builder| builder.transformer(SockJs::default())).await;
    speaks(&running.url(), Transport::SockJs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockjs_refuses_binary_messages_with_an_error() {
    let running = contract::server_with(|builder| builder.transformer(SockJs::default())).await;
    let (client, mut events) = open(&running.url(), Transport::SockJs).await;
    client
        .write_frame(primus::Frame::binary(vec![1, 2]))
        .expect("write");
    let seen = events_for(&mut events, Duration::from_millis(300)).await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, ConnectionEvent::Error(error) if error.to_string().contains("text only"))),
        "{seen:?}"
    );
    client.write("after").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("after"));
}
