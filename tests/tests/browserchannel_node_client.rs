//! Primus' `browserchannel` transformer: the real Primus 8 Node client made
//! with `Primus.createSocket({transformer: 'browserchannel'})` (npm
//! `browserchannel` 2.1's `BCSocket`) against a primus-rs server with
//! `BrowserChannel`: open, echo (unicode, U+2028/2029, emoji, a 1 MB
//! string), 1,000 messages in order, writes queued before open, `id()`,
//! heartbeat, server end with and without reconnect, broadcast to two
//! clients, an authorization refusal; and the protocol by hand (unknown
//! sessions, bad maps, a forward request sent twice, a back channel that
//! broke and the arrays it had not delivered).

use primus::transformer::BrowserChannel;
use primus_tests::{contract, node, raw};
use serde_json::json;
use std::time::Duration;

async fn run(scenario: &str) -> serde_json::Value {
    let ping_ms = if scenario == "heartbeat" { 300 } else { 5_000 };
    let running = contract::server_with(|builder| {
        builder
            .transformer(BrowserChannel::default())
            .ping_interval(Some(Duration::from_millis(ping_ms)))
    })
    .await;
    let summary = node::scenario_over(&running.url(), scenario, Some(ping_ms), "browserchannel", None).await;
    assert_eq!(summary["ok"], json!(true), "{scenario}: {summary}");
    assert!(
        running.errors.entries().is_empty(),
        "{scenario}: {:?}",
        running.errors.entries()
    );
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_browserchannel_client_opens_and_echoes() {
    for scenario in ["open", "echo", "queued"] {
        run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_arrive_in_order() {
    run("order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_heartbeat_and_broadcast() {
    for scenario in ["id", "heartbeat", "broadcast"] {
        run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_end_is_final_and_end_reconnect_reconnects() {
    for scenario in ["end", "end-reconnect"] {
        run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_refusal_reaches_the_client() {
    run("auth-fail").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_and_the_transformer_name() {
    let running = contract::server_with(|builder| builder.transformer(BrowserChannel::default())).await;
    let spec = raw::get(running.addr, "/primus/spec", &[]).await;
    spec.assert_status(200);
    let spec: serde_json::Value = serde_json::from_str(&spec.body).expect("spec JSON");
    assert_eq!(spec["transformer"], json!("browserchannel"), "{spec}");
}
