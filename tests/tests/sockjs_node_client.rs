//! The real Primus 8 Node.js client made for SockJS (npm `primus@8.0.9`,
//! `Primus.createSocket({ transformer: 'sockjs' })` with npm
//! `sockjs-client@1.6.1`) against our server with the `sockjs`
//! transformer, each SockJS transport forced in turn
//! (`transport: { transports: [...] }`). The scenarios are those of
//! `node_client.rs` (`tests/interop/client.js`).

use primus::transformer::SockJs;
use primus_tests::logs::Log;
use primus_tests::transports::{recorder, used, LAYER, RUNS};
use primus_tests::{contract, node};
use std::time::Duration;

/// The heartbeat scenario's interval; the others run with a slower one,
/// so a 1 MiB message on a busy machine does not make a pong late.
const PING_MS: u64 = 300;
const CALM_PING_MS: u64 = 5_000;

fn ping_for(scenario: &str) -> u64 {
    match scenario {
        "heartbeat" => PING_MS,
        _ => CALM_PING_MS,
    }
}

/// The SockJS receivers a client can use (last segment of the session URL).
const RECEIVERS: [&str; 4] = ["websocket", "xhr_streaming", "xhr", "eventsource"];

/// Runs `scenario` with the client limited to `transports`, and checks
/// that the server saw that receiver and no other.
async fn run(transports: &str, receiver: &str, scenario: &str) -> serde_json::Value {
    let seen = Log::default();
    let record = recorder(seen.clone());
    let running = contract::server_with(|builder| {
        builder
            .ping_interval(Some(Duration::from_millis(ping_for(scenario))))
            // Short, so abandoned sessions go quickly.
            .transformer(SockJs::default().disconnect_delay(Duration::from_secs(2)))
            .middleware(LAYER, RUNS, record)
    })
    .await;
    let summary = node::scenario_over(
        &running.url(),
        scenario,
        Some(ping_for(scenario)),
        "sockjs",
        Some(transports),
    )
    .await;
    let used: Vec<String> = used(&seen)
        .into_iter()
        .filter(|segment| RECEIVERS.contains(&segment.as_str()))
        .collect();
    assert_eq!(used, [receiver], "receivers the server saw");
    summary
}

/// Runs a scenario whose client is refused (it opens no session, so no
/// receiver is checked).
async fn run_refused(transports: &str, scenario: &str) -> serde_json::Value {
    let running = contract::server_with(|builder| builder.transformer(SockJs::default())).await;
    node::scenario_over(
        &running.url(),
        scenario,
        Some(ping_for(scenario)),
        "sockjs",
        Some(transports),
    )
    .await
}

/// The same scenarios over one SockJS transport.
macro_rules! over {
    ($module:ident, $transport:literal, $receiver:literal) => {
        mod $module {
            use super::run;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn opens() {
                run($transport, $receiver, "open").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn echoes_strings_numbers_objects_nested_arrays_unicode_and_one_mebibyte() {
                let summary = run($transport, $receiver, "echo").await;
                assert_eq!(
                    summary["echoed"].as_array().map(Vec::len),
                    Some(6),
                    "{summary}"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delivers_a_thousand_messages_in_order() {
                let summary = run($transport, $receiver, "order").await;
                assert_eq!(summary["received"], 1000, "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delivers_writes_queued_before_open() {
                run($transport, $receiver, "queued").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn client_id_matches_the_spark_id() {
                let summary = run($transport, $receiver, "id").await;
                assert_eq!(summary["id"].as_str().map(str::len), Some(21), "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn heartbeats_keep_the_connection_past_three_intervals() {
                let summary = run($transport, $receiver, "heartbeat").await;
                assert!(summary["pings"].as_u64() >= Some(3), "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn server_end_ends_the_client_without_reconnect() {
                run($transport, $receiver, "end").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn server_end_with_reconnect_makes_the_client_reconnect() {
                let summary = run($transport, $receiver, "end-reconnect").await;
                assert_ne!(summary["firstId"], summary["secondId"], "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn authorization_failure_gives_no_open() {
                let summary = super::run_refused($transport, "auth-fail").await;
                // sockjs-client reports a refused `/info` (our 401) as
                // "Cannot connect to server" (code 1002), without the status.
                assert_eq!(
                    summary["errors"][0], "Cannot connect to server",
                    "{summary}"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn broadcast_reaches_two_clients() {
                run($transport, $receiver, "broadcast").await;
            }
        }
    };
}

over!(websocket, "websocket", "websocket");
over!(xhr_streaming, "xhr-streaming", "xhr_streaming");
over!(xhr_polling, "xhr-polling", "xhr");
over!(eventsource, "eventsource", "eventsource");
