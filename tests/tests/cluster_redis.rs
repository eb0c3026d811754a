//! Many nodes over a real `redis-server` (`primus::cluster::redis`): node
//! processes (`cluster-node`) with Rust clients on each, and nodes in this
//! process where a test needs to look inside (encode counts).
//!
//! Every test starts its own redis-server on a free port of 127.0.0.1 (and
//! kills it at the end), and uses its own prefix.

use primus::cluster::redis::Redis;
use primus::cluster::Target;
use primus::parser::{Json, Parser, ParserError};
use primus::plugins::{Rooms, SparkRooms};
use primus::spark::RequestError;
use primus::{Frame, Payload, Server};
use primus_client::{Client, ConnectionEvent, Events};
use primus_tests::events::{events_for, expect_open, next_value};
use primus_tests::process::ServerProcess;
use primus_tests::redis::RedisServer;
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::Command;

/// A `cluster-node` process on `redis` with `prefix` and extra arguments.
async fn node(redis: &RedisServer, prefix: &str, extra: &[&str]) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cluster-node"));
    command
        .args(["--redis", &redis.url(), "--prefix", prefix])
        .args(extra);
    ServerProcess::start(command).await
}

/// A Rust client on `node`, past the welcome (none) and with its spark id.
struct Peer {
    client: Client,
    events: Events,
    id: String,
}

impl Peer {
    async fn on(node: &ServerProcess) -> Peer {
        let (client, mut events) = Client::builder(node.url()).connect().expect("connect");
        client.write(&json!({ "cmd": "id" })).expect("write");
        let answer = next_value(&mut events, WAIT).await;
        let id = answer["id"].as_str().expect("an id").to_owned();
        Peer { client, events, id }
    }

    fn send(&self, command: Value) {
        self.client.write(&command).expect("write");
    }

    async fn ask(&mut self, command: Value) -> Value {
        self.send(command);
        next_value(&mut self.events, WAIT).await
    }

    async fn next(&mut self) -> Value {
        next_value(&mut self.events, WAIT).await
    }

    /// The values that arrive within `period` (pings left out).
    async fn values_for(&mut self, period: Duration) -> Vec<Value> {
        events_for(&mut self.events, period)
            .await
            .into_iter()
            .filter_map(|event| match event {
                ConnectionEvent::Data(message) => message.decode::<Value>().ok(),
                _ => None,
            })
            .collect()
    }

    async fn health(&mut self) -> Value {
        self.ask(json!({ "cmd": "health" })).await["health"].clone()
    }
}

/// A bound on a retry loop: [`Deadline::check`] panics with what the loop
/// waited for once `limit` has passed.
struct Deadline {
    what: &'static str,
    start: Instant,
    limit: Duration,
}

impl Deadline {
    fn new(what: &'static str, limit: Duration) -> Deadline {
        Deadline {
            what,
            start: Instant::now(),
            limit,
        }
    }

    async fn check(&self) {
        assert!(
            self.start.elapsed() < self.limit,
            "timed out after {:?} waiting for {}",
            self.limit,
            self.what
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_broadcasts_rooms_lookups_and_ends() {
    let redis = RedisServer::start();
    let nodes = [
        node(&redis, "three", &[]).await,
        node(&redis, "three", &[]).await,
        node(&redis, "three", &[]).await,
    ];
    let mut a = Peer::on(&nodes[0]).await;
    let mut b = Peer::on(&nodes[1]).await;
    let mut c = Peer::on(&nodes[2]).await;
    // Another application on the same Redis, with its own prefix.
    let other_app = node(&redis, "another-app", &[]).await;
    let mut stranger = Peer::on(&other_app).await;

    // A broadcast from any node reaches every client exactly once.
    for (i, sender) in ["a", "b", "c"].into_iter().enumerate() {
        let data = json!({ "broadcast-from": sender, "i": i });
        match sender {
            "a" => a.send(json!({ "cmd": "broadcast", "data": data })),
            "b" => b.send(json!({ "cmd": "broadcast", "data": data })),
            _ => c.send(json!({ "cmd": "broadcast", "data": data })),
        }
        for peer in [&mut a, &mut b, &mut c] {
            assert_eq!(
                peer.values_for(Duration::from_millis(400)).await,
                std::slice::from_ref(&data)
            );
        }
    }
    // A volatile broadcast too (its flag travels in the envelope).
    a.send(json!({ "cmd": "volatile", "data": "lossy but here" }));
    for peer in [&mut a, &mut b, &mut c] {
        assert_eq!(
            peer.values_for(Duration::from_millis(400)).await,
            [json!("lossy but here")]
        );
    }
    assert!(
        stranger.values_for(Duration::from_millis(200)).await.is_empty(),
        "prefixes keep apps apart"
    );

    // Room writes with `except`, across nodes: a and c in the lobby, c writes.
    assert_eq!(
        a.ask(json!({ "cmd": "join", "room": "lobby" })).await,
        json!({ "joined": "lobby" })
    );
    assert_eq!(
        c.ask(json!({ "cmd": "join", "room": "lobby" })).await,
        json!({ "joined": "lobby" })
    );
    c.send(json!({ "cmd": "room", "room": "lobby", "data": "lobby news" }));
    assert_eq!(a.next().await, json!("lobby news"));
    assert!(
        b.values_for(Duration::from_millis(300)).await.is_empty(),
        "b is not in the lobby"
    );
    assert!(
        c.values_for(Duration::from_millis(100)).await.is_empty(),
        "the sender is excepted"
    );

    // Rooms compose across nodes: b in "games", c in "muted" too; the union
    // of lobby and games, except the muted room, is a and b.
    assert_eq!(
        b.ask(json!({ "cmd": "join", "room": "games" })).await,
        json!({ "joined": "games" })
    );
    assert_eq!(
        c.ask(json!({ "cmd": "join", "room": "muted" })).await,
        json!({ "joined": "muted" })
    );
    a.send(
        json!({ "cmd": "compose", "rooms": ["lobby", "games"], "except_room": "muted", "data": "composed" }),
    );
    assert_eq!(
        a.values_for(Duration::from_millis(400)).await,
        [json!("composed")]
    );
    assert_eq!(
        b.values_for(Duration::from_millis(200)).await,
        [json!("composed")]
    );
    assert!(
        c.values_for(Duration::from_millis(100)).await.is_empty(),
        "c is muted"
    );

    // Cluster-wide questions.
    let count = b.ask(json!({ "cmd": "count" })).await;
    assert_eq!(count, json!({ "count": 3, "answered": 3, "expected": 3 }));
    let members = b.ask(json!({ "cmd": "members", "room": "lobby" })).await;
    let mut expected = vec![a.id.clone(), c.id.clone()];
    expected.sort();
    assert_eq!(members["members"], json!(expected));
    assert_eq!(
        (members["answered"].as_u64(), members["expected"].as_u64()),
        (Some(3), Some(3))
    );

    // One spark, wherever it is: a writes to c, then ends it.
    let c_node = c.ask(json!({ "cmd": "id" })).await["node"].clone();
    assert_eq!(
        a.ask(json!({ "cmd": "locate", "id": c.id })).await["located"],
        c_node
    );
    a.send(json!({ "cmd": "to", "id": c.id, "data": "just for c" }));
    assert_eq!(c.next().await, json!("just for c"));
    assert!(b.values_for(Duration::from_millis(200)).await.is_empty());
    a.send(json!({ "cmd": "end", "id": c.id }));
    let mut ended = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, c.events.next()).await {
        let end = matches!(event, ConnectionEvent::End);
        ended.push(event);
        if end {
            break;
        }
    }
    assert!(
        ended.iter().any(|event| matches!(event, ConnectionEvent::End)),
        "c was ended from another node: {ended:?}"
    );
    // Its node unregistered it.
    let deadline = Deadline::new("c to leave the registry", WAIT);
    while !a.ask(json!({ "cmd": "locate", "id": c.id })).await["located"].is_null() {
        deadline.check().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_never_stops_local_delivery_and_the_cluster_heals() {
    let mut redis = RedisServer::start();
    let fast = ["--heartbeat-ms", "200", "--ttl-ms", "1000"];
    let nodes = [
        node(&redis, "outage", &fast).await,
        node(&redis, "outage", &fast).await,
    ];
    let mut a = Peer::on(&nodes[0]).await;
    let mut b = Peer::on(&nodes[1]).await;
    a.send(json!({ "cmd": "broadcast", "data": "before" }));
    assert_eq!(a.next().await, json!("before"));
    assert_eq!(b.next().await, json!("before"));

    redis.kill();
    // Local delivery goes on, at once; b misses what a sent (at most once).
    for i in 0..5 {
        let sent = Instant::now();
        a.send(json!({ "cmd": "broadcast", "data": { "during": i } }));
        assert_eq!(a.next().await, json!({ "during": i }));
        assert!(
            sent.elapsed() < Duration::from_secs(1),
            "local delivery waited on Redis"
        );
    }
    assert!(b.values_for(Duration::from_millis(500)).await.is_empty());
    let health = a.health().await;
    assert_eq!(health["publishing"], json!(false), "{health}");
    assert!(health["dropped"].as_u64() >= Some(1), "{health}");

    redis.restart();
    // Cross-node delivery comes back without restarting the nodes.
    let deadline = Deadline::new("b to hear a again", Duration::from_secs(20));
    for round in 0.. {
        a.send(json!({ "cmd": "broadcast", "data": { "after": round } }));
        let heard = b.values_for(Duration::from_millis(300)).await;
        if heard.iter().any(|value| value.get("after").is_some()) {
            break;
        }
        deadline.check().await;
    }
    eprintln!(
        "note: cross-node delivery back {:?} after the restart",
        deadline.start.elapsed()
    );
    // The registry is written again (the restarted Redis was empty).
    let b_node = b.ask(json!({ "cmd": "id" })).await["node"].clone();
    let deadline = Deadline::new("b's spark back in the registry", Duration::from_secs(10));
    loop {
        a.send(json!({ "cmd": "locate", "id": b.id }));
        let answers = a.values_for(Duration::from_millis(200)).await;
        if answers.iter().any(|value| value["located"] == b_node) {
            break;
        }
        deadline.check().await;
    }
    let health = a.health().await;
    assert_eq!(health["publishing"], json!(true), "{health}");
    assert_eq!(health["subscribed"], json!(true), "{health}");
    let health = b.health().await;
    assert!(
        health["missed"].as_u64() >= Some(5),
        "b counted what it missed: {health}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_with_sigkill_leaves_the_registry_within_its_ttl() {
    let redis = RedisServer::start();
    let fast = ["--heartbeat-ms", "200", "--ttl-ms", "1000", "--request-ms", "500"];
    let survivor = node(&redis, "crash", &fast).await;
    let doomed = node(&redis, "crash", &fast).await;
    let mut a = Peer::on(&survivor).await;
    let b = Peer::on(&doomed).await;
    let b_node = a.ask(json!({ "cmd": "locate", "id": b.id })).await["located"].clone();
    assert!(b_node.is_string(), "b is registered: {b_node}");
    assert_eq!(
        redis.cli(&["HGET", "crash:sparks", &b.id]),
        b_node.as_str().map(str::to_owned)
    );

    doomed.crash().await;
    let deadline = Deadline::new("b's spark to leave the registry", Duration::from_secs(5));
    loop {
        a.send(json!({ "cmd": "locate", "id": b.id }));
        let answers = a.values_for(Duration::from_millis(100)).await;
        if answers.iter().any(|value| value["located"].is_null()) {
            break;
        }
        deadline.check().await;
    }
    let gone = deadline.start.elapsed();
    // TTL 1 s, then at most one heartbeat (200 ms) and this loop's polling.
    assert!(
        gone <= Duration::from_millis(1000 + 200 + 600),
        "left after {gone:?}"
    );
    // The reaper removed it from Redis too (not only from lookups).
    let deadline = Deadline::new("the reaper", Duration::from_secs(3));
    while redis.cli(&["HGET", "crash:sparks", &b.id]).as_deref() != Some("") {
        deadline.check().await;
    }
    assert_eq!(
        redis
            .cli(&["SISMEMBER", "crash:nodes", b_node.as_str().unwrap_or("")])
            .as_deref(),
        Some("0")
    );
    let count = a.ask(json!({ "cmd": "count" })).await;
    assert_eq!(count, json!({ "count": 1, "answered": 1, "expected": 1 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sleeping_redis_never_stalls_local_sends() {
    let redis = RedisServer::start();
    let nodes = [node(&redis, "slow", &[]).await, node(&redis, "slow", &[]).await];
    let mut a = Peer::on(&nodes[0]).await;
    let mut b = Peer::on(&nodes[1]).await;
    let port = redis.port.to_string();
    let sleeper = std::thread::spawn(move || {
        std::process::Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &port, "DEBUG", "SLEEP", "2"])
            .output()
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let sent = Instant::now();
        a.send(json!({ "cmd": "broadcast", "data": { "while-asleep": i } }));
        assert_eq!(a.next().await, json!({ "while-asleep": i }));
        slowest = slowest.max(sent.elapsed());
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a local send took {slowest:?} while Redis slept"
    );
    let _ = sleeper.join();
    // Once Redis wakes up, b hears a again.
    a.send(json!({ "cmd": "broadcast", "data": "awake" }));
    let heard = b.values_for(Duration::from_secs(3)).await;
    assert!(heard.contains(&json!("awake")), "{heard:?}");
}

/// An envelope as `cluster::redis` writes it (see its `envelope.rs`): a
/// delivery to everyone of `payload` as a text frame of `parser`.
fn delivery_envelope(parser: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = b"PR\x02\x01".to_vec(); // version 2, a delivery
    bytes.extend_from_slice(&[0xAB; 16]); // origin node id
    bytes.extend_from_slice(&1u64.to_be_bytes()); // sequence
    bytes.push(parser.len() as u8);
    bytes.extend_from_slice(parser.as_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]); // no rooms, no flags (one spark, volatile), no except, no except rooms
    bytes.push(0); // text
    bytes.extend_from_slice(payload);
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_envelopes_and_a_foreign_parser_are_refused() {
    let redis = RedisServer::start();
    let nodes = [node(&redis, "bad", &[]).await, node(&redis, "bad", &[]).await];
    let mut a = Peer::on(&nodes[0]).await;
    let mut b = Peer::on(&nodes[1]).await;

    // A well-formed envelope from an outsider with the right parser is delivered...
    assert_eq!(
        redis.publish("bad:bcast", &delivery_envelope("json", b"\"from outside\"")),
        Some(2)
    );
    assert_eq!(a.next().await, json!("from outside"));
    assert_eq!(b.next().await, json!("from outside"));
    // ...garbage, a truncated envelope and another parser's frames are not.
    assert_eq!(redis.publish("bad:bcast", b"garbage"), Some(2));
    let mut truncated = delivery_envelope("json", b"\"x\"");
    truncated.truncate(20);
    assert_eq!(redis.publish("bad:bcast", &truncated), Some(2));
    assert_eq!(
        redis.publish("bad:bcast", &delivery_envelope("bincode", b"\x02hi")),
        Some(2)
    );
    assert!(a.values_for(Duration::from_millis(300)).await.is_empty());
    assert!(b.values_for(Duration::from_millis(100)).await.is_empty());
    let health = a.health().await;
    assert_eq!(health["refused"], json!(3), "{health}");

    // Nothing else was disturbed: the nodes still talk.
    b.send(json!({ "cmd": "broadcast", "data": "still here" }));
    assert_eq!(a.next().await, json!("still here"));
    assert_eq!(b.next().await, json!("still here"));
}

/// The JSON parser, counting what it encodes (a wrapper, so the server
/// goes through `Parser::encode` and every encode is seen).
#[derive(Debug, Clone, Default)]
struct CountingJson {
    encodes: Arc<AtomicUsize>,
}

impl Parser for CountingJson {
    fn name(&self) -> &'static str {
        "json"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        self.encodes.fetch_add(1, Ordering::Relaxed);
        Json.encode(value)
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        Json.decode(frame, visit)
    }

    fn inspect(&self, frame: &Frame) -> Result<primus::parser::Inspection, ParserError> {
        Json.inspect(frame)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_is_encoded_once_across_three_nodes() {
    let redis = RedisServer::start();
    let parsers: Vec<CountingJson> = (0..3).map(|_| CountingJson::default()).collect();
    let mut servers = Vec::new();
    let mut clients = Vec::new();
    for parser in &parsers {
        let cluster = Redis::new(redis.url())
            .prefix("once")
            .connect()
            .await
            .expect("connect");
        let server = Server::builder()
            .parser(parser.clone())
            .broadcast(cluster)
            .ping_interval(None)
            .build()
            .expect("build");
        let running = serve(server.clone()).await;
        for _ in 0..2 {
            let (client, events) = Client::builder(running.url()).connect().expect("connect");
            clients.push((client, events));
        }
        servers.push((server, running));
    }
    let deadline = Deadline::new("six sparks everywhere", WAIT);
    while servers[0].0.connected_everywhere().await.value != 6 {
        deadline.check().await;
    }
    let before: Vec<usize> = parsers
        .iter()
        .map(|p| p.encodes.load(Ordering::Relaxed))
        .collect();
    servers[1].0.write(&json!({ "once": true })).expect("write");
    servers[2]
        .0
        .write_to(&"to the lobby", &Target::room("lobby"))
        .expect("write");
    for (_, events) in &mut clients {
        assert_eq!(next_value(events, WAIT).await, json!({ "once": true }));
    }
    let after: Vec<usize> = parsers
        .iter()
        .map(|p| p.encodes.load(Ordering::Relaxed))
        .collect();
    assert_eq!(
        after.iter().zip(&before).map(|(a, b)| a - b).collect::<Vec<_>>(),
        [0, 1, 1],
        "each write encoded once, by its sender; receivers re-encode nothing"
    );
}

/// The chat example as two nodes on one Redis (what `cargo run -p
/// chat-server -- ADDRESS --redis URL` builds): a plain Primus client, the
/// real Node one, joins and says something on node 1; a typed Rust client
/// on node 2 gets the `joined` and `message` events. Typed requests are
/// unaffected, and answer from their own node (`who` lists node 2's people).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_example_runs_as_two_nodes() {
    use chat_events::{ChatClient, ChatServer};
    use primus_tests::events::next_as;
    let redis = RedisServer::start();
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let cluster = Redis::new(redis.url())
            .prefix("chat")
            .connect()
            .await
            .expect("redis");
        let server = chat_server::builder().broadcast(cluster).build().expect("chat");
        nodes.push(serve(server).await);
    }
    let (bob, mut bob_events) = Client::builder(nodes[1].url()).connect().expect("connect");
    assert!(matches!(
        next_as::<ChatServer>(&mut bob_events, WAIT).await,
        ChatServer::System(_)
    ));
    assert_eq!(
        bob.request(ChatClient::join("bob".into())).await.expect("join"),
        ["bob"]
    );
    assert_eq!(
        next_as::<ChatServer>(&mut bob_events, WAIT).await,
        ChatServer::Joined { name: "bob".into() }
    );

    let summary = primus_tests::node::scenario(&nodes[0].url(), "chat-say", None).await;
    let seen_on_node_one = summary["received"].to_string();
    assert!(seen_on_node_one.contains(r#""reply":1"#), "{seen_on_node_one}");

    assert_eq!(
        next_as::<ChatServer>(&mut bob_events, WAIT).await,
        ChatServer::Joined {
            name: "node-one".into()
        }
    );
    assert_eq!(
        next_as::<ChatServer>(&mut bob_events, WAIT).await,
        ChatServer::Message {
            from: "node-one".into(),
            text: "hello from node one".into()
        }
    );
    // The Node client has left node 1: node 1 says so to everyone.
    assert_eq!(
        next_as::<ChatServer>(&mut bob_events, WAIT).await,
        ChatServer::Left {
            name: "node-one".into()
        }
    );
    assert_eq!(bob.request(ChatClient::who()).await.expect("who"), ["bob"]);
}

/// Requests the server asks of many sparks at once, answered by the Rust
/// client's handlers.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Poll {
    #[primus(reply = u32)]
    Half(u32),
    #[primus(reply = bool)]
    Veto,
    #[primus(reply = bool)]
    Dawdle,
}

#[primus_client::on(Poll::Half)]
async fn half(Payload(n): Payload<u32>) -> u32 {
    n / 2
}

#[primus_client::on(Poll::Veto)]
async fn veto() -> Result<bool, String> {
    Err("vetoed".to_owned())
}

#[primus_client::on(Poll::Dawdle)]
async fn dawdle() -> bool {
    tokio::time::sleep(Duration::from_secs(3)).await;
    true
}

/// The spark ids of `replies.answered`, sorted, each reply checked.
fn answered_ids<R: PartialEq + std::fmt::Debug>(
    replies: &primus::server::BroadcastReplies<R>,
    each: R,
) -> Vec<String> {
    let mut ids: Vec<String> = replies
        .answered
        .iter()
        .map(|(id, reply)| {
            assert_eq!(reply, &each, "the reply of {id}");
            id.clone()
        })
        .collect();
    ids.sort();
    ids
}

/// `server.to(..).request(..)` across three nodes: every spark of every
/// node is asked and its reply (or refusal, or timeout) comes back under
/// its id; rooms and `except_spark` reach across nodes; a node that does
/// not answer leaves the result flagged incomplete instead of late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_requests_collect_replies_from_every_node() {
    let redis = RedisServer::start();
    let mut servers = Vec::new();
    // (node, spark id, client, events)
    let mut clients = Vec::new();
    for node in 0..3 {
        let cluster = Redis::new(redis.url())
            .prefix("acks")
            .request_timeout(Duration::from_millis(500))
            .connect()
            .await
            .expect("connect");
        let server = Server::builder()
            .broadcast(cluster)
            .plugin(Rooms)
            .ping_interval(None)
            .build()
            .expect("build");
        let running = serve(server.clone()).await;
        for _ in 0..2 {
            let (client, mut events) = Client::builder(running.url())
                .handlers_from_registry()
                .connect()
                .expect("connect");
            expect_open(&mut events, WAIT).await;
            let id = client.id().await.expect("id");
            clients.push((node, id, client, events));
        }
        servers.push((server, running));
    }
    let deadline = Deadline::new("six sparks everywhere", WAIT);
    while servers[0].0.connected_everywhere().await.value != 6 {
        deadline.check().await;
    }
    let mut everyone: Vec<String> = clients.iter().map(|(_, id, ..)| id.clone()).collect();
    everyone.sort();

    // Everyone, asked from node 1: all six answer, under their own ids.
    let replies = servers[1]
        .0
        .everyone()
        .request(Poll::half(10), Duration::from_secs(5))
        .await;
    assert!(replies.failed.is_empty(), "{:?}", replies.failed);
    assert_eq!((replies.nodes_answered, replies.nodes_expected), (3, 3));
    assert!(replies.is_complete());
    assert_eq!(answered_ids(&replies, 5), everyone);

    // A room with one member per node, except node 1's member, from node 0.
    for (node, id, ..) in clients.iter().step_by(2) {
        servers[*node].0.spark(id).expect("a local spark").join("players");
    }
    let deadline = Deadline::new("three players everywhere", WAIT);
    while servers[0].0.room_members_everywhere("players").await.value.len() != 3 {
        deadline.check().await;
    }
    let left_out = clients[2].1.clone();
    let replies = servers[0]
        .0
        .to("players")
        .except_spark(left_out)
        .request(Poll::half(7), Duration::from_secs(5))
        .await;
    let mut players = vec![clients[0].1.clone(), clients[4].1.clone()];
    players.sort();
    assert_eq!(answered_ids(&replies, 3), players);
    assert!(replies.is_complete());

    // Refusals come back as refusals, with the client's text.
    let replies = servers[2]
        .0
        .everyone()
        .request(Poll::veto(), Duration::from_secs(5))
        .await;
    assert!(replies.answered.is_empty());
    assert_eq!(replies.failed.len(), 6);
    for (id, error) in &replies.failed {
        assert!(
            matches!(error, RequestError::Rejected(reason) if reason == "vetoed"),
            "{id}: {error:?}"
        );
    }
    assert!(!replies.is_complete());

    // A listener on the channel that never answers counts as a node that
    // did not answer: the replies of the others come, flagged incomplete,
    // within the timeout plus the cluster's request timeout.
    struct Killed(std::process::Child);
    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let silent = Killed(
        std::process::Command::new("redis-cli")
            .args(["-p", &redis.port.to_string(), "SUBSCRIBE", "acks:bcast"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-cli"),
    );
    let deadline = Deadline::new("the silent listener counted", WAIT);
    while servers[0].0.connected_everywhere().await.nodes_expected != 4 {
        deadline.check().await;
    }
    let asked = Instant::now();
    let replies = servers[0]
        .0
        .everyone()
        .request(Poll::half(4), Duration::from_millis(500))
        .await;
    let waited = asked.elapsed();
    drop(silent);
    assert_eq!(answered_ids(&replies, 2), everyone);
    assert_eq!((replies.nodes_answered, replies.nodes_expected), (3, 4));
    assert!(!replies.is_complete());
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    let deadline = Deadline::new("the silent listener gone", WAIT);
    while servers[0].0.connected_everywhere().await.nodes_expected != 3 {
        deadline.check().await;
    }

    // Last (the clients' handlers are still asleep afterwards): sparks
    // slower than the timeout time out, on every node, in time.
    let asked = Instant::now();
    let replies = servers[0]
        .0
        .everyone()
        .request(Poll::dawdle(), Duration::from_millis(300))
        .await;
    assert!(asked.elapsed() < Duration::from_secs(2), "{:?}", asked.elapsed());
    assert_eq!(replies.failed.len(), 6, "{replies:?}");
    assert!(replies
        .failed
        .iter()
        .all(|(_, error)| matches!(error, RequestError::Timeout(_))));
    assert_eq!((replies.nodes_answered, replies.nodes_expected), (3, 3));
}
