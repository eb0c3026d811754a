//! One node: its local sparks, its queue of envelopes for Redis and the
//! publisher draining it, what it does with envelopes from other nodes,
//! its heartbeat (alive key, reaping dead nodes, the subscription
//! watchdog) and its questions to the other nodes.

use super::envelope::{Body, Envelope, NodeId, Outcome, PayloadKind, Question, Reply};
use super::health::Health;
use super::registry::{Names, REAP, UNREGISTER};
use super::Redis;
use crate::cluster::{local_sparks_reached, Broadcast, ClusterAnswer, LocalBroadcast, RemoteReplies, Target};
use crate::lock;
use crate::message::transform::Packet;
use crate::spark::{CloseRequest, Outbound, RequestError};
use crate::wire::Frame;
use bytes::Bytes;
use redis::aio::ConnectionManager;
use redis::{PushInfo, PushKind, Value};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Envelopes sent to the publisher at most in one pipeline.
const BATCH: usize = 256;
/// What a registry operation counts against the publish budget, besides the id.
const REGISTRY_OP_BYTES: usize = 64;
/// Peers remembered (sequence numbers, parser warnings) at most.
const MAX_PEERS: usize = 4096;
/// Requests asked by other nodes that this node works on at once, at most;
/// beyond that it does not answer (the asking node counts it as a node
/// that did not answer).
const MAX_ASKS_IN_FLIGHT: usize = 256;
/// The longest this node lets its sparks take over a request another node
/// asked (a longer timeout from the asker is cut to this), so that a few
/// asks with huge timeouts cannot hold its [`MAX_ASKS_IN_FLIGHT`] slots.
const MAX_ASK_TIMEOUT: Duration = Duration::from_secs(300);

/// Something for the publisher task to send.
enum Op {
    Publish { channel: String, envelope: Bytes },
    Register(Arc<str>),
    Unregister(Arc<str>),
}

impl Op {
    fn weight(&self) -> usize {
        match self {
            Op::Publish { envelope, .. } => envelope.len() + REGISTRY_OP_BYTES,
            Op::Register(id) | Op::Unregister(id) => id.len() + REGISTRY_OP_BYTES,
        }
    }
}

/// What this node remembers of another node.
#[derive(Default)]
struct Peer {
    last_sequence: u64,
    last_seen: Option<Instant>,
    parser_refused: bool,
}

/// A question this node asked, waiting for answers.
struct Asked {
    answers: mpsc::UnboundedSender<Reply>,
}

pub(crate) struct Node {
    pub(crate) id: NodeId,
    pub(crate) config: Redis,
    names: Names,
    pub(crate) local: LocalBroadcast,
    pub(crate) parser: OnceLock<&'static str>,
    pub(crate) health: Health,
    sequence: AtomicU64,
    outbox: mpsc::UnboundedSender<Op>,
    outbox_receiver: Mutex<Option<mpsc::UnboundedReceiver<Op>>>,
    queued_bytes: AtomicUsize,
    peers: Mutex<HashMap<NodeId, Peer>>,
    asked: Mutex<HashMap<u64, Asked>>,
    next_question: AtomicU64,
    /// The registry may have lost this node's sparks (a dropped registry
    /// operation, a reconnect, reaped during an outage): rewrite them.
    resync: AtomicBool,
    commands: OnceLock<ConnectionManager>,
    stop: watch::Sender<bool>,
    /// This node, for the tasks that answer other nodes' requests.
    me: OnceLock<Weak<Node>>,
    asks_in_flight: AtomicUsize,
}

impl Node {
    pub(crate) fn new(id: NodeId, config: Redis) -> Node {
        let (outbox, receiver) = mpsc::unbounded_channel();
        Node {
            id,
            names: Names::new(&config.prefix),
            config,
            local: LocalBroadcast::default(),
            parser: OnceLock::new(),
            health: Health::default(),
            sequence: AtomicU64::new(0),
            outbox,
            outbox_receiver: Mutex::new(Some(receiver)),
            queued_bytes: AtomicUsize::new(0),
            peers: Mutex::new(HashMap::new()),
            asked: Mutex::new(HashMap::new()),
            next_question: AtomicU64::new(1),
            resync: AtomicBool::new(true),
            commands: OnceLock::new(),
            stop: watch::Sender::new(false),
            me: OnceLock::new(),
            asks_in_flight: AtomicUsize::new(0),
        }
    }

    /// Subscribes, registers the node, and starts the publisher and the
    /// heartbeat.
    pub(crate) async fn start(
        self: &Arc<Self>,
        commands: ConnectionManager,
        mut subscriber: ConnectionManager,
    ) -> Result<(), redis::RedisError> {
        let _ = self.me.set(Arc::downgrade(self));
        subscriber.subscribe(&self.names.broadcast).await?;
        subscriber.subscribe(self.names.reply(&self.id)).await?;
        self.health.subscribed(true);
        let _ = self.commands.set(commands.clone());
        self.beat(&mut commands.clone()).await?;
        self.health.publish_ok();
        if let Some(receiver) = lock::lock(&self.outbox_receiver).take() {
            tokio::spawn(publisher(Arc::downgrade(self), commands.clone(), receiver));
        }
        tokio::spawn(heartbeat(
            Arc::downgrade(self),
            commands,
            subscriber,
            self.stop.subscribe(),
        ));
        Ok(())
    }

    fn envelope(&self, body: Body) -> Envelope {
        Envelope {
            origin: self.id,
            sequence: self.sequence.fetch_add(1, Ordering::Relaxed) + 1,
            parser: self.parser.get().copied().unwrap_or_default().to_owned(),
            body,
        }
    }

    /// Queues `op` within the byte budget; drops and counts it otherwise.
    fn queue(&self, op: Op) {
        if *self.stop.borrow() {
            return;
        }
        let weight = op.weight();
        let before = self.queued_bytes.fetch_add(weight, Ordering::AcqRel);
        if before + weight > self.config.publish_queue_bytes {
            self.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
            self.dropped(&op);
            return;
        }
        if let Err(mpsc::error::SendError(op)) = self.outbox.send(op) {
            self.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
            self.dropped(&op);
        }
    }

    fn dropped(&self, op: &Op) {
        match op {
            Op::Publish { .. } => {
                let dropped = self.health.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if dropped.is_power_of_two() {
                    tracing::warn!(dropped, "cluster: publish queue full (Redis slow or away); dropped what other nodes would get");
                }
            }
            Op::Register(_) | Op::Unregister(_) => self.resync.store(true, Ordering::Relaxed),
        }
    }

    fn publish(&self, body: Body) {
        let envelope = self.envelope(body).encode();
        self.queue(Op::Publish {
            channel: self.names.broadcast.clone(),
            envelope,
        });
    }

    pub(crate) fn publish_delivery(&self, message: &Outbound, target: &Target) {
        let (kind, payload) = match message {
            Outbound::Frame(frame) => match frame.is_binary() {
                true => (PayloadKind::Binary, frame.bytes().clone()),
                false => (PayloadKind::Text, frame.bytes().clone()),
            },
            Outbound::Packet(packet) => match serde_json::to_vec(&packet.data) {
                Ok(json) => (PayloadKind::Packet, Bytes::from(json)),
                Err(error) => {
                    tracing::warn!(%error, "cluster: a packet could not be written as JSON for the other nodes");
                    return;
                }
            },
        };
        self.publish(Body::Deliver {
            target: target.clone(),
            kind,
            payload,
        });
    }

    pub(crate) fn publish_end(&self, target: &Target, announce: bool) {
        self.publish(Body::End {
            target: target.clone(),
            announce,
        });
    }

    pub(crate) fn register(&self, id: Arc<str>) {
        self.queue(Op::Register(id));
    }

    pub(crate) fn unregister(&self, id: Arc<str>) {
        self.queue(Op::Unregister(id));
    }

    /// A push from the subscription: an envelope, or a change of the link.
    pub(crate) fn received(&self, push: PushInfo) {
        match push.kind {
            PushKind::Message => {
                let payload = match push.data.into_iter().nth(1) {
                    Some(Value::BulkString(bytes)) => Bytes::from(bytes),
                    _ => return,
                };
                self.envelope_received(payload);
            }
            PushKind::Disconnection => {
                self.health.subscribed(false);
                self.resync.store(true, Ordering::Relaxed);
            }
            PushKind::Subscribe => self.health.subscribed(true),
            _ => {}
        }
    }

    fn refuse(&self, error: &dyn std::fmt::Display) {
        let refused = self.health.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if refused.is_power_of_two() {
            tracing::warn!(refused, %error, "cluster: refused an envelope from the Redis channel");
        }
    }

    fn envelope_received(&self, bytes: Bytes) {
        let envelope = match Envelope::decode(bytes) {
            Ok(envelope) => envelope,
            Err(error) => return self.refuse(&error),
        };
        if envelope.origin == self.id {
            return;
        }
        if !self.peer_accepts(&envelope) {
            return;
        }
        self.health.received.fetch_add(1, Ordering::Relaxed);
        let origin = envelope.origin;
        match envelope.body {
            Body::Deliver {
                target,
                kind,
                payload,
            } => {
                let message = match kind {
                    PayloadKind::Text => match Frame::text_from_bytes(payload) {
                        Ok(frame) => Outbound::Frame(frame),
                        Err(error) => return self.refuse(&error),
                    },
                    PayloadKind::Binary => Outbound::Frame(Frame::binary(payload)),
                    PayloadKind::Packet => match serde_json::from_slice(&payload) {
                        Ok(data) => Outbound::Packet(Packet { data }),
                        Err(_) => return self.refuse(&"a packet that is not JSON"),
                    },
                };
                let message = match message {
                    Outbound::Frame(frame) if target.spark_id().is_none() => Outbound::Frame(frame.shared()),
                    message => message,
                };
                self.local.deliver(&message, &target);
            }
            Body::End { target, announce } => {
                self.local.end(&target, CloseRequest { announce, code: None });
            }
            Body::Query { request, question } => {
                let reply = match question {
                    Question::Connected => Reply::Count(self.local.len() as u64),
                    Question::Members(room) => Reply::Members(self.local.members(&room)),
                    Question::Ask {
                        target,
                        timeout_ms,
                        event,
                    } => return self.ask_local_sparks(origin, request, target, timeout_ms, event),
                };
                self.answer(origin, request, reply);
            }
            Body::Answer { request, reply } => {
                if let Some(asked) = lock::lock(&self.asked).get(&request) {
                    let _ = asked.answers.send(reply);
                }
            }
        }
    }

    fn answer(&self, origin: NodeId, request: u64, reply: Reply) {
        let envelope = self.envelope(Body::Answer { request, reply }).encode();
        self.queue(Op::Publish {
            channel: self.names.reply(&origin),
            envelope,
        });
    }

    /// Another node's broadcast request: sends `event` to this node's
    /// sparks that `target` names and answers with their replies once each
    /// replied or `timeout_ms` passed. Runs as its own task.
    fn ask_local_sparks(&self, origin: NodeId, request: u64, target: Target, timeout_ms: u32, event: Bytes) {
        let Some(node) = self.me.get().and_then(Weak::upgrade) else {
            return;
        };
        let event: serde_json::Value = match serde_json::from_slice(&event) {
            Ok(event) => event,
            Err(_) => {
                // Answered (with nobody), so the asker does not wait for it.
                self.refuse(&"a request whose event is not JSON");
                return self.answer(origin, request, Reply::Replies(Vec::new()));
            }
        };
        if self.asks_in_flight.fetch_add(1, Ordering::AcqRel) >= MAX_ASKS_IN_FLIGHT {
            self.asks_in_flight.fetch_sub(1, Ordering::AcqRel);
            tracing::warn!(
                limit = MAX_ASKS_IN_FLIGHT,
                "cluster: too many requests from other nodes at once; one left unanswered"
            );
            return;
        }
        let timeout = Duration::from_millis(u64::from(timeout_ms)).min(MAX_ASK_TIMEOUT);
        let sparks = local_sparks_reached(&self.local, &target);
        tokio::spawn(async move {
            let asks = sparks.iter().map(|spark| async {
                let outcome = match spark.request_message(&event, timeout).await {
                    Ok(message) => Outcome::Replied {
                        binary: message.is_binary(),
                        frame: message.into_frame().bytes().clone(),
                    },
                    Err(RequestError::Timeout(_)) => Outcome::TimedOut,
                    Err(RequestError::Closed) => Outcome::Closed,
                    Err(RequestError::Rejected(reason)) => Outcome::Refused(reason),
                    Err(other) => Outcome::Failed(other.to_string()),
                };
                (Arc::<str>::from(spark.id()), outcome)
            });
            let replies = futures_util::future::join_all(asks).await;
            node.answer(origin, request, Reply::Replies(replies));
            node.asks_in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }

    /// Checks the parser and the sequence of an envelope from another node.
    fn peer_accepts(&self, envelope: &Envelope) -> bool {
        let mut peers = lock::lock(&self.peers);
        if peers.len() >= MAX_PEERS && !peers.contains_key(&envelope.origin) {
            peers.clear();
        }
        let peer = peers.entry(envelope.origin).or_default();
        peer.last_seen = Some(Instant::now());
        let ours = self.parser.get().copied().unwrap_or_default();
        let carries_frames = match &envelope.body {
            Body::Deliver { .. } | Body::End { .. } => true,
            Body::Answer { reply, .. } => matches!(reply, Reply::Replies(_)),
            Body::Query { .. } => false,
        };
        if carries_frames && envelope.parser != ours {
            if !peer.parser_refused {
                peer.parser_refused = true;
                tracing::error!(
                    node = %envelope.origin,
                    theirs = %envelope.parser.escape_debug(),
                    ours,
                    "cluster: refusing messages from a node with another parser (every node of a cluster needs the same parser)"
                );
            }
            self.health.refused.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if peer.last_sequence != 0 && envelope.sequence > peer.last_sequence + 1 {
            let missed = envelope.sequence - peer.last_sequence - 1;
            self.health.missed.fetch_add(missed, Ordering::Relaxed);
            tracing::debug!(node = %envelope.origin, missed, "cluster: envelopes from a node were lost");
        }
        peer.last_sequence = peer.last_sequence.max(envelope.sequence);
        true
    }

    /// One heartbeat: the alive key, the registry when it needs rewriting,
    /// and reaping dead nodes.
    async fn beat(&self, commands: &mut ConnectionManager) -> Result<(), redis::RedisError> {
        let id = self.id.to_string();
        let ttl = self.config.node_ttl.as_millis() as u64;
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.names.alive(&id))
            .arg(1)
            .arg("PX")
            .arg(ttl)
            .ignore();
        pipe.cmd("SADD").arg(&self.names.nodes).arg(&id).ignore();
        let resync = self.resync.swap(false, Ordering::Relaxed);
        if resync {
            let own = self.names.sparks_of(&id);
            pipe.cmd("DEL").arg(&own).ignore();
            for spark in self.local.sparks() {
                pipe.cmd("HSET")
                    .arg(&self.names.sparks)
                    .arg(spark.id())
                    .arg(&id)
                    .ignore();
                pipe.cmd("SADD").arg(&own).arg(spark.id()).ignore();
            }
        }
        if let Err(error) = pipe.query_async::<()>(commands).await {
            if resync {
                self.resync.store(true, Ordering::Relaxed);
            }
            return Err(error);
        }
        let nodes: Vec<String> = redis::cmd("SMEMBERS")
            .arg(&self.names.nodes)
            .query_async(commands)
            .await?;
        for node in nodes.iter().filter(|node| **node != id) {
            let reaped: i64 = redis::cmd("EVAL")
                .arg(REAP)
                .arg(4)
                .arg(self.names.alive(node))
                .arg(self.names.sparks_of(node))
                .arg(&self.names.sparks)
                .arg(&self.names.nodes)
                .arg(node)
                .query_async(commands)
                .await?;
            if reaped >= 0 {
                tracing::info!(node = %node.escape_debug(), sparks = reaped, "cluster: a node stopped refreshing its alive key; its sparks left the registry");
            }
        }
        Ok(())
    }

    pub(crate) async fn locate(&self, spark_id: &str) -> Result<Option<String>, redis::RedisError> {
        let Some(mut commands) = self.commands.get().cloned() else {
            return Ok(None);
        };
        let node: Option<String> = redis::cmd("HGET")
            .arg(&self.names.sparks)
            .arg(spark_id)
            .query_async(&mut commands)
            .await?;
        let Some(node) = node else { return Ok(None) };
        let alive: bool = redis::cmd("EXISTS")
            .arg(self.names.alive(&node))
            .query_async(&mut commands)
            .await?;
        Ok(alive.then_some(node))
    }

    /// Asks every other node `question`; returns the answers that came
    /// within `wait` and how many nodes were expected.
    async fn ask(&self, question: Question, wait: Duration) -> (Vec<Reply>, usize) {
        let others = self.other_nodes().await;
        if others == 0 {
            return (Vec::new(), 0);
        }
        let request = self.next_question.fetch_add(1, Ordering::Relaxed);
        let (answers, mut replies) = mpsc::unbounded_channel();
        lock::lock(&self.asked).insert(request, Asked { answers });
        self.publish(Body::Query { request, question });
        let mut gathered = Vec::new();
        let now = tokio::time::Instant::now();
        // A wait too long to add ("no timeout") waits a year instead.
        let deadline = now
            .checked_add(wait)
            .unwrap_or_else(|| now + Duration::from_secs(365 * 24 * 3600));
        while gathered.len() < others {
            match tokio::time::timeout_at(deadline, replies.recv()).await {
                Ok(Some(reply)) => gathered.push(reply),
                _ => break,
            }
        }
        lock::lock(&self.asked).remove(&request);
        (gathered, others)
    }

    /// How many other nodes listen on the broadcast channel; when Redis
    /// cannot say, the nodes heard from within the node TTL.
    async fn other_nodes(&self) -> usize {
        if let Some(mut commands) = self.commands.get().cloned() {
            let counted: Result<(String, usize), _> = redis::cmd("PUBSUB")
                .arg("NUMSUB")
                .arg(&self.names.broadcast)
                .query_async(&mut commands)
                .await;
            if let Ok((_, subscribers)) = counted {
                return subscribers.saturating_sub(1);
            }
        }
        let ttl = self.config.node_ttl;
        lock::lock(&self.peers)
            .values()
            .filter(|peer| peer.last_seen.is_some_and(|seen| seen.elapsed() < ttl))
            .count()
    }

    pub(crate) async fn count_everywhere(&self) -> ClusterAnswer<usize> {
        let (replies, others) = self.ask(Question::Connected, self.config.request_timeout).await;
        let mut total = self.local.len();
        for reply in &replies {
            if let Reply::Count(count) = reply {
                total += *count as usize;
            }
        }
        ClusterAnswer {
            value: total,
            nodes_answered: 1 + replies.len(),
            nodes_expected: 1 + others,
        }
    }

    pub(crate) async fn members_everywhere(&self, room: String) -> ClusterAnswer<Vec<Arc<str>>> {
        let (replies, others) = self
            .ask(Question::Members(room.clone()), self.config.request_timeout)
            .await;
        let mut members: BTreeSet<Arc<str>> = self.local.members(&room).into_iter().collect();
        for reply in replies.iter() {
            if let Reply::Members(ids) = reply {
                members.extend(ids.iter().cloned());
            }
        }
        ClusterAnswer {
            value: members.into_iter().collect(),
            nodes_answered: 1 + replies.len(),
            nodes_expected: 1 + others,
        }
    }

    /// Asks the sparks `target` names on the other nodes; waits for their
    /// answers at most `timeout` plus the request timeout.
    pub(crate) async fn request_everywhere(
        &self,
        event: serde_json::Value,
        target: Target,
        timeout: Duration,
    ) -> ClusterAnswer<RemoteReplies> {
        let event = match serde_json::to_vec(&event) {
            Ok(json) => Bytes::from(json),
            Err(_) => return ClusterAnswer::local(RemoteReplies::new()),
        };
        let question = Question::Ask {
            target,
            timeout_ms: timeout.as_millis().min(u128::from(u32::MAX)) as u32,
            event,
        };
        let (answers, others) = self
            .ask(question, timeout.saturating_add(self.config.request_timeout))
            .await;
        let nodes_answered = 1 + answers.len();
        let mut value = RemoteReplies::new();
        for answer in answers {
            let Reply::Replies(replies) = answer else { continue };
            for (id, outcome) in replies {
                let result = match outcome {
                    Outcome::Replied { binary: true, frame } => Ok(Frame::binary(frame)),
                    Outcome::Replied { binary: false, frame } => Frame::text_from_bytes(frame)
                        .map_err(|_| RequestError::Remote("a reply that is not UTF-8 text".to_owned())),
                    Outcome::TimedOut => Err(RequestError::Timeout(timeout)),
                    Outcome::Closed => Err(RequestError::Closed),
                    Outcome::Refused(reason) => Err(RequestError::Rejected(reason)),
                    Outcome::Failed(reason) => Err(RequestError::Remote(reason)),
                };
                value.push((id, result));
            }
        }
        ClusterAnswer {
            value,
            nodes_answered,
            nodes_expected: 1 + others,
        }
    }

    /// Leaves the cluster: stops the tasks, removes the node and its sparks
    /// from the registry (bounded by the command timeout).
    pub(crate) async fn shutdown(&self) {
        self.stop.send_replace(true);
        let Some(mut commands) = self.commands.get().cloned() else {
            return;
        };
        let id = self.id.to_string();
        let leave = async {
            redis::cmd("DEL")
                .arg(self.names.alive(&id))
                .query_async::<()>(&mut commands)
                .await?;
            redis::cmd("EVAL")
                .arg(REAP)
                .arg(4)
                .arg(self.names.alive(&id))
                .arg(self.names.sparks_of(&id))
                .arg(&self.names.sparks)
                .arg(&self.names.nodes)
                .arg(&id)
                .query_async::<i64>(&mut commands)
                .await
        };
        match tokio::time::timeout(self.config.command_timeout, leave).await {
            Ok(Ok(_)) => tracing::info!(node = %self.id, "cluster: left"),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cluster: could not leave the registry; the node TTL will")
            }
            Err(_) => tracing::warn!("cluster: Redis did not answer in time on leaving; the node TTL will"),
        }
    }
}

/// Drains the outbox: up to [`BATCH`] operations per pipeline, in order; a
/// failed pipeline is dropped (and counted), never retried, so an outage
/// cannot build a backlog.
async fn publisher(
    node: std::sync::Weak<Node>,
    mut commands: ConnectionManager,
    mut outbox: mpsc::UnboundedReceiver<Op>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    while outbox.recv_many(&mut batch, BATCH).await > 0 {
        let Some(node) = node.upgrade() else { return };
        if *node.stop.borrow() {
            return;
        }
        let id = node.id.to_string();
        let own = node.names.sparks_of(&id);
        let mut pipe = redis::pipe();
        let mut publishes = 0u64;
        let mut weight = 0;
        for op in &batch {
            weight += op.weight();
            match op {
                Op::Publish { channel, envelope } => {
                    publishes += 1;
                    pipe.cmd("PUBLISH").arg(channel).arg(envelope.as_ref()).ignore();
                }
                Op::Register(spark) => {
                    pipe.cmd("HSET")
                        .arg(&node.names.sparks)
                        .arg(&**spark)
                        .arg(&id)
                        .ignore();
                    pipe.cmd("SADD").arg(&own).arg(&**spark).ignore();
                }
                Op::Unregister(spark) => {
                    pipe.cmd("EVAL")
                        .arg(UNREGISTER)
                        .arg(2)
                        .arg(&node.names.sparks)
                        .arg(&own)
                        .arg(&**spark)
                        .arg(&id)
                        .ignore();
                }
            }
        }
        let registry_ops = batch.len() as u64 - publishes;
        batch.clear();
        match pipe.query_async::<()>(&mut commands).await {
            Ok(()) => {
                node.health.published.fetch_add(publishes, Ordering::Relaxed);
                node.health.publish_ok();
            }
            Err(error) => {
                node.health.publish_failed(&error, publishes);
                if registry_ops > 0 {
                    node.resync.store(true, Ordering::Relaxed);
                }
            }
        }
        node.queued_bytes.fetch_sub(weight, Ordering::AcqRel);
    }
}

/// Every heartbeat interval: the alive key and the registry ([`Node::beat`]),
/// and a PING on the subscription, which is what makes a subscription that
/// lost Redis reconnect and resubscribe.
async fn heartbeat(
    node: std::sync::Weak<Node>,
    mut commands: ConnectionManager,
    mut subscriber: ConnectionManager,
    mut stop: watch::Receiver<bool>,
) {
    let Some(interval) = node.upgrade().map(|node| node.config.heartbeat_interval) else {
        return;
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        let Some(node) = node.upgrade() else { return };
        if *node.stop.borrow() {
            return;
        }
        let timeout = node.config.command_timeout;
        match tokio::time::timeout(timeout, redis::cmd("PING").query_async::<String>(&mut subscriber)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                node.health.subscribed(false);
                node.health.error(&error);
            }
            Err(_) => node.health.subscribed(false),
        }
        match tokio::time::timeout(timeout * 2, node.beat(&mut commands)).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                node.health.error(&error);
                tracing::debug!(%error, "cluster: heartbeat failed");
            }
            Err(_) => tracing::debug!("cluster: heartbeat timed out"),
        }
    }
}
