//! The EJSON parser against the real Primus 8 `ejson` parser (npm `ejson`
//! 2.2.3): the real Node client with `parser: 'ejson'` against our server
//! (dates, byte arrays, non-finite numbers and an escaped object echo
//! exactly; the server reads a date and answers with one; every JSON kind,
//! order, the spark id and the heartbeat as with JSON), our Rust client
//! against the real Node server with `ejson`, and typed events over it.

use primus::parser::{Ejson, EjsonBinary, EjsonDate};
use primus::{Payload, Server, Spark};
use primus_client::Client;
use primus_tests::events::{expect_open, next_value};
use primus_tests::wait::WAIT;
use primus_tests::{contract, node};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Later {
    later: EjsonDate,
}

/// `{"later": date}` is answered with the date one second on (so the
/// server must read the date); the echo contract answers the rest.
fn later(spark: &Spark, message: &primus::Message) -> bool {
    let Ok(Later { later }) = message.decode::<Later>() else {
        return false;
    };
    let _ = spark.write(&Later {
        later: EjsonDate::from_millis(later.millis() + 1000),
    });
    true
}

async fn node_scenario(scenario: &str, ping_interval_ms: Option<u64>) -> Value {
    contract::node_parser_scenario(Ejson, later, scenario, ping_interval_ms).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_exchanges_dates_bytes_and_escaped_objects() {
    let summary = node_scenario("ejson", None).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
    assert_eq!(summary["later"], json!("2023-11-14T22:13:21.123Z"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_with_ejson_echoes_keeps_order_gets_its_id_and_heartbeat() {
    for (scenario, ping) in [
        ("echo", None),
        ("order", None),
        ("id", None),
        ("heartbeat", Some(300)),
    ] {
        let summary = node_scenario(scenario, ping).await;
        assert_eq!(summary["ok"], json!(true), "{scenario}: {summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_talks_ejson_to_the_real_node_server() {
    let server = node::start_server_with_parser(0, 30_000, "ejson").await;
    let (client, mut events) = Client::builder(server.url())
        .parser(Ejson)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    // The Node server decodes with EJSON and encodes again: a date and
    // bytes come back in EJSON's form only if it read them as such.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Dated {
        at: EjsonDate,
        bytes: EjsonBinary,
        name: String,
    }
    let sent = Dated {
        at: EjsonDate::from_millis(-86_400_000),
        bytes: EjsonBinary(vec![0, 255, 7]),
        name: "ada".into(),
    };
    client.write(&sent).expect("write");
    let back: Dated = serde_json::from_value(next_value(&mut events, WAIT).await).expect("a Dated");
    assert_eq!(back, sent);
    for value in [
        json!("hello"),
        json!(42),
        json!({"$escape": {"$date": 1}}),
        json!([1, null]),
    ] {
        client.write(&value).expect("write");
        assert_eq!(next_value(&mut events, WAIT).await, value);
    }
    assert!(!client.id().await.expect("the spark id over ejson").is_empty());
    client.end();
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Calendar {
    #[primus(reply = EjsonDate)]
    Postpone { when: EjsonDate, by_ms: i64 },
}

#[primus::on(Calendar::Postpone)]
async fn postpone(Payload(CalendarPostpone { when, by_ms }): Payload<CalendarPostpone>) -> EjsonDate {
    EjsonDate::from_millis(when.millis() + by_ms)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_requests_carry_dates_over_ejson() {
    let server = Server::builder()
        .parser(Ejson)
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = primus_tests::server::serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .parser(Ejson)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let moved: EjsonDate = client
        .request(Calendar::postpone(EjsonDate::from_millis(1000), 500))
        .await
        .expect("reply");
    assert_eq!(moved, EjsonDate::from_millis(1500));
    client.end();
}
