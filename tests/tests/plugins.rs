//! Plugins, message transforms and the rooms plugin over real sockets.

use primus::plugins::{Rooms, ServerRooms, SparkRooms};
use primus::transform::{Flow, Packet, TransformError};
use primus::PluginSetup;
use primus::{Plugin, Server, Spark};
use primus_client::{Client, Event};
use primus_tests::events::{next_event, next_value};
use primus_tests::logs::Log;
use primus_tests::server::{serve, serve_with_errors, Running};
use primus_tests::wait::{until, WAIT};
use serde_json::{json, Value};
use std::time::Duration;

fn push(packet: &mut Packet, mark: &str) {
    if let Some(trail) = packet.data.get_mut("trail").and_then(Value::as_array_mut) {
        trail.push(json!(mark));
    }
}

/// Marks messages both ways so the order of transforms is visible.
#[derive(Default)]
struct Tagger;

impl Plugin for Tagger {
    fn name(&self) -> &'static str {
        "tagger"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        setup
            .transform_incoming(|_, packet| {
                push(packet, "tagger-in");
                Ok(Flow::Continue)
            })
            .transform_outgoing(|_, packet| {
                push(packet, "tagger-out");
                Ok(Flow::Continue)
            });
    }

    fn browser(&self) -> Option<&'static str> {
        Some("Primus.prototype.tagged = true;")
    }
}

/// Registered with the macro: greets every new spark.
#[derive(Default)]
struct Greeter;

#[primus::plugin]
impl Plugin for Greeter {
    fn name(&self) -> &'static str {
        "greeter"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        setup.on_connection(|spark| async move {
            let _ = spark.write(&json!({ "greeting": "hello from a plugin" }));
        });
    }
}

#[primus::on("data")]
async fn registry_echo(spark: Spark, message: primus::Message) {
    if let Ok(value) = message.decode::<Value>() {
        let _ = spark.write(&value);
    }
}

async fn echo_server(log: Log) -> Running {
    let errors = Log::default();
    let recorded = errors.clone();
    let (added, removed) = (log.clone(), log.clone());
    let server = Server::builder()
        .plugin(Tagger)
        .transform_incoming(|_, packet| {
            if packet.data["drop"] == true {
                return Ok(Flow::Drop);
            }
            if packet.data["reject"] == true {
                return Err(TransformError::new("rejected by the incoming transform"));
            }
            push(packet, "in-sync");
            Ok(Flow::Continue)
        })
        .transform_incoming_async(|_, mut packet| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            push(&mut packet, "in-async");
            Ok(Some(packet))
        })
        .transform_outgoing(|_, packet| {
            if packet.data["bad_out"] == true {
                return Err(TransformError::new("refused on the way out"));
            }
            push(packet, "out-sync");
            Ok(Flow::Continue)
        })
        .transform_outgoing_async(|_, mut packet| async move {
            if packet.data["drop_out"] == true {
                return Ok(None);
            }
            push(&mut packet, "out-async");
            Ok(Some(packet))
        })
        .on_data(|spark, message| async move {
            if let Ok(value) = message.decode::<Value>() {
                let _ = spark.write(&value);
            }
        })
        .on_plugin(move |name| added.push(format!("plugin:{name}")))
        .on_plugout(move |name| removed.push(format!("plugout:{name}")))
        .on_error(move |_spark, error| recorded.push(error.to_string()))
        .build()
        .expect("build");
    serve_with_errors(server, errors).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_rewrite_in_a_documented_order() {
    let log = Log::default();
    let running = echo_server(log).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    client.write(&json!({ "trail": [] })).expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "trail": ["tagger-in", "in-sync", "in-async", "tagger-out", "out-sync", "out-async"] })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transforms_drop_and_reject_both_ways() {
    let log = Log::default();
    let running = echo_server(log).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    for value in [
        json!({ "drop": true }),
        json!({ "reject": true }),
        json!({ "bad_out": true }),
        json!({ "drop_out": true }),
        json!({ "trail": [], "last": true }),
    ] {
        client.write(&value).expect("write");
    }
    // Only the last message comes back.
    let last = next_value(&mut events, WAIT).await;
    assert_eq!(last["last"], true, "{last}");
    let errors = running.errors.entries();
    assert_eq!(
        errors,
        [
            "transform refused the message: rejected by the incoming transform",
            "transform refused the message: refused on the way out"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugout_removes_what_the_plugin_added_and_plugin_adds_it_back() {
    let log = Log::default();
    let running = echo_server(log.clone()).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(running.server.plugins(), ["tagger"]);
    assert!(running
        .server
        .plugin_scripts()
        .contains("Primus.prototype.tagged = true;"));
    assert!(running.server.plugout("tagger"));
    assert!(!running.server.plugout("tagger"), "already gone");
    assert!(running.server.plugins().is_empty());
    assert!(running.server.plugin_scripts().is_empty());
    client.write(&json!({ "trail": [] })).expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "trail": ["in-sync", "in-async", "out-sync", "out-async"] })
    );
    running.server.plugin(Tagger).expect("add again");
    assert!(running.server.plugin(Tagger).is_err(), "names are unique");
    client.write(&json!({ "trail": [] })).expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "trail": ["tagger-in", "in-sync", "in-async", "tagger-out", "out-sync", "out-async"] })
    );
    assert_eq!(
        log.entries(),
        ["plugin:tagger", "plugout:tagger", "plugin:tagger"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_with_several_clients() {
    let server = Server::builder()
        .plugin(Rooms)
        .on_data(|spark, message| async move {
            let Ok(command) = message.decode::<Value>() else {
                return;
            };
            if let Some(room) = command["join"].as_str() {
                spark.join(room);
                let _ = spark.write(&json!({ "rooms": spark.rooms() }));
            }
            if let Some(room) = command["leave"].as_str() {
                spark.leave(room);
                let _ = spark.write(&json!({ "rooms": spark.rooms() }));
            }
            if let Some(room) = command["to"].as_str() {
                let _ = spark
                    .server()
                    .room(room)
                    .write_except(&command["say"], Some(&spark));
            }
        })
        .build()
        .expect("build");
    let running = serve(server.clone()).await;
    let mut clients = Vec::new();
    for rooms in [vec!["red"], vec!["red", "blue"], vec!["blue"]] {
        let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
        let mut joined = Value::Null;
        for room in rooms {
            client.write(&json!({ "join": room })).expect("write");
            joined = next_value(&mut events, WAIT).await;
        }
        clients.push((client, events, joined));
    }
    assert_eq!(clients[1].2, json!({ "rooms": ["blue", "red"] }));
    assert_eq!(server.room_names(), ["blue", "red"]);
    assert_eq!(server.room("red").len(), 2);

    // a → red: b hears it, a (the sender) and c do not.
    clients[0]
        .0
        .write(&json!({ "to": "red", "say": "hi red" }))
        .expect("write");
    assert_eq!(next_value(&mut clients[1].1, WAIT).await, json!("hi red"));
    // c → blue: b hears it.
    clients[2]
        .0
        .write(&json!({ "to": "blue", "say": "hi blue" }))
        .expect("write");
    assert_eq!(next_value(&mut clients[1].1, WAIT).await, json!("hi blue"));
    assert_eq!(server.room("blue").write(&"to all of blue").expect("write"), 2);
    assert_eq!(next_value(&mut clients[1].1, WAIT).await, json!("to all of blue"));
    assert_eq!(next_value(&mut clients[2].1, WAIT).await, json!("to all of blue"));
    // Nobody else got anything: a's next message is a fresh echo.
    clients[0].0.write(&json!({ "leave": "red" })).expect("write");
    assert_eq!(next_value(&mut clients[0].1, WAIT).await, json!({ "rooms": [] }));

    // b disconnects: it leaves every room; red is now empty and gone.
    clients[1].0.end();
    until("the rooms to be cleaned up", WAIT, || {
        server.room("blue").len() == 1 && server.room("red").is_empty()
    })
    .await;
    assert_eq!(server.room_names(), ["blue"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_registered_with_the_macro_come_with_the_registry() {
    let server = Server::builder().handlers_from_registry().build().expect("build");
    assert_eq!(server.plugins(), ["greeter"]);
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "greeting": "hello from a plugin" })
    );
    client.write("echo").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("echo"));
}

/// The client part of a plugin: marks messages on the client side.
struct ClientMarks;

impl primus_client::ClientPlugin for ClientMarks {
    fn name(&self) -> &'static str {
        "client-marks"
    }

    fn client(&self, setup: &mut primus_client::ClientPluginSetup<'_>) {
        setup
            .transform_outgoing(|packet| {
                push(packet, "client-plugin-out");
                Ok(Flow::Continue)
            })
            .transform_incoming(|packet| {
                push(packet, "client-plugin-in");
                Ok(Flow::Continue)
            });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_transforms_rewrite_drop_and_reject() {
    let log = Log::default();
    let running = echo_server(log).await;
    let (client, mut events) = Client::builder(running.url())
        .plugin(ClientMarks)
        .transform_outgoing(|packet| {
            if packet.data["client_drop"] == true {
                return Ok(Flow::Drop);
            }
            push(packet, "client-out");
            Ok(Flow::Continue)
        })
        .transform_incoming_async(|mut packet| async move {
            if packet.data["client_reject"] == true {
                return Err(TransformError::new("the client refuses this"));
            }
            push(&mut packet, "client-in");
            Ok(Some(packet))
        })
        .connect()
        .expect("connect");
    client.write(&json!({ "trail": [] })).expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "trail": [
            "client-plugin-out", "client-out",
            "tagger-in", "in-sync", "in-async", "tagger-out", "out-sync", "out-async",
            "client-plugin-in", "client-in"
        ] })
    );
    client.write(&json!({ "client_drop": true })).expect("write");
    client
        .write(&json!({ "client_reject": true, "trail": [] }))
        .expect("write");
    // The dropped message never left; the rejected one came back and was
    // refused on arrival: an error event, no data.
    loop {
        match next_event(&mut events, WAIT).await {
            Event::Error(error) => {
                assert_eq!(
                    error.to_string(),
                    "transform refused the message: the client refuses this"
                );
                break;
            }
            Event::Data(message) => panic!("unexpected data {message:?}"),
            _ => {}
        }
    }
}
