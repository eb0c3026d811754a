//! The pipeline through the in-memory transformer: handler order, typed
//! requests, transforms, back-pressure and the broadcast seam, with no
//! socket anywhere. The same behaviour over real WebSockets is tested in
//! `tests/tests/server_behaviour.rs` and friends.

use primus::cluster::Target;
use primus::plugins::{Rooms, ServerRooms, SparkRooms};
use primus::spark::SparkError;
use primus::transform::{Flow, TransformError};
use primus::transformer::memory::MemoryClient;
use primus::transformer::Memory;
use primus::{Frame, Payload, Server, ServerBuilder, Spark};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);

/// A log that handlers append to.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.lock().expect("log lock").push(entry.into());
    }

    fn entries(&self) -> Vec<String> {
        self.0.lock().expect("log lock").clone()
    }

    /// Waits (bounded) until the log has `count` entries.
    async fn until(&self, count: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + WAIT;
        while self.entries().len() < count {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {count} entries; have {:?}",
                self.entries()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        self.entries()
    }
}

/// Builds `builder` on the in-memory transformer; returns the server and
/// the transformer handle that connects clients.
fn build(builder: ServerBuilder) -> (Server, Memory) {
    let memory = Memory::new();
    let server = builder
        .ping_interval(None)
        .transformer(memory.clone())
        .build()
        .expect("server builds");
    (server, memory)
}

async fn send_json(client: &MemoryClient, value: Value) {
    client
        .send(Frame::text(value.to_string()))
        .await
        .expect("the connection takes the frame");
}

async fn recv_json(client: &mut MemoryClient) -> Value {
    let frame = tokio::time::timeout(WAIT, client.recv())
        .await
        .expect("a frame within the wait")
        .expect("the connection is open");
    serde_json::from_slice(frame.as_bytes()).expect("a JSON frame")
}

#[tokio::test]
async fn handlers_run_in_order_and_early_data_waits_for_connection_handlers() {
    let log = Log::default();
    let (first, second, data_a, data_b, bye) =
        (log.clone(), log.clone(), log.clone(), log.clone(), log.clone());
    let (_server, memory) = build(
        Server::builder()
            .on_connection(move |_spark| {
                let log = first.clone();
                async move {
                    // Slow on purpose: data sent meanwhile must wait.
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    log.push("connection 1");
                }
            })
            .on_connection(move |_spark| {
                let log = second.clone();
                async move { log.push("connection 2") }
            })
            .on_data(move |_spark, message| {
                let log = data_a.clone();
                async move {
                    let value: Value = message.decode().expect("JSON");
                    // A handler that waits still keeps the order.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    log.push(format!("a {value}"));
                }
            })
            .on_data(move |_spark, message| {
                let log = data_b.clone();
                async move { log.push(format!("b {}", message.decode::<Value>().expect("JSON"))) }
            })
            .on_disconnection(move |_spark| {
                let log = bye.clone();
                async move { log.push("disconnection") }
            }),
    );
    let mut client = memory.connect().expect("connects");
    for n in 0..3 {
        send_json(&client, json!(n)).await;
    }
    client.close();
    let entries = log.until(9).await;
    assert_eq!(
        entries,
        [
            "connection 1",
            "connection 2",
            "a 0",
            "b 0",
            "a 1",
            "b 1",
            "a 2",
            "b 2",
            "disconnection"
        ]
    );
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Calculator {
    #[primus(reply = i64)]
    Add(i64, i64),
    #[primus(reply = i64)]
    Divide { dividend: i64, divisor: i64 },
}

#[primus::on(Calculator::Add)]
async fn add(Payload((a, b)): Payload<(i64, i64)>) -> i64 {
    a + b
}

#[primus::on(Calculator::Divide)]
async fn divide(
    Payload(CalculatorDivide { dividend, divisor }): Payload<CalculatorDivide>,
) -> Result<i64, primus::PublicError> {
    dividend
        .checked_div(divisor)
        .ok_or_else(|| primus::PublicError::new("division by zero"))
}

#[tokio::test]
async fn typed_requests_are_answered_and_failures_become_error_replies() {
    let errors = Log::default();
    let on_error = errors.clone();
    let (_server, memory) = build(
        Server::builder()
            .handlers_from_registry()
            .on_error(move |_spark, error| on_error.push(error.to_string())),
    );
    let mut client = memory.connect().expect("connects");
    send_json(&client, json!({ "event": "add", "data": [2, 40], "request": 1 })).await;
    assert_eq!(recv_json(&mut client).await, json!({ "reply": 1, "data": 42 }));
    send_json(
        &client,
        json!({ "event": "divide", "data": { "dividend": 1, "divisor": 0 }, "request": 2 }),
    )
    .await;
    let failed = recv_json(&mut client).await;
    assert_eq!(failed["reply"], 2);
    assert_eq!(
        failed["error"], "division by zero",
        "a PublicError's text, word for word"
    );
    // A payload of the wrong shape is an error reply too, never silence.
    send_json(&client, json!({ "event": "add", "data": "two", "request": 3 })).await;
    let refused = recv_json(&mut client).await;
    assert_eq!(refused["reply"], 3);
    assert!(refused["error"].is_string(), "{refused}");
    assert_eq!(errors.until(2).await.len(), 2);
}

#[tokio::test]
async fn transforms_rewrite_drop_and_refuse_in_both_directions() {
    let errors = Log::default();
    let on_error = errors.clone();
    let (_server, memory) = build(
        Server::builder()
            .transform_incoming(|_spark, packet| {
                if packet.data["drop"] == true {
                    return Ok(Flow::Drop);
                }
                if packet.data["refuse"] == true {
                    return Err(TransformError::new("refused by the test"));
                }
                packet.data["seen"] = json!(true);
                Ok(Flow::Continue)
            })
            .transform_outgoing(|spark, packet| {
                packet.data["to"] = json!(spark.id());
                Ok(Flow::Continue)
            })
            .on_data(|spark, message| async move {
                let value: Value = message.decode().expect("JSON");
                spark.write(&value).expect("queued");
            })
            .on_error(move |_spark, error| on_error.push(error.to_string())),
    );
    let mut client = memory.connect().expect("connects");
    let id = client.id().to_owned();
    send_json(&client, json!({ "drop": true })).await;
    send_json(&client, json!({ "refuse": true })).await;
    send_json(&client, json!({ "n": 1 })).await;
    // Only the third comes back: rewritten on the way in and on the way out.
    assert_eq!(
        recv_json(&mut client).await,
        json!({ "n": 1, "seen": true, "to": id })
    );
    assert_eq!(
        errors.until(1).await,
        ["transform refused the message: refused by the test"]
    );
}

#[tokio::test]
async fn a_broadcast_is_transformed_per_spark_when_outgoing_transforms_are_active() {
    let (server, memory) = build(Server::builder().transform_outgoing(|spark, packet| {
        packet.data = json!({ "for": spark.id(), "message": packet.data.clone() });
        Ok(Flow::Continue)
    }));
    let mut clients: Vec<MemoryClient> = (0..3).map(|_| memory.connect().expect("connects")).collect();
    while server.connected() < 3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(server.write(&"hello").expect("encodes"), 3);
    for client in &mut clients {
        let id = client.id().to_owned();
        assert_eq!(recv_json(client).await, json!({ "for": id, "message": "hello" }));
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_as_a_slow_consumer() {
    let errors = Log::default();
    let on_error = errors.clone();
    let (server, memory) = build(
        Server::builder()
            .send_queue_bytes(8)
            .on_error(move |_spark, error| {
                if matches!(error, SparkError::SlowConsumer { .. }) {
                    on_error.push(error.to_string());
                }
            }),
    );
    let memory = memory.buffer(1);
    let _ = &memory;
    let client = memory.connect().expect("connects");
    let spark = server.spark(client.id()).expect("registered");
    // The client reads nothing: the transport holds one frame, the queue 8 bytes.
    let mut refused = None;
    for n in 0..100 {
        if let Err(error) = spark.write(&n) {
            refused = Some(error);
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(
        matches!(refused, Some(primus::spark::WriteError::QueueFull { budget: 8 })),
        "{refused:?}"
    );
    assert_eq!(
        errors.until(1).await,
        ["slow consumer: the outbound queue of 8 bytes is full"]
    );
    assert!(!spark.is_open());
    drop(client);
}

#[tokio::test]
async fn send_waits_for_a_slow_reader_instead_of_dropping_it() {
    let (server, memory) = build(Server::builder().send_queue_bytes(4));
    let memory = memory.buffer(1);
    let _ = &memory;
    let mut client = memory.connect().expect("connects");
    let spark = server.spark(client.id()).expect("registered");
    let writer = tokio::spawn(async move {
        for n in 0..200 {
            spark.send(&n).await.expect("send waits for room");
        }
        spark
    });
    for expected in 0..200 {
        assert_eq!(recv_json(&mut client).await, json!(expected));
        if expected % 50 == 0 {
            // Read slowly now and then: the writer must wait, not fail.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let spark = tokio::time::timeout(WAIT, writer)
        .await
        .expect("writer done")
        .expect("no panic");
    assert!(spark.is_open());
}

#[tokio::test]
async fn control_messages_are_answered_and_end_announces_the_close() {
    let (server, memory) = build(Server::builder());
    let mut client = memory.connect().expect("connects");
    client.send(Frame::text("\"primus::id::\"")).await.expect("sent");
    assert_eq!(
        recv_json(&mut client).await,
        json!(format!("primus::id::{}", client.id()))
    );
    let spark: Spark = server.spark(client.id()).expect("registered");
    spark.end_with(&"bye").expect("queued");
    assert_eq!(recv_json(&mut client).await, json!("bye"));
    assert_eq!(recv_json(&mut client).await, json!("primus::server::close"));
    assert!(tokio::time::timeout(WAIT, client.recv())
        .await
        .expect("closes")
        .is_none());
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.connected() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the spark was not removed"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn rooms_deliver_through_the_broadcast_seam() {
    let (server, memory) = build(Server::builder().plugin(Rooms));
    let mut a = memory.connect().expect("connects");
    let mut b = memory.connect().expect("connects");
    let mut c = memory.connect().expect("connects");
    let spark = |client: &MemoryClient| server.spark(client.id()).expect("registered");
    spark(&a).join("lobby");
    spark(&b).join("lobby");
    spark(&c).join("games");
    assert_eq!(server.room_names(), ["games", "lobby"]);
    let sender = spark(&a);
    assert_eq!(
        server
            .room("lobby")
            .write_except(&"hi", Some(&sender))
            .expect("encodes"),
        1
    );
    assert_eq!(recv_json(&mut b).await, json!("hi"));
    // Several rooms at once reach each spark once.
    let target = Target::room("lobby").and_room("games");
    assert_eq!(server.write_to(&"all rooms", &target).expect("encodes"), 3);
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(recv_json(client).await, json!("all rooms"));
    }
    // One spark by id.
    assert_eq!(
        server
            .write_to(&"just c", &Target::spark(c.id()))
            .expect("encodes"),
        1
    );
    assert_eq!(recv_json(&mut c).await, json!("just c"));
    assert!(a.try_recv().is_none() && b.try_recv().is_none());
    // A spark that leaves is out of its rooms after its disconnection.
    let id = c.id().to_owned();
    c.close();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !server.broadcast().rooms_of(&id).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "rooms not cleaned up");
        tokio::task::yield_now().await;
    }
    assert_eq!(server.room_names(), ["lobby"]);
}
