//! The real Primus 8 Node.js client made for engine.io (npm `primus@8.0.9`,
//! `Primus.createSocket({ transformer: 'engine.io' })` with npm
//! `engine.io-client@6.5.4`) against our `EngineIo` transformer: by default
//! (a polling handshake, then the upgrade to WebSocket) and polling only
//! (Primus' `websockets: false`). The scenarios are those of
//! `node_client.rs` (`tests/interop/client.js`).

use primus::transformer::EngineIo;
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

/// Runs `scenario` with the client in `mode` (`"upgrade"` or `"polling"`)
/// and checks the Engine.IO transports the server saw.
async fn run(mode: &str, scenario: &str) -> serde_json::Value {
    let seen = Log::default();
    let record = recorder(seen.clone());
    let running = contract::server_with(|builder| {
        builder
            .ping_interval(Some(Duration::from_millis(ping_for(scenario))))
            .transformer(EngineIo::default())
            .middleware(LAYER, RUNS, record)
    })
    .await;
    let transports = (mode == "polling").then_some("polling");
    let summary = node::scenario_over(
        &running.url(),
        scenario,
        Some(ping_for(scenario)),
        "engine.io",
        transports,
    )
    .await;
    let used = used(&seen);
    match (mode, scenario) {
        ("polling", _) => assert_eq!(used, ["polling"], "transports the server saw"),
        // The client ends right after `open`, before it tries the upgrade.
        (_, "open") => assert_eq!(used.first().map(String::as_str), Some("polling"), "{used:?}"),
        _ => assert_eq!(used, ["polling", "websocket"], "transports the server saw"),
    }
    summary
}

/// Runs a scenario whose client is refused.
async fn run_refused(mode: &str, scenario: &str) -> serde_json::Value {
    let running = contract::server_with(|builder| builder.transformer(EngineIo::default())).await;
    let transports = (mode == "polling").then_some("polling");
    node::scenario_over(
        &running.url(),
        scenario,
        Some(ping_for(scenario)),
        "engine.io",
        transports,
    )
    .await
}

/// The same scenarios in one mode.
macro_rules! over {
    ($module:ident, $mode:literal) => {
        mod $module {
            use super::{run, run_refused};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn opens() {
                run($mode, "open").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn echoes_strings_numbers_objects_nested_arrays_unicode_and_one_mebibyte() {
                let summary = run($mode, "echo").await;
                assert_eq!(
                    summary["echoed"].as_array().map(Vec::len),
                    Some(6),
                    "{summary}"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delivers_a_thousand_messages_in_order() {
                let summary = run($mode, "order").await;
                assert_eq!(summary["received"], 1000, "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn delivers_writes_queued_before_open() {
                run($mode, "queued").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn client_id_matches_the_spark_id() {
                let summary = run($mode, "id").await;
                assert_eq!(summary["id"].as_str().map(str::len), Some(21), "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn heartbeats_keep_the_connection_past_three_intervals() {
                let summary = run($mode, "heartbeat").await;
                assert!(summary["pings"].as_u64() >= Some(3), "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn server_end_ends_the_client_without_reconnect() {
                run($mode, "end").await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn server_end_with_reconnect_makes_the_client_reconnect() {
                let summary = run($mode, "end-reconnect").await;
                assert_ne!(summary["firstId"], summary["secondId"], "{summary}");
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn authorization_failure_gives_no_open() {
                let summary = run_refused($mode, "auth-fail").await;
                // engine.io-client reports the refused handshake (our 401)
                // as "xhr poll error" with the status in its description.
                assert_eq!(
                    summary["errors"][0], "xhr poll error (status 401)",
                    "{summary}"
                );
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn broadcast_reaches_two_clients() {
                run($mode, "broadcast").await;
            }
        }
    };
}

over!(upgraded, "upgrade");
over!(polling, "polling");

/// engine.io-client pauses its polling before it sends `5`: the server
/// must answer the pending poll when it answers the probe, or the upgrade
/// waits for the next packet (a Primus ping, seconds later).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_completes_without_waiting_for_a_ping() {
    let summary = run("upgrade", "upgrade").await;
    assert_eq!(summary["transport"], "websocket", "{summary}");
}
