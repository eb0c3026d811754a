//! Primus' `faye` and `uws` transformers: the same WebSocket wire as
//! `websockets`, served under their names. The real Primus 8 Node client
//! for each passes the open, echo, order, id, heartbeat, end and
//! end-reconnect scenarios of `tests/interop/client.js`, and `/spec` names
//! the transformer.
//!
//! `faye`: the client made with `Primus.createSocket({transformer: 'faye'})`
//! (npm `faye-websocket` 0.11.4). `uws`: Primus' `uws` transformer uses the
//! `websockets` client code itself (`transformers/uws/index.js` requires
//! `../websockets/client`), but `createSocket({transformer: 'uws'})` loads
//! the npm `uws` server module, which has no build for Node.js 20; so the
//! uws server is checked with the client Primus makes for `websockets`,
//! which is the same code.

use primus::transformer::WebSockets;
use primus_tests::{contract, node, raw};
use serde_json::json;
use std::time::Duration;

async fn run(transformer: &str, scenario: &str) {
    let ping_ms = if scenario == "heartbeat" { 300 } else { 5_000 };
    let served = match transformer {
        "faye" => WebSockets::faye(),
        _ => WebSockets::uws(),
    };
    let running = contract::server_with(|builder| {
        builder
            .transformer(served)
            .ping_interval(Some(Duration::from_millis(ping_ms)))
    })
    .await;
    let client = match transformer {
        "faye" => "faye",
        _ => "websockets",
    };
    let summary = node::scenario_over(&running.url(), scenario, Some(ping_ms), client, None).await;
    assert_eq!(summary["ok"], json!(true), "{transformer} {scenario}: {summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_faye_client_passes_the_websocket_scenarios() {
    for scenario in ["open", "echo", "order", "id", "heartbeat", "end", "end-reconnect"] {
        run("faye", scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_uws_server_passes_the_websocket_scenarios_with_primus_uws_client_code() {
    for scenario in ["open", "echo", "order", "id", "heartbeat", "end", "end-reconnect"] {
        run("uws", scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_and_the_served_client_name_the_transformer() {
    for (served, name) in [(WebSockets::faye(), "faye"), (WebSockets::uws(), "uws")] {
        let running = contract::server_with(|builder| builder.transformer(served)).await;
        let spec = raw::get(running.addr, "/primus/spec", &[]).await;
        spec.assert_status(200);
        let spec: serde_json::Value = serde_json::from_str(&spec.body).expect("spec JSON");
        assert_eq!(spec["transformer"], json!(name), "{spec}");
        let library = raw::get(running.addr, "/primus/primus.js", &[]).await;
        library.assert_status(200);
        assert!(
            library.body.contains(&format!("transformer: \"{name}\"")),
            "the served client names {name}"
        );
    }
}
