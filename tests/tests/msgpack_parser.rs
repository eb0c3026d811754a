//! The MessagePack parser against the real Primus 8 `msgpack` parser (npm
//! `primus-msgpack` 1.0.2): the real Node client with `parser: 'msgpack'`
//! against our server (echo of every JSON kind and a 1 MiB string, order,
//! the spark id, the heartbeat), our Rust client against the real Node
//! server, and typed events and requests over MessagePack with the Rust
//! client.

use primus::parser::MsgPack;
use primus::{Payload, Server, Spark};
use primus_client::Client;
use primus_tests::events::{expect_open, next_as, next_value};
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use primus_tests::{contract, node};
use serde_json::json;

async fn node_scenario(scenario: &str, ping_interval_ms: Option<u64>) -> serde_json::Value {
    contract::node_parser_scenario(MsgPack, |_, _| false, scenario, ping_interval_ms).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_with_the_msgpack_parser_echoes_every_kind() {
    let summary = node_scenario("echo", None).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_with_the_msgpack_parser_keeps_order_and_gets_its_id() {
    for scenario in ["order", "id"] {
        let summary = node_scenario(scenario, None).await;
        assert_eq!(summary["ok"], json!(true), "{scenario}: {summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_with_the_msgpack_parser_answers_the_heartbeat() {
    let summary = node_scenario("heartbeat", Some(300)).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_talks_msgpack_to_the_real_node_server() {
    let server = node::start_server_with_parser(0, 30_000, "msgpack").await;
    let (client, mut events) = Client::builder(server.url())
        .parser(MsgPack)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    for value in [
        json!("hello"),
        json!(42),
        json!(-200),
        json!(1.5),
        json!({"a": 1, "b": [true, null], "c": {"d": "e"}}),
        json!("é".repeat(100)),
    ] {
        client.write(&value).expect("write");
        assert_eq!(next_value(&mut events, WAIT).await, value);
    }
    let id = client.id().await.expect("the spark id over msgpack");
    assert!(!id.is_empty());
    client.end();
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Ask {
    #[primus(reply = u64)]
    Add {
        a: u64,
        b: u64,
    },
    Shout(String),
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Tell {
    Shouted(String),
}

#[primus::on(Ask::Add)]
async fn add(Payload(AskAdd { a, b }): Payload<AskAdd>) -> u64 {
    a + b
}

#[primus::on(Ask::Shout)]
async fn shout(spark: Spark, Payload(text): Payload<String>) {
    let _ = spark.write(&Tell::Shouted(text.to_uppercase()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_events_and_requests_travel_over_msgpack() {
    let server = Server::builder()
        .parser(MsgPack)
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .parser(MsgPack)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    assert_eq!(client.request(Ask::add(2, 40)).await.expect("add"), 42);
    client.send(&Ask::Shout("quiet".into())).expect("send");
    assert_eq!(
        next_as::<Tell>(&mut events, WAIT).await,
        Tell::Shouted("QUIET".into())
    );
    client.end();
}
