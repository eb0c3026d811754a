//! The primus-rs servers under test: typed-event echo and raw-data echo.
//!
//! Both are built and served the way the README shows users
//! (`Server::builder()…build()`, then `serve` on a listener, which is what
//! `listen` does), with the default options: 4 KiB read buffer, 1 MiB
//! outbound queue budget per connection, 30 s heartbeat, JSON parser; the `websockets` transformer
//! unless `--transformer` names engine.io or SockJS (their defaults too).

use super::counting::CountingJson;
use super::Settings;
use primus::cluster::redis::Redis;
use primus::transformer::{BrowserChannel, EngineIo, SockJs};
use primus::{Payload, Server, ServerBuilder, Spark};
use std::sync::OnceLock;
use tokio::net::TcpListener;

/// The server being served, for the `stats` command.
static SERVER: OnceLock<Server> = OnceLock::new();

/// Connected sparks (`Server::connected()`); 0 before the server is built.
pub fn connected() -> usize {
    SERVER.get().map_or(0, Server::connected)
}

/// Reads the transformer's framing counter (engine.io and SockJS).
type FramedCounter = Box<dyn Fn() -> u64 + Send + Sync>;

/// The engine.io or SockJS transformer's counter, when one is in use.
static FRAMED: OnceLock<FramedCounter> = OnceLock::new();

/// Messages wrapped into engine.io or SockJS packets so far; 0 with `websockets`.
pub fn framed() -> u64 {
    FRAMED.get().map_or(0, |count| count())
}

/// The typed events of the typed mode.
///
/// `{"event":"echo","data":"…"}` comes back to its sender unchanged (decoded
/// into a `String`, encoded again); `{"event":"broadcast","data":"…"}` goes
/// to every spark as `{"event":"echo","data":"…"}`, encoded once.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum Bench {
    /// Echoed to the sender.
    Echo(String),
    /// Sent to every spark.
    Broadcast(String),
}

#[primus::on(Bench::Echo)]
async fn echo(spark: Spark, Payload(text): Payload<String>) {
    let _ = spark.write(&Bench::Echo(text));
}

#[primus::on(Bench::Broadcast)]
async fn broadcast(server: Server, Payload(text): Payload<String>) {
    let _ = server.write(&Bench::Echo(text));
}

/// The builder both modes start from; with `--redis`, a node of a cluster
/// on that Redis (prefix `bench`).
async fn builder(settings: Settings) -> Result<ServerBuilder, Box<dyn std::error::Error>> {
    let builder = Server::builder()
        .read_buffer_size(settings.read_buffer)
        .compression(settings.compression);
    let builder = match settings.transformer {
        "engine.io" => {
            let engine_io = EngineIo::default();
            let counter = engine_io.clone();
            let _ = FRAMED.set(Box::new(move || counter.packets_encoded()));
            builder.transformer(engine_io)
        }
        "sockjs" => {
            let sockjs = SockJs::default();
            let counter = sockjs.clone();
            let _ = FRAMED.set(Box::new(move || counter.packets_encoded()));
            builder.transformer(sockjs)
        }
        "browserchannel" => {
            let channel = BrowserChannel::default();
            let counter = channel.clone();
            let _ = FRAMED.set(Box::new(move || counter.packets_encoded()));
            builder.transformer(channel)
        }
        _ => builder,
    };
    let builder = match settings.redis {
        Some(url) => builder.broadcast(Redis::new(url).prefix("bench").connect().await?),
        None => builder,
    };
    Ok(if settings.count_encodes {
        builder.parser(CountingJson)
    } else {
        builder
    })
}

/// Typed mode: the handlers above, collected from the registry.
pub async fn serve_typed(
    listener: TcpListener,
    settings: Settings,
) -> Result<(), Box<dyn std::error::Error>> {
    let server = builder(settings).await?.handlers_from_registry().build()?;
    let _ = SERVER.set(server.clone());
    server.serve(listener).await?;
    Ok(())
}

/// Raw mode: one untyped `data` handler. A message is sent back as the frame
/// it arrived in (already checked to be JSON by the parser); on a trigger
/// connection (`?bench=trigger`) it is decoded and broadcast with
/// `server.write`, which encodes it once for all sparks.
pub async fn serve_raw(listener: TcpListener, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let server = builder(settings)
        .await?
        .on_data(|spark, message| async move {
            if spark.query().get("bench") == Some("trigger") {
                if let Ok(value) = message.decode::<serde_json::Value>() {
                    let _ = spark.server().write(&value);
                }
            } else {
                let _ = spark.write_frame(message.into_frame());
            }
        })
        .build()?;
    let _ = SERVER.set(server.clone());
    server.serve(listener).await?;
    Ok(())
}
