//! Our Rust client (`primus-client`) against a real Node.js Primus 8 server
//! (`tests/interop/server.js`, npm `primus@8.0.9`, websockets transformer).

use primus_client::{Client, Event, Events};
use primus_tests::events::{events_for, expect_open, next_value, until_end};
use primus_tests::logs::init_logs;
use primus_tests::node;
use primus_tests::process::ServerProcess;
use primus_tests::wait::WAIT;
use serde_json::json;
use std::time::Duration;

async fn open(server: &ServerProcess) -> (Client, Events) {
    let (client, mut events) = Client::builder(server.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    (client, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens_and_echoes_both_ways() {
    init_logs();
    let server = node::start_server(0, 30_000).await;
    let (client, mut events) = open(&server).await;
    let values = [
        json!("hello"),
        json!(42),
        json!({"a": 1, "b": [true, null], "c": {"d": "e"}}),
        json!([[1, [2, [3, [4]]]], "x", []]),
        json!("héllo 世界 🚀 \u{2028} end"),
        json!(null),
    ];
    for value in &values {
        client.write(value).expect("write");
    }
    for value in &values {
        assert_eq!(&next_value(&mut events, WAIT).await, value);
    }
    let big = "x".repeat(1024 * 1024);
    client.write(&big).expect("write 1 MiB");
    assert_eq!(next_value(&mut events, WAIT).await, json!(big));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_before_open_arrive_first_and_in_order() {
    init_logs();
    let server = node::start_server(0, 30_000).await;
    let (client, mut events) = Client::builder(server.url()).connect().expect("connect");
    for n in 0..100 {
        client.write(&json!({ "seq": n })).expect("write");
    }
    for n in 0..100 {
        assert_eq!(next_value(&mut events, WAIT).await, json!({ "seq": n }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_matches_the_node_spark_id() {
    init_logs();
    let server = node::start_server(0, 30_000).await;
    let (client, mut events) = open(&server).await;
    let id = tokio::time::timeout(WAIT, client.id())
        .await
        .expect("id in time")
        .expect("id");
    client.write(&json!({ "cmd": "id" })).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "id": id }));
    assert_eq!(id.len(), 21);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_heartbeats_so_the_server_keeps_it() {
    init_logs();
    // A Primus server closes a spark that missed one ping, at the next tick.
    let server = node::start_server(0, 200).await;
    let (client, mut events) = open(&server).await;
    let seen = events_for(&mut events, Duration::from_millis(1300)).await;
    let pings = seen.iter().filter(|e| matches!(e, Event::Ping(_))).count();
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Close | Event::End)),
        "the server dropped the client: {seen:?}"
    );
    assert!(pings >= 4, "only {pings} pings in 1.3 s at a 200 ms interval");
    client.write("still here").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("still here"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honours_server_close() {
    init_logs();
    let server = node::start_server(0, 30_000).await;
    let (client, mut events) = open(&server).await;
    client.write(&json!({ "cmd": "end" })).expect("write");
    // No `open`: the client does not reconnect after primus::server::close.
    assert_eq!(until_end(&mut events, WAIT).await, ["close"]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!client.is_running(), "the client task should be gone after End");
    assert!(client.write("late").is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frames_reach_node_as_buffers() {
    init_logs();
    // Primus' JSON parser hands a binary frame to `data` as a Buffer; the
    // Node server echoes it with `spark.write(buffer)`, which JSON-encodes it.
    let server = node::start_server(0, 30_000).await;
    let (client, mut events) = open(&server).await;
    client
        .write_frame(primus::Frame::binary(vec![1u8, 2, 3]))
        .expect("write binary");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "type": "Buffer", "data": [1, 2, 3] })
    );
    client.write("after binary").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("after binary"));
}
