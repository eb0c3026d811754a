//! Sessions of the HTTP transports (SockJS' `xhr`, `xhr_streaming` and
//! `eventsource`, engine.io's polling): a session outlives the requests
//! that carry it.
//!
//! One task per session owns its [`Connection`]: it takes what the handlers
//! write, wraps each message into a packet of the transport (once per
//! frame: `SessionSettings::packets`) in the session's outgoing list, and hands
//! the client's messages (from the requests that send) to the connection.
//! Receivers (the polling and streaming responses, or a WebSocket the
//! session was upgraded to) attach one at a time and take the packets.
//!
//! A session whose client has had no receiver for `disconnect_delay` is
//! abandoned: its connection ends. When the server closes a session, it
//! becomes CLOSING: what was queued, then `primus::server::close` (if
//! announced), then the close packet are still delivered to the next
//! receivers, and the session is forgotten `disconnect_delay` after the
//! last receiver left.

use super::body::Held;
use super::packet_maker::PacketMaker;
use crate::pipeline::{Connection, Work};
use crate::spark::SparkError;
use crate::wire::Frame;
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

/// The sessions of one server, by session id, and how many each client
/// address holds.
#[derive(Default)]
pub(super) struct Sessions {
    map: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    by_id: HashMap<String, Arc<Session>>,
    per_address: HashMap<IpAddr, usize>,
    /// Ids of sessions being opened (see [`Sessions::claim`]).
    opening: HashSet<String>,
}

/// An id claimed for a session being opened; released when dropped (by
/// then the session is known by its id, or was not opened).
pub(super) struct Claim<'a> {
    sessions: &'a Sessions,
    id: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        crate::lock::lock(&self.sessions.map).opening.remove(&self.id);
    }
}

impl Sessions {
    /// The session with this id, if it is known.
    pub(super) fn get(&self, id: &str) -> Option<Arc<Session>> {
        crate::lock::lock(&self.map).by_id.get(id).cloned()
    }

    /// Adds a session; false when one with this id exists already.
    fn insert(&self, id: &str, session: &Arc<Session>) -> bool {
        let mut known = crate::lock::lock(&self.map);
        if known.by_id.contains_key(id) {
            return false;
        }
        known.by_id.insert(id.to_owned(), session.clone());
        if let Some(address) = session.address {
            *known.per_address.entry(address).or_default() += 1;
        }
        true
    }

    /// Forgets the session, if `id` still names this one.
    fn remove(&self, id: &str, session: &Arc<Session>) {
        let mut known = crate::lock::lock(&self.map);
        if !known.by_id.get(id).is_some_and(|held| Arc::ptr_eq(held, session)) {
            return;
        }
        known.by_id.remove(id);
        if let Some(address) = session.address {
            if let Some(count) = known.per_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    known.per_address.remove(&address);
                }
            }
        }
    }

    /// Claims `id` for a session about to be opened: `None` when a session
    /// with this id exists or is being opened by a concurrent request, so
    /// that two first requests for one id open one connection, not a
    /// second one that would connect and end at once.
    pub(super) fn claim(&self, id: &str) -> Option<Claim<'_>> {
        let mut known = crate::lock::lock(&self.map);
        if known.by_id.contains_key(id) || !known.opening.insert(id.to_owned()) {
            return None;
        }
        Some(Claim {
            sessions: self,
            id: id.to_owned(),
        })
    }

    /// How many sessions are known (open or closing).
    pub(super) fn len(&self) -> usize {
        crate::lock::lock(&self.map).by_id.len()
    }

    /// How many of them were opened from `address`.
    pub(super) fn held_by(&self, address: IpAddr) -> usize {
        crate::lock::lock(&self.map)
            .per_address
            .get(&address)
            .copied()
            .unwrap_or(0)
    }
}

/// One session's state, shared by its task and its receivers.
pub(super) struct Session {
    /// The client's address, counted against `max_sessions_per_address`.
    address: Option<IpAddr>,
    outgoing: Mutex<Outgoing>,
    opening: Option<Bytes>,
    /// Wakes the receiver waiting for frames.
    ready: Notify,
    /// Wakes the session's task: a receiver came, went or took frames.
    changed: Notify,
    /// The client's messages, from the requests that send, to the
    /// session's task, with the budget their bytes hold.
    inbound: mpsc::Sender<Batch>,
}

struct Outgoing {
    /// The opening packet was taken by a receiver (or there is none).
    opened: bool,
    /// The attached receiver is asked to give its place up (see
    /// [`Session::reserve`]).
    kicked: bool,
    /// Only [`Session::attach_reserved`] may attach now.
    reserved: bool,
    /// An upgrade is being probed: receivers (polls) are answered at once
    /// with [`Take::Kicked`] (engine.io's noop) so the client can pause.
    upgrading: bool,
    /// The client went away (a WebSocket receiver saw it close).
    gone: bool,
    /// Quoted messages not taken yet.
    messages: Vec<Bytes>,
    bytes: usize,
    /// The close frame, once the session is closing.
    close: Option<Bytes>,
    /// A receiver is attached.
    receiver: bool,
    /// When the last receiver left (or the session was made).
    detached_at: Instant,
}

/// What a receiver found in the session.
pub(super) enum Take {
    /// The opening packet (the first thing a session sends, if it has one).
    Open(Bytes),
    /// Packets, in order.
    Messages(Vec<Bytes>),
    /// The close packet: the session is closing and nothing else is left.
    Close(Bytes),
    /// The receiver is asked to give its place up (the session is being
    /// upgraded to a WebSocket).
    Kicked,
    /// Nothing yet.
    Nothing,
}

/// Why a receiver could not attach.
#[derive(Debug)]
pub(super) struct AnotherReceiver;

/// A receiver's hold on its session; dropping it detaches.
pub(super) struct Attached {
    session: Arc<Session>,
}

impl Drop for Attached {
    fn drop(&mut self) {
        {
            let mut outgoing = crate::lock::lock(&self.session.outgoing);
            outgoing.receiver = false;
            outgoing.detached_at = Instant::now();
        }
        self.session.changed.notify_one();
    }
}

impl Attached {
    /// Takes what is waiting for the client, if anything.
    pub(super) fn take(&self) -> Take {
        let taken = {
            let mut outgoing = crate::lock::lock(&self.session.outgoing);
            if !outgoing.opened {
                outgoing.opened = true;
                if let Some(opening) = &self.session.opening {
                    return Take::Open(opening.clone());
                }
            }
            if std::mem::take(&mut outgoing.kicked) || outgoing.upgrading {
                return Take::Kicked;
            }
            if !outgoing.messages.is_empty() {
                outgoing.bytes = 0;
                Take::Messages(std::mem::take(&mut outgoing.messages))
            } else if let Some(close) = &outgoing.close {
                return Take::Close(close.clone());
            } else {
                return Take::Nothing;
            }
        };
        // The task may have stopped taking work while the list was full.
        self.session.changed.notify_one();
        taken
    }

    /// Waits until something may be waiting (or for at most `limit`).
    /// False when `limit` passed first (time for a heartbeat).
    pub(super) async fn wait(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.session.ready.notified())
            .await
            .is_ok()
    }
}

/// Messages of one request (or one WebSocket frame) on their way to the
/// session's task.
pub(super) struct Batch {
    frames: std::collections::VecDeque<Frame>,
    /// The budget the request's bytes hold, given back once every message
    /// was handed over (or the session ended).
    _held: Held,
}

/// How a session is set up by its transport.
#[derive(Debug, Clone)]
pub(super) struct SessionSettings {
    /// How long a session lives without a receiver.
    pub(super) disconnect_delay: Duration,
    /// Bytes of packets held for the client before the session stops
    /// taking more (its spark's queue then fills, and the server's
    /// slow-consumer rule applies).
    pub(super) outgoing_budget: usize,
    /// The first thing the first receiver takes (SockJS' `o`), if any.
    pub(super) opening: Option<Bytes>,
    /// A packet added every interval whatever else is sent (engine.io's
    /// ping), if any.
    pub(super) keepalive: Option<(Duration, Bytes)>,
    /// Messages as packets of the transport, made once per frame (a
    /// broadcast is wrapped once for all its sessions); `None` when the
    /// transport cannot carry one (the spark gets an `error`).
    pub(super) packets: Arc<PacketMaker>,
    /// The last packet of a session the server closed.
    pub(super) close: Bytes,
    /// Called once the session is forgotten (what a transport keeps beside
    /// its sessions goes with them).
    pub(super) on_end: Option<OnEnd>,
}

/// What a transport does when one of its sessions is forgotten (given the
/// session's id).
#[derive(Clone)]
pub(super) struct OnEnd(pub(super) Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for OnEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnEnd")
    }
}

/// Messages that `xhr_send` may hand to a session before it waits.
const INBOUND_BATCHES: usize = 4;

impl Session {
    /// Makes a session for `connection`, registers it as `id` and starts
    /// its task. `None` when a session with this id exists already.
    pub(super) fn start(
        id: &str,
        connection: Connection,
        sessions: &Arc<Sessions>,
        settings: SessionSettings,
    ) -> Option<Arc<Session>> {
        let (inbound, receiver) = mpsc::channel(INBOUND_BATCHES);
        let session = Arc::new(Session {
            address: connection.spark().address().ip,
            outgoing: Mutex::new(Outgoing {
                opened: false,
                kicked: false,
                reserved: false,
                upgrading: false,
                gone: false,
                messages: Vec::new(),
                bytes: 0,
                close: None,
                receiver: false,
                detached_at: Instant::now(),
            }),
            opening: settings.opening.clone(),
            ready: Notify::new(),
            changed: Notify::new(),
            inbound,
        });
        if !sessions.insert(id, &session) {
            // The connection was opened for nothing: end it at once.
            tokio::spawn(async move {
                connection.mark_closed();
                connection.finish().await;
            });
            return None;
        }
        let task = Task {
            session: session.clone(),
            connection,
            inbound: receiver,
            settings,
        };
        let (sessions, id) = (sessions.clone(), id.to_owned());
        let on_end = task.settings.on_end.clone();
        tokio::spawn(async move {
            let session = task.session.clone();
            task.run().await;
            sessions.remove(&id, &session);
            if let Some(OnEnd(on_end)) = on_end {
                on_end(&id);
            }
        });
        Some(session)
    }

    /// Attaches a receiver; refused while another one is attached, and
    /// once the session is reserved.
    pub(super) fn attach(self: &Arc<Session>) -> Result<Attached, AnotherReceiver> {
        self.attach_if(false)
    }

    /// Reserves the session for one receiver to come (a WebSocket it is
    /// upgraded to): other receivers are refused from now on, and the one
    /// attached is asked to give its place up ([`Take::Kicked`]).
    pub(super) fn reserve(&self) {
        {
            let mut outgoing = crate::lock::lock(&self.outgoing);
            outgoing.reserved = true;
            outgoing.upgrading = false;
            outgoing.kicked = outgoing.receiver;
        }
        self.ready.notify_one();
    }

    /// An upgrade is being probed: the receiver attached now, and every one
    /// that attaches until [`reserve`](Self::reserve) or
    /// [`upgrade_failed`](Self::upgrade_failed), takes [`Take::Kicked`] at
    /// once (engine.io answers polls with a noop meanwhile).
    pub(super) fn upgrading(&self) {
        crate::lock::lock(&self.outgoing).upgrading = true;
        self.ready.notify_one();
    }

    /// The upgrade failed: receivers attach and take packets as before.
    pub(super) fn upgrade_failed(&self) {
        {
            let mut outgoing = crate::lock::lock(&self.outgoing);
            outgoing.reserved = false;
            outgoing.kicked = false;
            outgoing.upgrading = false;
        }
        self.changed.notify_one();
    }

    /// Attaches the receiver the session was reserved for, once the one
    /// attached before has left (waits at most `limit`).
    pub(super) async fn attach_reserved(
        self: &Arc<Session>,
        limit: Duration,
    ) -> Result<Attached, AnotherReceiver> {
        let deadline = Instant::now() + limit;
        loop {
            match self.attach_if(true) {
                Ok(attached) => return Ok(attached),
                Err(busy) if Instant::now() >= deadline => return Err(busy),
                Err(_) => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        }
    }

    fn attach_if(self: &Arc<Session>, reserved: bool) -> Result<Attached, AnotherReceiver> {
        {
            let mut outgoing = crate::lock::lock(&self.outgoing);
            if outgoing.receiver || outgoing.reserved != reserved {
                return Err(AnotherReceiver);
            }
            outgoing.receiver = true;
            // A request to give way was for the receiver before this one.
            outgoing.kicked = false;
        }
        self.changed.notify_one();
        Ok(Attached {
            session: self.clone(),
        })
    }

    /// The client is gone (its WebSocket closed, or it sent a close
    /// packet): the session ends now instead of after `disconnect_delay`.
    pub(super) fn client_gone(&self) {
        crate::lock::lock(&self.outgoing).gone = true;
        self.changed.notify_one();
    }

    /// Hands the client's messages to the session (waits while the
    /// session's handlers are behind). False when the session has ended.
    pub(super) async fn send(&self, frames: Vec<Frame>, held: Held) -> bool {
        if frames.is_empty() {
            return true;
        }
        let batch = Batch {
            frames: frames.into(),
            _held: held,
        };
        self.inbound.send(batch).await.is_ok()
    }

    /// True while a receiver is attached.
    pub(super) fn has_receiver(&self) -> bool {
        crate::lock::lock(&self.outgoing).receiver
    }

    /// True once the session is closing.
    pub(super) fn is_closing(&self) -> bool {
        crate::lock::lock(&self.outgoing).close.is_some()
    }

    fn push(&self, quoted: Bytes) -> usize {
        let bytes = {
            let mut outgoing = crate::lock::lock(&self.outgoing);
            outgoing.bytes += quoted.len();
            outgoing.messages.push(quoted);
            outgoing.bytes
        };
        self.ready.notify_one();
        bytes
    }

    fn set_close(&self, frame: Bytes) {
        crate::lock::lock(&self.outgoing).close = Some(frame);
        self.ready.notify_one();
    }

    /// Bytes held, and when the session is abandoned if no receiver comes
    /// (`None` while one is attached; now once the client is gone).
    fn status(&self, disconnect_delay: Duration) -> (usize, Option<Instant>) {
        let outgoing = crate::lock::lock(&self.outgoing);
        let deadline = match (outgoing.gone, outgoing.receiver) {
            (true, _) => Some(Instant::now()),
            (false, true) => None,
            (false, false) => Some(outgoing.detached_at + disconnect_delay),
        };
        (outgoing.bytes, deadline)
    }
}

/// The task that owns one session's connection.
struct Task {
    session: Arc<Session>,
    connection: Connection,
    inbound: mpsc::Receiver<Batch>,
    settings: SessionSettings,
}

/// Far enough away to mean "no deadline".
const NEVER: Duration = Duration::from_secs(365 * 24 * 3600);

impl Task {
    async fn run(mut self) {
        let watch = self.connection.close_watch();
        let close = watch.requested();
        tokio::pin!(close);
        let mut blocked = false;
        let period = self
            .settings
            .keepalive
            .as_ref()
            .map_or(NEVER, |(period, _)| *period);
        let mut keepalive = tokio::time::interval_at(Instant::now() + period, period);
        keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The batch being handed to the connection: a message at a time
        // while it can take more, so a request with many messages cannot
        // queue past the pipeline's limit (its bytes stay held meanwhile).
        let mut backlog: Option<Batch> = None;
        let request = loop {
            if let Some(batch) = backlog.as_mut() {
                while self.connection.can_receive() {
                    let Some(frame) = batch.frames.pop_front() else {
                        break;
                    };
                    self.connection.receive(frame);
                }
                if batch.frames.is_empty() {
                    backlog = None;
                }
                self.connection.poll_handlers_once().await;
            }
            let (held, deadline) = self.session.status(self.settings.disconnect_delay);
            let full = held >= self.settings.outgoing_budget;
            // The client takes nothing: its spark's queue fills behind this
            // session, and a session blocked for a heartbeat interval ends.
            if full != blocked {
                blocked = full;
                match full {
                    true => self.connection.write_blocked(),
                    false => self.connection.write_unblocked(),
                }
            }
            let abandon = tokio::time::sleep_until(deadline.unwrap_or_else(|| Instant::now() + NEVER));
            tokio::select! {
                biased;
                request = &mut close => break Some(request),
                batch = self.inbound.recv(), if backlog.is_none() && self.connection.can_receive() => {
                    backlog = batch;
                }
                work = self.connection.work(), if !full => {
                    if let Work::Outbound(item) = work {
                        self.queue(item).await;
                        while let Some(item) = self.connection.try_outbound() {
                            self.queue(item).await;
                        }
                    }
                }
                () = self.session.changed.notified() => {}
                _ = keepalive.tick() => {
                    if let Some((_, packet)) = &self.settings.keepalive {
                        self.session.push(packet.clone());
                    }
                }
                () = abandon => break None,
            }
        };
        if blocked {
            self.connection.write_unblocked();
        }
        let Task {
            session,
            mut connection,
            settings,
            ..
        } = self;
        match request {
            None => {
                tracing::debug!(
                    spark = connection.spark().id(),
                    "session abandoned or its client gone"
                );
                // A receiver still attached (a poll the client left behind
                // when it closed) ends with the close packet.
                session.set_close(settings.close.clone());
                connection.mark_closed();
                connection.finish().await;
            }
            Some(request) => {
                // CLOSING: what was written, the announcement, then the close
                // frame stay for the next receivers.
                while let Some(item) = connection.try_outbound() {
                    if let Some(frame) = connection.prepare(item).await {
                        push_frame(&session, &connection, &settings, &frame);
                    }
                }
                if request.announce {
                    push_frame(&session, &connection, &settings, &connection.server_close_frame());
                }
                session.set_close(settings.close.clone());
                connection.mark_closed();
                connection.finish().await;
                // Kept until no receiver has come for `disconnect_delay`.
                loop {
                    let (_, deadline) = session.status(settings.disconnect_delay);
                    let until = deadline.unwrap_or_else(|| Instant::now() + NEVER);
                    tokio::select! {
                        () = tokio::time::sleep_until(until) => break,
                        () = session.changed.notified() => {}
                    }
                }
            }
        }
    }

    async fn queue(&mut self, item: crate::spark::Outbound) {
        if let Some(frame) = self.connection.prepare(item).await {
            push_frame(&self.session, &self.connection, &self.settings, &frame);
        }
    }
}

fn push_frame(session: &Session, connection: &Connection, settings: &SessionSettings, frame: &Frame) {
    match settings.packets.packet(frame) {
        Some(packet) => {
            session.push(packet);
        }
        None => connection.report(SparkError::Transport(
            "this transport carries text only: a binary message was dropped".into(),
        )),
    }
}
