//! Many nodes, one Primus: the [`Broadcast`] seam over Redis pub/sub
//! (feature `redis`).
//!
//! Each server process is a **node**. Its sparks and their rooms stay in the
//! process (a [`LocalBroadcast`](super::LocalBroadcast)); what reaches more than this node goes
//! through Redis:
//!
//! * [`Server::write`](crate::Server::write), typed broadcasts, room writes
//!   (with `except`), [`Server::write_to`](crate::Server::write_to) with
//!   [`Target::spark`] and [`Server::end_sparks`](crate::Server::end_sparks)
//!   reach sparks on every node;
//! * **local delivery first**: the sparks of this node get the message before
//!   `write` returns; the envelope for the other nodes goes into a queue
//!   drained by one publisher task, so a slow or absent Redis never delays
//!   or loses local delivery;
//! * **encode once**: the envelope carries the frame the sender's parser made,
//!   with the parser's name; receivers hand those bytes to their sparks
//!   without decoding them, and refuse an envelope from a node with another
//!   parser;
//! * **ordered per node**: one publisher task and one channel, so messages
//!   from one node arrive at every other node in the order they were sent;
//! * **at most once**: Redis pub/sub does not replay. What a node publishes
//!   while Redis is away is dropped and counted ([`RedisHealth::dropped`]);
//!   what others published while a node was cut off is lost to it and
//!   counted from sequence gaps ([`RedisHealth::missed`]). Subscriptions come
//!   back by themselves when Redis does;
//! * a **spark registry** with node liveness: every node keeps an alive key
//!   with a TTL, refreshed every heartbeat, and the ids of its sparks; the
//!   sparks of a node that stopped refreshing leave the registry within the
//!   TTL plus one heartbeat ([`RedisBroadcast::locate`]);
//! * **cluster-wide questions** ([`Server::connected_everywhere`](crate::Server::connected_everywhere),
//!   [`Server::room_members_everywhere`](crate::Server::room_members_everywhere))
//!   ask every node and wait at most the request timeout; the answer says how
//!   many nodes answered;
//! * everything lives under a **prefix** (channels and keys): two
//!   applications on one Redis must use two prefixes.
//!
//! Polling transports (engine.io polling, SockJS xhr) keep their session on
//! one node: behind a load balancer they still need sticky sessions.
//!
//! ```no_run
//! use primus::cluster::redis::Redis;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let cluster = Redis::new("redis://127.0.0.1:6379/").prefix("chat").connect().await?;
//! let server = primus::Server::builder().broadcast(cluster.clone()).build()?;
//! server.write(&"to every spark on every node")?;
//! assert!(cluster.health().published >= 1 || !cluster.health().publishing);
//! # Ok(()) }
//! ```

mod envelope;
mod health;
mod node;
mod registry;

pub use health::RedisHealth;

use self::envelope::NodeId;
use self::node::Node;
use super::{Attached, Broadcast, ClusterAnswer, RemoteReplies, Target};
use crate::spark::{CloseRequest, Outbound, Spark};
use futures_util::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo, ProtocolVersion};
use std::sync::Arc;
use std::time::Duration;

/// The default time between two refreshes of a node's alive key: 5 s.
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// The default life of a node's alive key: 15 s.
pub const DEFAULT_NODE_TTL: Duration = Duration::from_secs(15);
/// The default wait for the answers of the other nodes: 5 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The default budget of envelopes waiting to be published: 16 MiB.
pub const DEFAULT_PUBLISH_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// The default bound on one round trip to Redis (connecting included): 2 s.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(2);

/// Configures a node's link to Redis; [`connect`](Self::connect) makes the
/// [`RedisBroadcast`] to give [`ServerBuilder::broadcast`](crate::ServerBuilder::broadcast).
///
/// ```no_run
/// use primus::cluster::redis::Redis;
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), primus::cluster::redis::RedisClusterError> {
/// let cluster = Redis::new("redis://127.0.0.1:6379/")
///     .prefix("my-app")
///     .heartbeat_interval(Duration::from_secs(2))
///     .node_ttl(Duration::from_secs(6))
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Redis configuration does nothing until `connect` is called"]
pub struct Redis {
    url: String,
    prefix: String,
    heartbeat_interval: Duration,
    node_ttl: Duration,
    request_timeout: Duration,
    command_timeout: Duration,
    publish_queue_bytes: usize,
}

impl Redis {
    /// A node on the Redis server at `url` (`redis://host:port/db`; RESP3 is
    /// used whatever the URL says), with prefix `primus` and the defaults.
    pub fn new(url: impl Into<String>) -> Redis {
        Redis {
            url: url.into(),
            prefix: "primus".to_owned(),
            heartbeat_interval: DEFAULT_HEARTBEAT_INTERVAL,
            node_ttl: DEFAULT_NODE_TTL,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            command_timeout: DEFAULT_COMMAND_TIMEOUT,
            publish_queue_bytes: DEFAULT_PUBLISH_QUEUE_BYTES,
        }
    }

    /// The start of every channel and key name (default `primus`). Nodes of
    /// one application share it; another application on the same Redis
    /// needs its own.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Redis {
        self.prefix = prefix.into();
        self
    }

    /// How often the node refreshes its alive key and reaps dead nodes
    /// (default 5 s).
    pub fn heartbeat_interval(mut self, interval: Duration) -> Redis {
        self.heartbeat_interval = interval;
        self
    }

    /// How long a node's alive key lives without a refresh (default 15 s,
    /// more than two heartbeats). A node silent for that long is dead: its
    /// sparks leave the registry.
    pub fn node_ttl(mut self, ttl: Duration) -> Redis {
        self.node_ttl = ttl;
        self
    }

    /// How long cluster-wide questions wait for the other nodes (default 5 s).
    pub fn request_timeout(mut self, timeout: Duration) -> Redis {
        self.request_timeout = timeout;
        self
    }

    /// The bound on one round trip to Redis, connecting included (default
    /// 2 s). A publish that takes longer is dropped and counted.
    pub fn command_timeout(mut self, timeout: Duration) -> Redis {
        self.command_timeout = timeout;
        self
    }

    /// The budget of envelopes waiting for the publisher, in bytes (default
    /// 16 MiB). While Redis is slow or away and the budget is full, what
    /// this node sends for the others is dropped (and counted); local
    /// delivery goes on.
    pub fn publish_queue_bytes(mut self, bytes: usize) -> Redis {
        self.publish_queue_bytes = bytes;
        self
    }

    /// Connects (two connections: one for commands and publishing, one for
    /// the subscription), subscribes, registers this node, and starts the
    /// publisher and the heartbeat.
    ///
    /// # Errors
    ///
    /// [`RedisClusterError`] when the URL is not a Redis URL, the
    /// configuration is inconsistent, or Redis cannot be reached. There is no
    /// silent fall back to a single node.
    pub async fn connect(self) -> Result<RedisBroadcast, RedisClusterError> {
        if self.heartbeat_interval.is_zero() || self.node_ttl <= self.heartbeat_interval {
            return Err(RedisClusterError::Config(
                "node_ttl must be longer than heartbeat_interval (which must not be zero)",
            ));
        }
        if self.prefix.is_empty() || self.publish_queue_bytes == 0 || self.command_timeout.is_zero() {
            return Err(RedisClusterError::Config(
                "prefix, publish_queue_bytes and command_timeout must not be empty or zero",
            ));
        }
        let shown = redacted(&self.url);
        let info =
            self.url
                .as_str()
                .into_connection_info()
                .map_err(|source| RedisClusterError::InvalidUrl {
                    url: shown.clone(),
                    source,
                })?;
        let settings = info.redis_settings().clone().set_protocol(ProtocolVersion::RESP3);
        let info = info.set_redis_settings(settings);
        let client = redis::Client::open(info).map_err(|source| RedisClusterError::InvalidUrl {
            url: shown.clone(),
            source,
        })?;
        let connect_error = |source| RedisClusterError::Connect {
            url: shown.clone(),
            source,
        };
        let node = Arc::new(Node::new(NodeId::random(), self.clone()));
        let manager_config = || {
            ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.command_timeout))
                .set_response_timeout(Some(self.command_timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_secs(1))
        };
        let commands = ConnectionManager::new_with_config(client.clone(), manager_config())
            .await
            .map_err(connect_error)?;
        let receiver = Arc::downgrade(&node);
        let subscriber = ConnectionManager::new_with_config(
            client,
            manager_config()
                .set_push_sender(move |push| {
                    if let Some(node) = receiver.upgrade() {
                        node.received(push);
                    }
                    Ok::<(), ()>(())
                })
                .set_automatic_resubscription(),
        )
        .await
        .map_err(connect_error)?;
        node.start(commands, subscriber).await.map_err(connect_error)?;
        Ok(RedisBroadcast { node })
    }
}

/// `url` without its password, for messages.
fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_owned(),
    }
}

/// Why [`Redis::connect`] failed.
///
/// ```
/// use primus::cluster::redis::RedisClusterError;
///
/// let error = RedisClusterError::Config("node_ttl must be longer than heartbeat_interval");
/// assert!(error.to_string().contains("node_ttl"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisClusterError {
    /// The URL is not a Redis URL.
    #[error("{url} is not a Redis URL: {source}")]
    InvalidUrl {
        /// The URL, without its password.
        url: String,
        /// What the Redis client said.
        source: redis::RedisError,
    },
    /// Redis could not be reached (or refused the subscription).
    #[error("could not connect to Redis at {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// What the Redis client said.
        source: redis::RedisError,
    },
    /// The configuration is inconsistent.
    #[error("invalid Redis cluster configuration: {0}")]
    Config(&'static str),
}

/// A node of a cluster over Redis: the [`Broadcast`] to give
/// [`ServerBuilder::broadcast`](crate::ServerBuilder::broadcast). Clones
/// are handles to the same node (keep one to read its [`health`](Self::health)).
///
/// See [the module documentation](self) for what reaches other nodes and
/// what happens while Redis is away.
///
/// ```no_run
/// # async fn demo(cluster: primus::cluster::redis::RedisBroadcast) {
/// let health = cluster.health();
/// if !health.is_healthy() {
///     tracing::warn!(dropped = health.dropped, error = ?health.last_error, "cluster degraded");
/// }
/// # }
/// ```
#[derive(Clone)]
pub struct RedisBroadcast {
    node: Arc<Node>,
}

impl RedisBroadcast {
    /// This node's id (32 hex digits), as written in the registry.
    pub fn node_id(&self) -> String {
        self.node.id.to_string()
    }

    /// The state of the link to Redis and its counters.
    pub fn health(&self) -> RedisHealth {
        self.node.health.snapshot()
    }

    /// The id of the node the spark with this id is connected to, from the
    /// registry; `None` when no live node has it (a node is live while its
    /// alive key is).
    ///
    /// # Errors
    ///
    /// The Redis error when the registry cannot be read.
    pub async fn locate(&self, spark_id: &str) -> Result<Option<String>, redis::RedisError> {
        if self.node.local.spark(spark_id).is_some() {
            return Ok(Some(self.node_id()));
        }
        self.node.locate(spark_id).await
    }
}

impl std::fmt::Debug for RedisBroadcast {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBroadcast")
            .field("node", &self.node_id())
            .field("prefix", &self.node.config.prefix)
            .finish_non_exhaustive()
    }
}

impl Broadcast for RedisBroadcast {
    fn attach(&self, server: &Attached) {
        let _ = self.node.parser.set(server.parser_name());
    }

    fn add(&self, spark: &Spark) -> bool {
        let added = self.node.local.add(spark);
        if added {
            self.node.register(spark.id_arc());
        }
        added
    }

    fn remove(&self, spark: &Spark) {
        let known = self
            .node
            .local
            .spark(spark.id())
            .is_some_and(|known| &known == spark);
        self.node.local.remove(spark);
        if known {
            self.node.unregister(spark.id_arc());
        }
    }

    fn forget(&self, spark_id: &str) {
        self.node.local.forget(spark_id);
    }

    fn spark(&self, id: &str) -> Option<Spark> {
        self.node.local.spark(id)
    }

    fn sparks(&self) -> Vec<Spark> {
        self.node.local.sparks()
    }

    fn len(&self) -> usize {
        self.node.local.len()
    }

    fn deliver(&self, message: &Outbound, target: &Target) -> usize {
        let delivered = self.node.local.deliver(message, target);
        // A spark found here is nowhere else.
        if !(target.spark_id().is_some() && delivered > 0) {
            self.node.publish_delivery(message, target);
        }
        delivered
    }

    fn join(&self, spark_id: &str, room: &str) {
        self.node.local.join(spark_id, room);
    }

    fn leave(&self, spark_id: &str, room: &str) {
        self.node.local.leave(spark_id, room);
    }

    fn rooms_of(&self, spark_id: &str) -> Vec<String> {
        self.node.local.rooms_of(spark_id)
    }

    fn members(&self, room: &str) -> Vec<Arc<str>> {
        self.node.local.members(room)
    }

    fn room_names(&self) -> Vec<String> {
        self.node.local.room_names()
    }

    fn end(&self, target: &Target, request: CloseRequest) -> usize {
        let ended = self.node.local.end(target, request);
        if !(target.spark_id().is_some() && ended > 0) {
            self.node.publish_end(target, request.announce);
        }
        ended
    }

    fn connected_everywhere(&self) -> BoxFuture<'static, ClusterAnswer<usize>> {
        let node = self.node.clone();
        Box::pin(async move { node.count_everywhere().await })
    }

    fn members_everywhere(&self, room: &str) -> BoxFuture<'static, ClusterAnswer<Vec<Arc<str>>>> {
        let node = self.node.clone();
        let room = room.to_owned();
        Box::pin(async move { node.members_everywhere(room).await })
    }

    fn spans_nodes(&self) -> bool {
        true
    }

    fn request_elsewhere(
        &self,
        event: serde_json::Value,
        target: &Target,
        timeout: Duration,
    ) -> BoxFuture<'static, ClusterAnswer<RemoteReplies>> {
        let node = self.node.clone();
        let target = target.clone();
        Box::pin(async move { node.request_everywhere(event, target, timeout).await })
    }

    fn shutdown(&self) -> BoxFuture<'static, ()> {
        let node = self.node.clone();
        Box::pin(async move { node.shutdown().await })
    }
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redacted("redis://user:secret@host:6379/0"),
            "redis://***@host:6379/0"
        );
        assert_eq!(redacted("redis://127.0.0.1:6379/"), "redis://127.0.0.1:6379/");
    }
}
