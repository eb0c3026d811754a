//! The real Primus 8 Node.js client (npm `primus@8.0.9`,
//! `Primus.createSocket({ transformer: 'websockets' })`) against our server.
//!
//! Each test starts a server that follows the echo contract
//! (`tests/interop/README.md`) and runs one scenario of
//! `tests/interop/client.js`, which asserts what the client observed and
//! exits non-zero on any difference. The same scenarios pass against the
//! real Node Primus server (`tests/interop/run-all.js`).

use primus_tests::{contract, node};
use std::time::Duration;

const PING_MS: u64 = 300;

async fn run(scenario: &str) -> serde_json::Value {
    let running = contract::server(Some(Duration::from_millis(PING_MS))).await;
    node::scenario(&running.url(), scenario, Some(PING_MS)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opens() {
    run("open").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echoes_strings_numbers_objects_nested_arrays_unicode_and_one_mebibyte() {
    let summary = run("echo").await;
    assert_eq!(summary["echoed"].as_array().map(Vec::len), Some(6), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_a_thousand_messages_in_order() {
    let summary = run("order").await;
    assert_eq!(summary["received"], 1000, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivers_writes_queued_before_open() {
    run("queued").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_id_matches_the_spark_id() {
    let summary = run("id").await;
    assert_eq!(summary["id"].as_str().map(str::len), Some(21), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_keep_the_connection_past_three_intervals() {
    let summary = run("heartbeat").await;
    assert!(summary["pings"].as_u64() >= Some(3), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_end_ends_the_client_without_reconnect() {
    run("end").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_end_with_reconnect_makes_the_client_reconnect() {
    let summary = run("end-reconnect").await;
    assert_ne!(summary["firstId"], summary["secondId"], "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_failure_gives_no_open() {
    let summary = run("auth-fail").await;
    assert!(summary["errors"].to_string().contains("401"), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_two_clients() {
    run("broadcast").await;
}
