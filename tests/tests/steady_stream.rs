//! A server that streams to a client without pause (a market feed, say)
//! must still read what the client sends. Over each transformer's
//! WebSocket transport, the server writes to a spark with `Spark::send` as
//! fast as the client reads; the client sends a message after the first
//! 1,000. The server streams until it has answered that message and then
//! 1,000 more (or, if it never reads it, for 20 s): the answer must come
//! while the stream still flows, the stream must arrive whole and in order,
//! and nobody is disconnected.

use primus::transformer::{EngineIo, SockJs};
use primus::{Message, Server, ServerBuilder, Spark};
use primus_client::{Client, ConnectionEvent, Transport};
use primus_tests::events::expect_open;
use primus_tests::logs::Log;
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the server streams at most when it never reads the client.
const LONGEST: Duration = Duration::from_secs(20);
/// Messages the server streams after it answered the client.
const AFTER_ANSWER: u64 = 1000;

/// A server that streams numbers to every spark (waiting for room in the
/// spark's queue, never dropping) as described above, answers `"marco"`
/// with `"polo"`, and records why sparks disconnect.
fn streaming(builder: ServerBuilder, disconnections: Log) -> Server {
    let answered = Arc::new(AtomicBool::new(false));
    let heard = answered.clone();
    builder
        // The heartbeat's ping would wait behind the stream in the socket
        // buffers; what is checked here is that the client is read.
        .ping_interval(None)
        .on_connection(move |spark: Spark| {
            let answered = answered.clone();
            async move {
                tokio::spawn(async move {
                    let started = Instant::now();
                    let mut n: u64 = 0;
                    let mut after: u64 = 0;
                    while after < AFTER_ANSWER && started.elapsed() < LONGEST {
                        if spark.send(&json!({ "n": n })).await.is_err() {
                            return;
                        }
                        n += 1;
                        if answered.load(Ordering::Acquire) {
                            after += 1;
                        }
                    }
                    let _ = spark.send(&json!({ "done": n })).await;
                });
            }
        })
        .on_data(move |spark: Spark, message: Message| {
            let heard = heard.clone();
            async move {
                if message.decode::<Value>().ok() == Some(json!("marco")) {
                    let _ = spark.write(&json!("polo"));
                    heard.store(true, Ordering::Release);
                }
            }
        })
        .on_disconnection(move |spark: Spark| {
            let disconnections = disconnections.clone();
            async move {
                disconnections.push(format!("{:?}", spark.disconnect_reason()));
            }
        })
        .build()
        .expect("build")
}

async fn read_while_streaming(builder: ServerBuilder, transport: Transport) {
    let disconnections = Log::default();
    let running = serve(streaming(builder, disconnections.clone())).await;
    let (client, mut events) = Client::builder(running.url())
        .transformer(transport)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let deadline = Instant::now() + LONGEST + WAIT;
    let mut expected: u64 = 0;
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
                    if n == 1000 {
                        client.write(&json!("marco")).expect("write");
                    }
                } else if value == json!("polo") {
                    answered_at = Some(expected);
                } else if let Some(done) = value["done"].as_u64() {
                    break done;
                }
            }
            event @ (ConnectionEvent::Close | ConnectionEvent::End | ConnectionEvent::Reconnect(_)) => {
                panic!(
                    "the client was dropped after {expected} messages: {event:?}, {:?}",
                    disconnections.entries()
                )
            }
            _ => {}
        }
    };
    assert_eq!(done, expected);
    let answered_at = answered_at.expect("the message sent during the stream was answered");
    // Answered while the stream flowed (then 1,000 more came), not after a
    // stream that went on for want of an answer.
    assert!(
        answered_at + AFTER_ANSWER <= expected + 1,
        "answered after {answered_at} of {expected} messages"
    );
    assert!(
        disconnections.entries().is_empty(),
        "{:?}",
        disconnections.entries()
    );
    client.end();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_websocket_client_is_read_while_the_server_streams() {
    read_while_streaming(Server::builder(), Transport::WebSockets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_io_client_is_read_while_the_server_streams() {
    read_while_streaming(
        Server::builder().transformer(EngineIo::default()),
        Transport::EngineIo,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sockjs_client_is_read_while_the_server_streams() {
    read_while_streaming(
        Server::builder().transformer(SockJs::default()),
        Transport::SockJs,
    )
    .await;
}
