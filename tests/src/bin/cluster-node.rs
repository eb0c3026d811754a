//! One node of a cluster over Redis, as a process of its own, so tests can
//! run several and kill one with SIGKILL.
//!
//! `cluster-node --redis URL --prefix P [--heartbeat-ms N] [--ttl-ms N]
//! [--request-ms N] [--parser json|bincode]` prints `{"port":N,"node":"ID"}`
//! once listening on 127.0.0.1 and exits when its stdin ends.
//!
//! Its sparks take commands as JSON objects and get the answers back:
//!
//! | command | does |
//! |---|---|
//! | `{"cmd":"id"}` | answers `{"id": the spark id, "node": the node id}` |
//! | `{"cmd":"broadcast","data":X}` | `server.write(X)` |
//! | `{"cmd":"volatile","data":X}` | `server.write_volatile(X)` |
//! | `{"cmd":"join","room":R}` | joins room R, answers `{"joined":R}` |
//! | `{"cmd":"room","room":R,"data":X}` | writes X to room R except the sender |
//! | `{"cmd":"compose","rooms":[R…],"except_room":E,"data":X}` | `server.to(R1).to(R2)….except_room(E).write(X)` |
//! | `{"cmd":"to","id":ID,"data":X}` | writes X to the spark ID, wherever it is |
//! | `{"cmd":"end","id":ID}` | ends the spark ID, wherever it is |
//! | `{"cmd":"count"}` | answers `{"count":n,"answered":a,"expected":e}` |
//! | `{"cmd":"members","room":R}` | answers `{"members":[ids],"answered":a,"expected":e}` |
//! | `{"cmd":"locate","id":ID}` | answers `{"located": node id or null}` |
//! | `{"cmd":"health"}` | answers the node's `RedisHealth` counters |

use primus::cluster::redis::{Redis, RedisBroadcast};
use primus::cluster::Target;
use primus::{Server, Spark};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::AsyncReadExt;

fn argument(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

fn millis(name: &str) -> Option<Duration> {
    argument(name)?.parse().ok().map(Duration::from_millis)
}

async fn command(server: Server, cluster: RedisBroadcast, spark: Spark, command: Value) {
    let text = |key: &str| command[key].as_str().unwrap_or_default().to_owned();
    let answer = match command["cmd"].as_str().unwrap_or_default() {
        "id" => json!({ "id": spark.id(), "node": cluster.node_id() }),
        "broadcast" => {
            let _ = server.write(&command["data"]);
            return;
        }
        "volatile" => {
            let _ = server.write_volatile(&command["data"]);
            return;
        }
        "join" => {
            server.broadcast().join(spark.id(), &text("room"));
            json!({ "joined": text("room") })
        }
        "room" => {
            let _ = server.write_to(&command["data"], &Target::room(text("room")).except(spark.id()));
            return;
        }
        "compose" => {
            let rooms: Vec<String> = command["rooms"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|room| room.as_str().map(str::to_owned))
                .collect();
            if let Some((first, rest)) = rooms.split_first() {
                let recipients = rest
                    .iter()
                    .fold(server.to(first.as_str()), |to, room| to.to(room.as_str()))
                    .except_room(text("except_room"));
                let _ = recipients.write(&command["data"]);
            }
            return;
        }
        "to" => {
            let _ = server.write_to(&command["data"], &Target::spark(text("id")));
            return;
        }
        "end" => {
            server.end_sparks(&Target::spark(text("id")));
            return;
        }
        "count" => {
            let count = server.connected_everywhere().await;
            json!({ "count": count.value, "answered": count.nodes_answered, "expected": count.nodes_expected })
        }
        "members" => {
            let members = server.room_members_everywhere(&text("room")).await;
            let ids: Vec<&str> = members.value.iter().map(|id| &**id).collect();
            json!({ "members": ids, "answered": members.nodes_answered, "expected": members.nodes_expected })
        }
        "locate" => json!({ "located": cluster.locate(&text("id")).await.ok().flatten() }),
        "health" => {
            let health = cluster.health();
            json!({ "health": {
                "publishing": health.publishing, "subscribed": health.subscribed,
                "published": health.published, "dropped": health.dropped,
                "received": health.received, "refused": health.refused, "missed": health.missed,
            }})
        }
        _ => json!({ "unknown": command }),
    };
    let _ = spark.write(&answer);
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Logs go to stderr: stdout carries the node's address to the test,
    // which may stop reading it.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let url = argument("--redis").ok_or("--redis URL is required")?;
    let mut redis = Redis::new(url).prefix(argument("--prefix").unwrap_or_else(|| "primus".into()));
    if let Some(interval) = millis("--heartbeat-ms") {
        redis = redis.heartbeat_interval(interval);
    }
    if let Some(ttl) = millis("--ttl-ms") {
        redis = redis.node_ttl(ttl);
    }
    if let Some(timeout) = millis("--request-ms") {
        redis = redis.request_timeout(timeout);
    }
    let cluster = redis.connect().await?;
    let mut builder = Server::builder().broadcast(cluster.clone());
    if argument("--parser").as_deref() == Some("bincode") {
        builder = builder.parser(primus::parser::Bincode);
    }
    let for_data = cluster.clone();
    let server = builder
        .on_data(move |spark, message| {
            let cluster = for_data.clone();
            async move {
                if let Ok(value) = message.decode::<Value>() {
                    command(spark.server(), cluster, spark, value).await;
                }
            }
        })
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "{}",
        json!({ "port": listener.local_addr()?.port(), "node": cluster.node_id() })
    );
    let serving = server.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let mut sink = [0u8; 64];
    while tokio::io::stdin().read(&mut sink).await.unwrap_or(0) > 0 {}
    Ok(())
}
