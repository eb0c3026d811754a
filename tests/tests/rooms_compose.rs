//! Rooms that compose: `server.to(a).to(b)` is a union (each spark once),
//! `except_room` and `except_spark` leave sparks out, `spark.to(room)`
//! leaves the sender out, typed `emit` and untyped `write` encode once, and
//! the counts returned are the sparks reached.

use primus::plugins::{Rooms, ServerRooms, SparkRooms};
use primus::{Server, Spark};
use primus_client::{Client, ConnectionEvent, Events};
use primus_tests::events::{events_for, expect_open, next_value};
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;
use serde_json::{json, Value};
use std::time::Duration;

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Game {
    Moved { x: i32 },
}

/// A client and its spark on the server.
struct Member {
    client: Client,
    events: Events,
    spark: Spark,
}

impl Member {
    /// What arrived within a short window.
    async fn received(&mut self) -> Vec<Value> {
        events_for(&mut self.events, Duration::from_millis(300))
            .await
            .into_iter()
            .filter_map(|event| match event {
                ConnectionEvent::Data(message) => message.decode().ok(),
                _ => None,
            })
            .collect()
    }
}

/// `{"join": room}` joins; the server answers `"joined"`.
async fn start() -> Running {
    let server = Server::builder()
        .plugin(Rooms)
        .on_data(|spark, message| async move {
            let value: Value = message.decode().unwrap_or_default();
            if let Some(room) = value["join"].as_str() {
                spark.join(room);
                let _ = spark.write(&"joined");
            }
        })
        .build()
        .expect("build");
    serve(server).await
}

async fn member(running: &Running, rooms: &[&str]) -> Member {
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    for room in rooms {
        client.write(&json!({ "join": room })).expect("write");
        assert_eq!(next_value(&mut events, WAIT).await, json!("joined"));
    }
    let id = client.id().await.expect("id");
    let spark = running.server.spark(&id).expect("spark");
    Member {
        client,
        events,
        spark,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unions_and_exceptions_reach_each_spark_once() {
    let running = start().await;
    let mut red = member(&running, &["red"]).await;
    let mut blue = member(&running, &["blue"]).await;
    let mut both = member(&running, &["red", "blue"]).await;
    let mut watcher = member(&running, &["red", "spectators"]).await;
    let mut nowhere = member(&running, &[]).await;
    let server = &running.server;
    assert_eq!(server.room("red").len(), 3);
    assert_eq!(server.room("blue").len(), 2);

    // Union: each of the four once; not the spark in no room.
    let moved = Game::Moved { x: 1 };
    assert_eq!(server.to("red").to("blue").emit(&moved).expect("emit"), 4);
    let typed = json!({ "event": "moved", "data": { "x": 1 } });
    for member in [&mut red, &mut blue, &mut both, &mut watcher] {
        assert_eq!(member.received().await, std::slice::from_ref(&typed));
    }
    assert!(nowhere.received().await.is_empty());

    // Leaving a room out: the spectator is in "red" too, and is skipped.
    assert_eq!(
        server
            .to("red")
            .to("blue")
            .except_room("spectators")
            .write(&"players")
            .expect("write"),
        3
    );
    for member in [&mut red, &mut blue, &mut both] {
        assert_eq!(member.received().await, [json!("players")]);
    }
    assert!(watcher.received().await.is_empty());

    // Leaving a spark out, and a room and a spark together.
    assert_eq!(
        server
            .to("red")
            .except_spark(both.spark.id())
            .write(&"not both")
            .expect("write"),
        2
    );
    assert_eq!(red.received().await, [json!("not both")]);
    assert_eq!(watcher.received().await, [json!("not both")]);
    assert!(both.received().await.is_empty());
    assert_eq!(
        server
            .to("red")
            .except_room("blue")
            .except_spark(red.spark.id())
            .write(&"only the watcher")
            .expect("write"),
        1
    );
    assert_eq!(watcher.received().await, [json!("only the watcher")]);
    for member in [&mut red, &mut blue, &mut both] {
        assert!(member.received().await.is_empty());
    }

    // A spark's `to` leaves the sender out.
    assert_eq!(red.spark.to("red").write(&"from red").expect("write"), 2);
    assert!(red.received().await.is_empty());
    assert_eq!(both.received().await, [json!("from red")]);
    assert_eq!(watcher.received().await, [json!("from red")]);

    // Leaving updates membership and counts.
    watcher.spark.leave("red");
    assert_eq!(server.room("red").len(), 2);
    assert_eq!(server.to("red").write(&"after leave").expect("write"), 2);
    assert!(watcher.received().await.is_empty());
    assert_eq!(watcher.spark.rooms(), ["spectators"]);
    for member in [red, blue, both, watcher, nowhere] {
        member.client.end();
    }
}
