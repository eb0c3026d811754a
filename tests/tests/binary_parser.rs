//! The BinaryPack parser against the real Primus 8 `binary` parser (npm
//! `binary-pack` 1.0.2): the real Node client with `parser: 'binary'`
//! against our server (strings, numbers, nested objects, arrays and
//! Buffers echo exactly; the server reads a Buffer and answers with one;
//! every JSON kind, order, the spark id and the heartbeat as with JSON),
//! our Rust client against the real Node server with `binary`, and typed
//! events over it.

use primus::parser::BinaryPack;
use primus::{Payload, Server, Spark};
use primus_client::Client;
use primus_tests::events::{expect_open, next_message, next_value};
use primus_tests::wait::WAIT;
use primus_tests::{contract, node};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Bytes that BinaryPack carries as raw data (a Node.js `Buffer`).
#[derive(Debug, Clone, PartialEq)]
struct Bytes(Vec<u8>);

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Bytes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E>(self, bytes: &[u8]) -> Result<Bytes, E> {
                Ok(Bytes(bytes.to_vec()))
            }
        }
        deserializer.deserialize_bytes(Visit)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Double {
    double: Bytes,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Doubled {
    doubled: Bytes,
}

/// `{"double": bytes}` is answered with every byte doubled (so the server
/// must read the bytes); the echo contract answers the rest (and sends
/// back as they came the frames it cannot read as JSON values, such as
/// those with bytes).
fn double(spark: &Spark, message: &primus::Message) -> bool {
    let Ok(Double { double }) = message.decode::<Double>() else {
        return false;
    };
    let doubled = Bytes(double.0.iter().map(|b| b.wrapping_mul(2)).collect());
    let _ = spark.write(&Doubled { doubled });
    true
}

async fn node_scenario(scenario: &str, ping_interval_ms: Option<u64>) -> Value {
    contract::node_parser_scenario(BinaryPack, double, scenario, ping_interval_ms).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_exchanges_strings_numbers_objects_and_buffers() {
    let summary = node_scenario("binary", None).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_with_binary_echoes_keeps_order_gets_its_id_and_heartbeat() {
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
async fn the_rust_client_talks_binary_to_the_real_node_server() {
    let server = node::start_server_with_parser(0, 30_000, "binary").await;
    let (client, mut events) = Client::builder(server.url())
        .parser(BinaryPack)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    // The Node server unpacks and packs again: bytes come back as bytes
    // only if it read them as a Buffer.
    let sent = Doubled {
        doubled: Bytes(vec![0, 255, 7]),
    };
    client.write(&sent).expect("write");
    let back: Doubled = next_message(&mut events, WAIT)
        .await
        .decode()
        .expect("bytes back");
    assert_eq!(back, sent);
    for value in [
        json!("hello"),
        json!(-70000),
        json!(1.5),
        json!({"a": 1, "b": [true, null], "c": {"d": "e"}}),
        json!("é".repeat(100)),
    ] {
        client.write(&value).expect("write");
        assert_eq!(next_value(&mut events, WAIT).await, value);
    }
    assert!(!client.id().await.expect("the spark id over binary").is_empty());
    client.end();
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Files {
    #[primus(reply = usize)]
    Upload { name: String, size: u32 },
}

#[primus::on(Files::Upload)]
async fn upload(Payload(FilesUpload { name, size }): Payload<FilesUpload>) -> usize {
    name.len() + size as usize
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_requests_travel_over_binary() {
    let server = Server::builder()
        .parser(BinaryPack)
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = primus_tests::server::serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .parser(BinaryPack)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let total: usize = client
        .request(Files::upload("a.txt".into(), 70_000))
        .await
        .expect("reply");
    assert_eq!(total, 70_005);
    client.end();
}
