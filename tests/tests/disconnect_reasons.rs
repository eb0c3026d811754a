//! Why a spark was disconnected (`Spark::disconnect_reason`), as the
//! `disconnection` handlers see it: the client's close, the application's
//! end, a missed heartbeat, an oversize message, too many undecodable
//! messages, the server's shutdown.

use primus::spark::DisconnectReason;
use primus::Destroy;
use primus_client::Client;
use primus_tests::contract;
use primus_tests::events::{expect_open, until_end};
use primus_tests::raw;
use primus_tests::server::Running;
use primus_tests::wait::WAIT;
use std::time::Duration;
use tokio::sync::mpsc;

/// The echo-contract server whose `disconnection` handler sends each
/// spark's reason into the returned channel.
async fn recording(
    configure: impl FnOnce(primus::ServerBuilder) -> primus::ServerBuilder,
) -> (Running, mpsc::UnboundedReceiver<Option<DisconnectReason>>) {
    let (reasons, received) = mpsc::unbounded_channel();
    let running = contract::server_with(move |builder| {
        configure(builder).on_disconnection(move |spark| {
            let _ = reasons.send(spark.disconnect_reason());
            async {}
        })
    })
    .await;
    (running, received)
}

async fn next_reason(
    reasons: &mut mpsc::UnboundedReceiver<Option<DisconnectReason>>,
) -> Option<DisconnectReason> {
    tokio::time::timeout(WAIT, reasons.recv())
        .await
        .expect("a disconnection in time")
        .expect("the server is running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_closes_is_the_clients_reason_and_an_end_is_the_applications() {
    let (running, mut reasons) = recording(|builder| builder).await;

    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    client.end();
    assert_eq!(next_reason(&mut reasons).await, Some(DisconnectReason::Client));

    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    client.write(&serde_json::json!({"cmd": "end"})).expect("write");
    until_end(&mut events, WAIT).await;
    assert_eq!(next_reason(&mut reasons).await, Some(DisconnectReason::Ended));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_misses_the_heartbeat_is_a_heartbeat_timeout() {
    let (running, mut reasons) =
        recording(|builder| builder.ping_interval(Some(Duration::from_millis(150)))).await;
    // A raw WebSocket that never answers `primus::ping`.
    let _silent = raw::connect(&running.ws_url(), &[]).await;
    assert_eq!(
        next_reason(&mut reasons).await,
        Some(DisconnectReason::HeartbeatTimeout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversize_message_and_too_many_invalid_ones_say_so() {
    let (running, mut reasons) = recording(|builder| builder.max_length(1024).max_invalid_frames(3)).await;

    let mut big = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut big, &format!("\"{}\"", "x".repeat(4096))).await;
    assert_eq!(next_reason(&mut reasons).await, Some(DisconnectReason::TooLarge));

    let mut garbled = raw::connect(&running.ws_url(), &[]).await;
    for _ in 0..3 {
        raw::send_text(&mut garbled, "{not json").await;
    }
    assert_eq!(
        next_reason(&mut reasons).await,
        Some(DisconnectReason::TooManyInvalid)
    );
    drop((big, garbled));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_is_a_shutdown() {
    let (running, mut reasons) = recording(|builder| builder).await;
    let (_client, mut events) = Client::builder(running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    running.server.destroy(Destroy::default()).await;
    assert_eq!(next_reason(&mut reasons).await, Some(DisconnectReason::Shutdown));
}
