//! The Rust client's manual mode (Primus' `manual: true`): nothing is
//! connected until `Client::open`; writes made before wait in the queue.

use primus_client::Client;
use primus_tests::contract;
use primus_tests::events::{events_for, expect_open, next_value, until_end};
use primus_tests::wait::WAIT;
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_client_connects_only_when_opened_and_sends_what_was_queued() {
    let running = contract::server(None).await;
    let (client, mut events) = Client::builder(running.url())
        .manual()
        .connect()
        .expect("connect");
    client.write("written before open").expect("write");

    let quiet = events_for(&mut events, Duration::from_millis(400)).await;
    assert!(quiet.is_empty(), "nothing happens before open: {quiet:?}");
    assert_eq!(running.server.connected(), 0, "no connection before open");

    client.open();
    expect_open(&mut events, WAIT).await;
    assert_eq!(next_value(&mut events, WAIT).await, json!("written before open"));
    client.open(); // once open, harmless
    client.write("after").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("after"));
    assert_eq!(running.server.connected(), 1);
    client.end();
    until_end(&mut events, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_client_ended_before_open_never_connects() {
    let running = contract::server(None).await;
    let (client, mut events) = Client::builder(running.url())
        .manual()
        .connect()
        .expect("connect");
    client.end();
    until_end(&mut events, WAIT).await;
    client.open();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(running.server.connected(), 0);
}
