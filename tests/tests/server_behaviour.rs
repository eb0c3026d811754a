//! Server behaviour over real sockets, driven by our Rust client and raw
//! WebSockets: handler order, queued data, errors, heartbeats, spark
//! properties, broadcast, lookup, destroy, the bincode parser and the slow
//! consumer policy.

use futures_util::SinkExt;
use primus::{Destroy, Frame, Server};
use primus_client::{Client, ConnectionEvent};
use primus_tests::events::{next_event, next_message, next_value, until_end};
use primus_tests::logs::Log;
use primus_tests::raw;
use primus_tests::server::serve;
use primus_tests::wait::{until, WAIT};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_handlers_run_in_order_and_queue_early_data() {
    let log = Log::default();
    let (l1, l2, l3, l4) = (log.clone(), log.clone(), log.clone(), log.clone());
    let server = Server::builder()
        .on_connection(move |_spark| {
            let log = l1.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                log.push("connection-1");
            }
        })
        .on_connection(move |_spark| {
            let log = l2.clone();
            async move { log.push("connection-2") }
        })
        .on_data(move |_spark, message| {
            let log = l3.clone();
            async move {
                log.push(format!(
                    "data-a:{}",
                    message.decode::<String>().unwrap_or_default()
                ))
            }
        })
        .on_data(move |spark, message| {
            let log = l4.clone();
            async move {
                let text = message.decode::<String>().unwrap_or_default();
                log.push(format!("data-b:{text}"));
                let _ = spark.write(&text);
            }
        })
        .build()
        .expect("build");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    client.write("early-1").expect("write");
    client.write("early-2").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("early-1"));
    assert_eq!(next_value(&mut events, WAIT).await, json!("early-2"));
    assert_eq!(
        log.entries(),
        [
            "connection-1",
            "connection-2",
            "data-a:early-1",
            "data-b:early-1",
            "data-a:early-2",
            "data-b:early-2"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_connection_handler_ends_the_spark_with_server_close() {
    let errors = Log::default();
    let ran_second: Arc<AtomicUsize> = Arc::default();
    let (e, r) = (errors.clone(), ran_second.clone());
    let server = Server::builder()
        .on_connection(|_spark| async move { Err::<(), _>("nope") })
        .on_connection(move |_spark| {
            let ran = r.clone();
            async move {
                ran.fetch_add(1, Ordering::SeqCst);
            }
        })
        .on_error(move |_spark, error| e.push(error.to_string()))
        .build()
        .expect("build");
    let running = serve(server).await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    assert_eq!(
        raw::next_text(&mut socket, WAIT).await,
        "\"primus::server::close\""
    );
    assert!(matches!(
        raw::next_any(&mut socket, WAIT).await,
        Some(Message::Close(None)) | None
    ));
    assert_eq!(
        ran_second.load(Ordering::SeqCst),
        0,
        "later connection handlers must not run"
    );
    assert_eq!(errors.entries(), ["connection handler failed: nope"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnection_handlers_run_when_the_client_ends() {
    let log = Log::default();
    let l = log.clone();
    let server = Server::builder()
        .on_disconnection(move |spark| {
            let log = l.clone();
            async move { log.push(format!("gone:{}", spark.id().len())) }
        })
        .build()
        .expect("build");
    let running = serve(server.clone()).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert!(matches!(
        next_event(&mut events, WAIT).await,
        ConnectionEvent::Open
    ));
    until("the spark to register", WAIT, || server.connected() == 1).await;
    client.end();
    assert_eq!(until_end(&mut events, WAIT).await, ["close"]);
    until("the disconnection handler", WAIT, || log.entries() == ["gone:21"]).await;
    assert_eq!(server.connected(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_closes_a_silent_client_and_keeps_one_sending_websocket_pings() {
    let server = Server::builder()
        .ping_interval(Duration::from_millis(200))
        .build()
        .expect("build");
    let running = serve(server).await;
    let mut silent = raw::connect(&running.ws_url(), &[]).await;
    let mut pinging = raw::connect(&running.ws_url(), &[]).await;
    let started = tokio::time::Instant::now();

    // The silent client gets one ping, never answers, and is closed at the
    // next tick with an empty close frame and no `primus::server::close`.
    let mut texts = Vec::new();
    let closed_after = loop {
        match raw::next_any(&mut silent, Duration::from_secs(2)).await {
            Some(Message::Text(text)) => texts.push(text.to_string()),
            Some(Message::Close(frame)) => {
                assert_eq!(frame, None, "Primus closes with an empty close frame");
                break started.elapsed();
            }
            None => break started.elapsed(),
            Some(_) => {}
        }
        // Keep the other client alive with WebSocket-level pings only.
        pinging
            .send(Message::Ping(Default::default()))
            .await
            .expect("ping");
    };
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].starts_with("\"primus::ping::"), "{texts:?}");
    assert!(
        closed_after < Duration::from_millis(900),
        "closed after {closed_after:?}"
    );

    for _ in 0..6 {
        pinging
            .send(Message::Ping(Default::default()))
            .await
            .expect("ping");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pinging.send(Message::text("\"still\"")).await.expect("send");
    // No data handlers: nothing echoes, but the socket must still be open.
    pinging
        .send(Message::text("\"primus::id::\""))
        .await
        .expect("send");
    let id = raw::next_text(&mut pinging, WAIT).await;
    assert!(id.starts_with("\"primus::id::"), "{id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pong_answers_keep_a_raw_client_alive() {
    let server = Server::builder()
        .ping_interval(Duration::from_millis(100))
        .build()
        .expect("build");
    let running = serve(server.clone()).await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    let mut pings = 0;
    while pings < 5 {
        match raw::next_any(&mut socket, WAIT).await {
            Some(Message::Text(text)) => {
                let value = text
                    .strip_prefix("\"primus::ping::")
                    .and_then(|t| t.strip_suffix('"'));
                let value = value.expect("only pings are sent");
                assert!(value.parse::<u64>().is_ok(), "ping value is a timestamp: {value}");
                socket
                    .send(Message::text(format!("\"primus::pong::{value}\"")))
                    .await
                    .expect("pong");
                pings += 1;
            }
            other => panic!("closed after {pings} answered pings: {other:?}"),
        }
    }
    assert_eq!(server.connected(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spark_knows_its_request() {
    let seen: Arc<Mutex<Option<Value>>> = Arc::default();
    let s = seen.clone();
    let server = Server::builder()
        .on_connection(move |spark| {
            let seen = s.clone();
            async move {
                *seen.lock().expect("lock") = Some(json!({
                    "id": spark.id(),
                    "query": spark.query(),
                    "address": spark.address(),
                    "agent": spark.headers().get("x-test").and_then(|v| v.to_str().ok()),
                }));
            }
        })
        .build()
        .expect("build");
    let running = serve(server).await;
    let url = format!("{}?a=1&a=2&b=%20x&c", running.ws_url());
    let headers = [
        ("x-test", "yes"),
        ("x-forwarded-for", "203.0.113.7, 10.0.0.1"),
        ("x-forwarded-port", "4444"),
        ("x-forwarded-proto", "https"),
    ];
    let _socket = raw::connect(&url, &headers).await;
    until("the connection handler", WAIT, || {
        seen.lock().expect("lock").is_some()
    })
    .await;
    let seen = seen.lock().expect("lock").clone().expect("seen");
    assert_eq!(seen["id"].as_str().map(str::len), Some(21));
    assert_eq!(seen["query"], json!({ "a": ["1", "2"], "b": " x", "c": "" }));
    assert_eq!(
        seen["address"],
        json!({ "ip": "203.0.113.7", "port": 4444, "secure": true })
    );
    assert_eq!(seen["agent"], "yes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_id_generator_and_lookup() {
    let counter = Arc::new(AtomicUsize::new(0));
    let server = Server::builder()
        .id_generator(move || format!("user-{}", counter.fetch_add(1, Ordering::SeqCst)))
        .build()
        .expect("build");
    let running = serve(server.clone()).await;
    let (a, mut a_events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(a.id().await.expect("id"), "user-0");
    let (_b, mut b_events) = Client::builder(running.url()).connect().expect("connect");
    until("two sparks", WAIT, || server.connected() == 2).await;
    let spark = server.spark("user-0").expect("lookup");
    spark.write("direct").expect("write");
    assert_eq!(next_value(&mut a_events, WAIT).await, json!("direct"));
    assert!(server.spark("nobody").is_none());
    let mut ids: Vec<String> = server.sparks().iter().map(|s| s.id().to_owned()).collect();
    ids.sort();
    assert_eq!(ids, ["user-0", "user-1"]);
    // for_each stops when told to.
    let mut visited = 0;
    server.for_each(|_| {
        visited += 1;
        std::ops::ControlFlow::Break(())
    });
    assert_eq!(visited, 1);
    assert!(matches!(
        next_event(&mut b_events, WAIT).await,
        ConnectionEvent::Open
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_reaches_every_spark() {
    let server = Server::builder().build().expect("build");
    let running = serve(server.clone()).await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        clients.push(Client::builder(running.url()).connect().expect("connect"));
    }
    until("twenty sparks", WAIT, || server.connected() == 20).await;
    assert_eq!(server.write(&json!({ "news": 1 })).expect("broadcast"), 20);
    for (_client, events) in &mut clients {
        assert_eq!(next_value(events, WAIT).await, json!({ "news": 1 }));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_ends_everyone_and_stops_listening() {
    let server = Server::builder().build().expect("build");
    let running = serve(server.clone()).await;
    let url = running.url();
    let (_client, mut events) = Client::builder(&url).connect().expect("connect");
    until("the spark", WAIT, || server.connected() == 1).await;
    server.destroy(Destroy::default()).await;
    // primus::server::close was sent: the client ends without reconnecting.
    assert_eq!(until_end(&mut events, WAIT).await, ["open", "close"]);
    tokio::time::timeout(WAIT, running.serving)
        .await
        .expect("serve returns after destroy")
        .expect("join")
        .expect("serve ok");
    assert!(server.is_destroyed());
    let (_late, mut late_events) = Client::builder(&url).connect().expect("connect");
    assert!(matches!(
        next_event(&mut late_events, WAIT).await,
        ConnectionEvent::Error(_)
    ));
}

/// `destroy` returns once the connections have closed and their
/// `disconnection` handlers ran (a slow one included), not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_waits_for_disconnection_handlers() {
    let finished = Arc::new(AtomicUsize::new(0));
    let counter = finished.clone();
    let server = Server::builder()
        .on_disconnection(move |_spark| {
            let counter = counter.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(300)).await;
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .build()
        .expect("build");
    let running = serve(server.clone()).await;
    let mut clients = Vec::new();
    for _ in 0..3 {
        clients.push(Client::builder(running.url()).connect().expect("connect"));
    }
    until("three sparks", WAIT, || server.connected() == 3).await;
    server.destroy(Destroy::default()).await;
    assert_eq!(
        finished.load(Ordering::SeqCst),
        3,
        "destroy returned before the handlers ran"
    );

    // And it waits no longer than `drain`.
    let stuck = Server::builder()
        .on_disconnection(|_spark| async { tokio::time::sleep(Duration::from_secs(60)).await })
        .build()
        .expect("build");
    let running = serve(stuck.clone()).await;
    let _client = Client::builder(running.url()).connect().expect("connect");
    until("the spark", WAIT, || stuck.connected() == 1).await;
    let started = std::time::Instant::now();
    stuck
        .destroy(Destroy {
            drain: Duration::from_millis(300),
            ..Destroy::default()
        })
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destroy_with_reconnect_sends_no_server_close() {
    let server = Server::builder().build().expect("build");
    let running = serve(server.clone()).await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    until("the spark", WAIT, || server.connected() == 1).await;
    server
        .destroy(Destroy {
            reconnect: true,
            ..Destroy::default()
        })
        .await;
    assert!(matches!(
        raw::next_any(&mut socket, WAIT).await,
        Some(Message::Close(None)) | None
    ));
}

/// With outgoing transforms active on both sides, bincode messages keep
/// their exact encoding (transforms work on JSON values, which would turn
/// structs into maps and change integer widths): they pass the transforms
/// by, and the receiver decodes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bincode_messages_pass_outgoing_transforms_untouched() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq, Clone)]
    struct Reading {
        sensor: u8,
        value: i64,
        label: String,
    }
    let server = Server::builder()
        .parser(primus::parser::Bincode)
        .transform_outgoing(|_spark, packet| {
            packet.data = serde_json::json!("rewritten");
            Ok(primus::transform::Flow::Continue)
        })
        .on_data(|spark, message| async move {
            let mut reading: Reading = message.decode().expect("bincode reading");
            reading.value *= 2;
            let _ = spark.write(&reading);
            let _ = spark.server().write(&reading);
        })
        .build()
        .expect("build");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .parser(primus::parser::Bincode)
        .transform_outgoing(|packet| {
            packet.data = serde_json::json!("rewritten");
            Ok(primus::transform::Flow::Continue)
        })
        .connect()
        .expect("connect");
    let sent = Reading {
        sensor: 7,
        value: -21,
        label: "t°".into(),
    };
    client.write(&sent).expect("write");
    let expected = Reading { value: -42, ..sent };
    for _ in 0..2 {
        let message = next_message(&mut events, WAIT).await;
        assert_eq!(message.decode::<Reading>().expect("decode"), expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bincode_parser_end_to_end() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i32,
        label: String,
        tags: Vec<u8>,
    }
    let server = Server::builder()
        .parser(primus::parser::Bincode)
        .on_data(|spark, message| async move {
            let mut point: Point = message.decode().expect("bincode point");
            point.x += 1;
            let _ = spark.write(&point);
        })
        .build()
        .expect("build");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .parser(primus::parser::Bincode)
        .connect()
        .expect("connect");
    client
        .write(&Point {
            x: 41,
            label: "héllo".into(),
            tags: vec![1, 2],
        })
        .expect("write");
    let message = next_message(&mut events, WAIT).await;
    assert!(message.is_binary());
    assert_eq!(
        message.decode::<Point>().expect("decode"),
        Point {
            x: 42,
            label: "héllo".into(),
            tags: vec![1, 2]
        }
    );
    assert_eq!(
        client.id().await.expect("id").len(),
        21,
        "control messages work over bincode"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_reports_undecodable_frames_and_stays_connected() {
    let server = Server::builder()
        .on_connection(|spark| async move {
            spark.write_frame(Frame::text("not json"))?;
            spark.write("after")
        })
        .build()
        .expect("build");
    let running = serve(server).await;
    let (_client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert!(matches!(
        next_event(&mut events, WAIT).await,
        ConnectionEvent::Open
    ));
    match next_event(&mut events, WAIT).await {
        ConnectionEvent::Error(error) => assert!(
            error.to_string().starts_with("Failed to decode incoming data: "),
            "{error}"
        ),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(next_value(&mut events, WAIT).await, json!("after"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_disconnected_with_reconnect_and_send_waits_instead() {
    let errors = Log::default();
    let e = errors.clone();
    let server = Server::builder()
        .send_queue_bytes(8)
        .on_data(|spark, message| async move {
            match message.decode::<String>().as_deref() {
                // 20 writes without yielding overflow a queue of 8 bytes
                // (0 to 7 fit, one byte each).
                Ok("burst-write") => {
                    for n in 0..20 {
                        if spark.write(&n).is_err() {
                            break;
                        }
                    }
                }
                // `send` waits for room instead.
                Ok("burst-send") => {
                    for n in 0..200 {
                        spark.send(&n).await.expect("send");
                    }
                }
                _ => {}
            }
        })
        .on_error(move |_spark, error| e.push(error.to_string()))
        .build()
        .expect("build");
    let running = serve(server).await;

    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    client.write("burst-send").expect("write");
    for n in 0..200 {
        assert_eq!(next_value(&mut events, WAIT).await, json!(n));
    }
    assert!(errors.entries().is_empty(), "{:?}", errors.entries());

    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut socket, "\"burst-write\"").await;
    let mut received = 0;
    loop {
        match raw::next_any(&mut socket, WAIT).await {
            Some(Message::Text(text)) => {
                assert_ne!(
                    text.as_str(),
                    "\"primus::server::close\"",
                    "a slow consumer may reconnect"
                );
                received += 1;
            }
            Some(Message::Close(None)) | None => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        received, 8,
        "the queued frames are still delivered before the close"
    );
    until("the slow consumer error", WAIT, || !errors.entries().is_empty()).await;
    assert_eq!(
        errors.entries(),
        ["slow consumer: the outbound queue of 8 bytes is full"]
    );
}

/// A client that stops reading fills the socket and the spark's queue; the
/// slow-consumer close must still end the connection (bounded by the 2 s
/// close grace), not wait on a write the client will never take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_still_disconnected() {
    let errors = Log::default();
    let e = errors.clone();
    let server = Server::builder()
        .send_queue_bytes(256 * 1024)
        .on_data(|spark, message| async move {
            if message.decode::<String>().as_deref() == Ok("flood") {
                // From another task, as a broadcast would: the connection
                // task is the one stuck on the socket.
                tokio::spawn(async move {
                    let chunk = "x".repeat(64 * 1024);
                    // Bounded: 4,096 × 64 KiB is far more than the socket
                    // buffers and the queue hold.
                    for _ in 0..4096 {
                        if spark.write(&chunk).is_err() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                });
            }
        })
        .on_error(move |_spark, error| e.push(error.to_string()))
        .build()
        .expect("build");
    let running = serve(server.clone()).await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut socket, "\"flood\"").await;
    until("the slow consumer error", WAIT, || !errors.entries().is_empty()).await;
    assert_eq!(
        errors.entries(),
        ["slow consumer: the outbound queue of 262144 bytes is full"]
    );
    // The client still holds its socket and reads nothing.
    until("the spark to be gone", WAIT, || server.connected() == 0).await;
    drop(socket);
}
