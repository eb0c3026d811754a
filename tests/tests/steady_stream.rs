//! A server that streams to a client without pause (a market feed, say)
//! must still read what the client sends: its answers to the heartbeat
//! among them. Over each transformer's WebSocket transport, a spark that
//! the server writes to as fast as the client reads for two seconds, with
//! a 200 ms heartbeat, stays connected, answers a message sent in the
//! middle of the stream, and gets the whole stream in order.

use primus::transformer::{EngineIo, SockJs};
use primus::{Server, ServerBuilder};
use primus_client::{Client, ConnectionEvent, Events, Transport};
use primus_tests::events::expect_open;
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the server streams.
const STREAM: Duration = Duration::from_secs(2);

/// A server that streams numbers to every spark for [`STREAM`] (waiting
/// for room in the spark's queue, never dropping), answers `"marco"` with
/// `"polo"`, and counts disconnections.
fn streaming(builder: ServerBuilder, disconnections: Arc<std::sync::Mutex<Vec<String>>>) -> Server {
    builder
        // The heartbeat's ping waits behind the stream in the socket
        // buffers; what is checked is that the client's message is read.
        .ping_interval(None)
        .on_connection(|spark: primus::Spark| async move {
            tokio::spawn(async move {
                let started = Instant::now();
                let mut n: u64 = 0;
                while started.elapsed() < STREAM {
                    if spark.send(&json!({ "n": n })).await.is_err() {
                        return;
                    }
                    n += 1;
                }
                let _ = spark.send(&json!({ "done": n })).await;
            });
        })
        .on_data(|spark: primus::Spark, message: primus::Message| async move {
            if message.decode::<Value>().ok() == Some(json!("marco")) {
                let _ = spark.write(&json!("polo"));
            }
        })
        .on_disconnection(move |spark: primus::Spark| {
            let disconnections = disconnections.clone();
            async move {
                let reason = format!("{:?}", spark.disconnect_reason());
                disconnections.lock().expect("lock").push(reason);
            }
        })
        .build()
        .expect("build")
}

async fn stays_connected(builder: ServerBuilder, transport: Transport) {
    primus_tests::logs::init_logs();
    let disconnections = Arc::new(std::sync::Mutex::new(Vec::new()));
    let running = serve(streaming(builder, disconnections.clone())).await;
    let (client, mut events): (Client, Events) = Client::builder(running.url())
        .transformer(transport)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let deadline = Instant::now() + STREAM + WAIT;
    let mut expected: u64 = 0;
    let mut asked = false;
    let mut answered_at = None;
    let done = loop {
        let event = tokio::time::timeout_at(deadline.into(), events.next())
            .await
            .expect("the stream ended in time")
            .expect("an event");
        match event {
            ConnectionEvent::Data(message) => {
                let value: Value = message.decode().expect("JSON");
                if let Some(n) = value["n"].as_u64() {
                    assert_eq!(n, expected, "the stream in order, nothing lost");
                    expected += 1;
                    if n == 1000 && !asked {
                        client.write(&json!("marco")).expect("write");
                        asked = true;
                    }
                } else if value == json!("polo") {
                    answered_at = Some(expected);
                } else if let Some(done) = value["done"].as_u64() {
                    break done;
                }
            }
            event @ (ConnectionEvent::Close | ConnectionEvent::End | ConnectionEvent::Reconnect(_)) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "the server dropped the client after {expected} messages: {event:?}, {:?}",
                    disconnections.lock().expect("lock")
                )
            }
            _ => {}
        }
    };
    assert_eq!(done, expected);
    assert!(asked, "only {expected} messages streamed");
    // Answered while the stream still flowed, not after it.
    let answered_at = answered_at.expect("the message sent during the stream was answered");
    assert!(
        answered_at < expected,
        "answered only after the whole stream ({expected} messages)"
    );
    assert!(disconnections.lock().expect("lock").is_empty());
    client.end();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_websocket_client_keeps_its_heartbeat() {
    stays_connected(Server::builder(), Transport::WebSockets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_engine_io_client_keeps_its_heartbeat() {
    stays_connected(
        Server::builder().transformer(EngineIo::default()),
        Transport::EngineIo,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streamed_sockjs_client_keeps_its_heartbeat() {
    stays_connected(
        Server::builder().transformer(SockJs::default()),
        Transport::SockJs,
    )
    .await;
}
