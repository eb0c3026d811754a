//! The load generator: opens connections and drives them.
//!
//! Each connection is driven by one task that owns its socket (no channels,
//! no per-message allocation): it reads whatever arrived, handles every
//! complete frame in the buffer, answers Primus pings, and writes everything
//! it has to send in one `write`. Requests are encoded and masked once per
//! run ([`crate::wire::client_frame`]) and copied per send.
//!
//! Every driver is bounded: it stops when the [`Gate`] says so (the scenario
//! holds a deadline), and every wait on the network has a timeout.
//!
//! * [`echo`]: a window of requests in flight per connection, either closed
//!   loop (a reply triggers the next request: peak throughput) or at a fixed
//!   rate per connection (open loop, with a cap on requests in flight).
//!   Round trips are timed from the write to the reply.
//! * [`broadcast_receiver`] / [`broadcast_trigger`]: one trigger connection
//!   asks for broadcasts, every connection counts deliveries; at most
//!   `window` broadcasts are incomplete at any time, so no client falls more
//!   than `window` messages behind.
//! * [`hold`]: keeps a connection open and answers pings (idle scenario).

use crate::latency::Samples;
use crate::wire::{self, handle, Conn, Incoming, WireError};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long one connection may take to open (TCP, upgrade, first echo).
pub const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Tells the drivers when to count and when to stop.
#[derive(Debug, Clone)]
pub struct Gate {
    measuring: Arc<AtomicBool>,
    stop: watch::Receiver<bool>,
}

/// The scenario's side of a [`Gate`].
#[derive(Debug)]
pub struct GateControl {
    measuring: Arc<AtomicBool>,
    stop: watch::Sender<bool>,
}

/// A new gate: not measuring, not stopped.
pub fn gate() -> (GateControl, Gate) {
    let measuring = Arc::new(AtomicBool::new(false));
    let (stop, stop_rx) = watch::channel(false);
    (
        GateControl {
            measuring: measuring.clone(),
            stop,
        },
        Gate {
            measuring,
            stop: stop_rx,
        },
    )
}

impl GateControl {
    /// Drivers count from now on.
    pub fn start_measuring(&self) {
        self.measuring.store(true, Ordering::SeqCst);
    }

    /// Drivers stop counting.
    pub fn stop_measuring(&self) {
        self.measuring.store(false, Ordering::SeqCst);
    }

    /// Drivers return.
    pub fn stop(&self) {
        self.stop.send_replace(true);
    }
}

impl Gate {
    /// True while the window is measured.
    pub(crate) fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }

    /// A receiver that turns `true` when the drivers must return.
    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stop.clone()
    }
}

/// Waits until the gate is stopped (never returns early).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// What a driver hands back.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Replies (echo) or deliveries (broadcast) counted while measuring.
    pub count: u64,
    /// Broadcasts sent while measuring (trigger only).
    pub sent: u64,
    /// Round trips (echo) or send-to-delivery times (broadcast) measured.
    pub samples: Samples,
    /// Replies that did not match the request.
    pub mismatches: u64,
    /// Fixed-rate sends skipped because too many requests were in flight.
    pub skipped: u64,
    /// Transport scenarios: how many times data arrived while measuring (a
    /// poll's answer, a read of a stream or a socket), for the messages each
    /// one carried.
    pub arrivals: u64,
    /// Why the driver stopped early, if it did.
    pub error: Option<String>,
    /// The connection, for closing.
    pub conn: Option<Conn>,
}

/// How to open one connection of a batch.
#[derive(Debug, Clone)]
pub struct OpenSpec {
    /// Query string of the upgrade request.
    pub query: String,
    /// An encoded request to send after the upgrade; the open completes when
    /// a data message comes back (so the server-side spark is fully up).
    pub probe: Option<Arc<[u8]>>,
    /// Initial read buffer of the connection.
    pub read_capacity: usize,
    /// Speak Socket.IO ([`Conn::open_socket_io`]: the query is not used)
    /// instead of Primus at `/primus/`.
    pub socket_io: bool,
    /// Offer permessage-deflate ([`Conn::open_compressed`]); the open fails
    /// unless the server accepts.
    pub compression: bool,
}

/// Opens `count` connections, `concurrency` at a time, until `deadline`.
/// Returns them in order and the time each took to open (upgrade and probe).
pub async fn open_many(
    addr: SocketAddr,
    count: usize,
    concurrency: usize,
    spec: impl Fn(usize) -> OpenSpec + Send + Sync + 'static,
    deadline: Instant,
) -> Result<(Vec<Conn>, Samples), String> {
    open_concurrently(count, concurrency, deadline, move |index, timeout| {
        let spec = spec(index);
        async move { open_one(addr, &spec, timeout).await }
    })
    .await
}

/// Opens `count` things (connections, sessions) with `open(index,
/// timeout)`, `concurrency` at a time, until `deadline`; returns them in
/// index order and the time each took. The first failure stops every
/// worker and is returned (what was opened is closed).
pub async fn open_concurrently<T, Fut>(
    count: usize,
    concurrency: usize,
    deadline: Instant,
    open: impl Fn(usize, Duration) -> Fut + Send + Sync + 'static,
) -> Result<(Vec<T>, Samples), String>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = Result<T, WireError>> + Send,
{
    let open = Arc::new(open);
    let next = Arc::new(AtomicUsize::new(0));
    let failure: Arc<Mutex<Option<String>>> = Arc::default();
    let mut workers = Vec::new();
    for _ in 0..concurrency.clamp(1, count.max(1)) {
        let (open, next, failure) = (open.clone(), next.clone(), failure.clone());
        workers.push(tokio::spawn(async move {
            let mut opened = Vec::new();
            let mut samples = Samples::default();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count || Instant::now() >= deadline || failure.lock().is_ok_and(|f| f.is_some()) {
                    break;
                }
                let started = Instant::now();
                let timeout = OPEN_TIMEOUT.min(deadline.saturating_duration_since(started));
                let result = tokio::time::timeout(timeout, open(index, timeout))
                    .await
                    .unwrap_or(Err(WireError::Timeout));
                match result {
                    Ok(item) => {
                        samples.record(started.elapsed());
                        opened.push((index, item));
                    }
                    Err(error) => {
                        if let Ok(mut failure) = failure.lock() {
                            failure.get_or_insert_with(|| format!("connection {index}: {error}"));
                        }
                        break;
                    }
                }
            }
            (opened, samples)
        }));
    }
    let mut items = Vec::with_capacity(count);
    let mut samples = Samples::with_capacity(count);
    for worker in workers {
        let (opened, worker_samples) = worker.await.map_err(|e| e.to_string())?;
        items.extend(opened);
        samples.merge(worker_samples);
    }
    if let Some(reason) = failure.lock().ok().and_then(|mut f| f.take()) {
        return Err(reason);
    }
    if items.len() < count {
        return Err(format!(
            "only {} of {count} connections opened before the deadline",
            items.len()
        ));
    }
    items.sort_by_key(|(index, _)| *index);
    Ok((items.into_iter().map(|(_, item)| item).collect(), samples))
}

async fn open_one(addr: SocketAddr, spec: &OpenSpec, timeout: Duration) -> Result<Conn, WireError> {
    let started = Instant::now();
    let mut conn = if spec.socket_io {
        Conn::open_socket_io(addr, spec.read_capacity, timeout).await?
    } else if spec.compression {
        Conn::open_compressed(addr, &spec.query, spec.read_capacity, timeout).await?
    } else {
        Conn::open(addr, &spec.query, spec.read_capacity, timeout).await?
    };
    if let Some(probe) = &spec.probe {
        conn.send(probe).await?;
        conn.next_data(timeout.saturating_sub(started.elapsed())).await?;
    }
    Ok(conn)
}

/// Resets every connection (see [`Conn::reset`]).
pub fn close_all(conns: impl IntoIterator<Item = Conn>) {
    for conn in conns {
        conn.reset();
    }
}

/// An echo load: what to send, what must come back, how fast.
#[derive(Debug)]
pub struct EchoPlan {
    /// One encoded, masked request frame.
    pub request: Arc<[u8]>,
    /// The payload every reply must have.
    pub reply: Arc<[u8]>,
    /// Requests in flight per connection (closed loop), or the cap on them
    /// (fixed rate).
    pub window: usize,
    /// `None`: closed loop (peak). `Some(period)`: one request per period
    /// per connection (open loop).
    pub period: Option<Duration>,
    /// Connections in the run (to spread fixed-rate sends over the period).
    pub conns: usize,
    /// Most requests one connection sends (the count bound of a run).
    pub max_sends: u64,
}

/// Drives one connection with an echo load until the gate stops.
pub async fn echo(conn: Conn, plan: Arc<EchoPlan>, gate: Gate, index: usize) -> Outcome {
    let mut outcome = Outcome::default();
    let mut conn = conn;
    let result = echo_loop(&mut conn, &plan, &gate, index, &mut outcome).await;
    if let Err(error) = result {
        outcome.error = Some(error.to_string());
    }
    outcome.conn = Some(conn);
    outcome
}

async fn echo_loop(
    conn: &mut Conn,
    plan: &EchoPlan,
    gate: &Gate,
    index: usize,
    outcome: &mut Outcome,
) -> Result<(), WireError> {
    let mut in_flight: VecDeque<Instant> = VecDeque::with_capacity(plan.window * 2);
    let mut sends = 0u64;
    let mut out: Vec<u8> = Vec::with_capacity(plan.request.len() * plan.window + 64);
    let mut next_send = Instant::now();
    match plan.period {
        None => {
            let first = (plan.window as u64).min(plan.max_sends);
            for _ in 0..first {
                out.extend_from_slice(&plan.request);
            }
            sends = first;
            let now = Instant::now();
            in_flight.extend(std::iter::repeat_n(now, first as usize));
            conn.send(&out).await?;
            out.clear();
        }
        Some(period) => {
            // Spread the connections' sends evenly over one period.
            next_send += period.mul_f64(index as f64 / plan.conns.max(1) as f64);
        }
    }
    let mut stop = gate.stop.clone();
    loop {
        let mut due = false;
        tokio::select! {
            biased;
            () = stopped(&mut stop) => return Ok(()),
            read = conn.reader.fill(&mut conn.stream) => {
                if read? == 0 {
                    return Err(WireError::Closed);
                }
            }
            () = tokio::time::sleep_until(next_send.into()), if plan.period.is_some() => due = true,
        }
        let measuring = gate.measuring();
        let now = Instant::now();
        let mut replies = 0;
        while let Some(frame) = conn.reader.next_frame()? {
            match handle(&conn.reader, frame, &mut out) {
                Incoming::Data(frame) => {
                    if conn.reader.payload(&frame) != &plan.reply[..] {
                        outcome.mismatches += 1;
                    }
                    let sent = in_flight.pop_front().unwrap_or(now);
                    if measuring {
                        outcome.samples.record(now.duration_since(sent));
                        outcome.count += 1;
                    }
                    replies += 1;
                }
                Incoming::Answered => {}
                Incoming::Closed => return Err(WireError::Closed),
            }
        }
        match plan.period {
            None => {
                for _ in 0..replies.min(plan.max_sends - sends) {
                    out.extend_from_slice(&plan.request);
                    in_flight.push_back(now);
                    sends += 1;
                }
            }
            Some(period) if due => {
                while next_send <= now {
                    if sends >= plan.max_sends {
                        // The count bound is reached: stop sending.
                        next_send = now + Duration::from_secs(3600);
                        break;
                    }
                    if in_flight.len() < plan.window {
                        out.extend_from_slice(&plan.request);
                        in_flight.push_back(now);
                        sends += 1;
                    } else if measuring {
                        outcome.skipped += 1;
                    }
                    next_send += period;
                }
            }
            Some(_) => {}
        }
        if !out.is_empty() {
            conn.send(&out).await?;
            out.clear();
        }
    }
}

/// Shared state of a broadcast run.
#[derive(Debug)]
pub struct BroadcastPlan {
    /// Connections, trigger included: every broadcast is delivered this often.
    pub conns: u64,
    /// Broadcasts that may be incomplete at once.
    pub window: u64,
    /// Most broadcasts sent in a run (the count bound).
    pub max_broadcasts: u64,
    /// Deliveries per broadcast sequence number, in a ring of `2 * window`.
    ring: Vec<AtomicU64>,
    /// When each broadcast of the ring was sent, in nanoseconds since `base`.
    sent_at: Vec<AtomicU64>,
    base: Instant,
    /// How a broadcast request is written.
    pub dialect: BroadcastDialect,
    /// Length of the broadcast JSON string (see [`broadcast_request`]).
    pub data_len: usize,
    /// `None`: send whenever the window allows (peak). `Some(period)`: one
    /// broadcast per period (fixed rate), window permitting.
    pub period: Option<Duration>,
    /// Cleared to make the trigger stop sending (before the drivers stop).
    sending: AtomicBool,
    /// Broadcasts sent so far.
    sent: AtomicU64,
}

impl BroadcastPlan {
    /// A plan for `conns` connections and `window` broadcasts in flight.
    pub fn new(
        conns: u64,
        window: u64,
        dialect: BroadcastDialect,
        data_len: usize,
        period: Option<Duration>,
    ) -> BroadcastPlan {
        let window = window.max(1);
        BroadcastPlan {
            conns,
            window,
            max_broadcasts: 10_000_000,
            ring: (0..window * 2).map(|_| AtomicU64::new(0)).collect(),
            sent_at: (0..window * 2).map(|_| AtomicU64::new(0)).collect(),
            base: Instant::now(),
            dialect,
            data_len,
            period,
            sending: AtomicBool::new(true),
            sent: AtomicU64::new(0),
        }
    }

    /// Makes the trigger stop sending.
    pub fn stop_sending(&self) {
        self.sending.store(false, Ordering::SeqCst);
    }

    /// True until [`stop_sending`](Self::stop_sending).
    pub(crate) fn sending(&self) -> bool {
        self.sending.load(Ordering::Relaxed)
    }

    /// Records that broadcasts `0..count` were sent.
    pub(crate) fn set_sent(&self, count: u64) {
        self.sent.store(count, Ordering::Release);
    }

    /// Broadcasts sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Acquire)
    }

    /// True when every broadcast sent so far reached every connection.
    pub fn settled(&self) -> bool {
        match self.sent() {
            0 => true,
            sent => self.slot(sent - 1).load(Ordering::Acquire) >= self.conns,
        }
    }

    fn index(&self, seq: u64) -> usize {
        (seq % self.ring.len() as u64) as usize
    }

    pub(crate) fn slot(&self, seq: u64) -> &AtomicU64 {
        &self.ring[self.index(seq)]
    }

    pub(crate) fn mark_sent(&self, seq: u64, at: Instant) {
        let nanos = at.duration_since(self.base).as_nanos() as u64;
        self.sent_at[self.index(seq)].store(nanos, Ordering::Release);
    }

    pub(crate) fn since_sent(&self, seq: u64, now: Instant) -> Duration {
        let sent = Duration::from_nanos(self.sent_at[self.index(seq)].load(Ordering::Acquire));
        now.duration_since(self.base).saturating_sub(sent)
    }

    /// True when broadcast `seq` may be sent: `seq - window` reached everyone.
    pub(crate) fn may_send(&self, seq: u64) -> bool {
        seq < self.max_broadcasts
            && (seq < self.window || self.slot(seq - self.window).load(Ordering::Acquire) >= self.conns)
    }
}

/// Broadcast payloads end with an 8-digit sequence number before the
/// closing quote of the JSON string: `"…00000042"` or `{…,"data":"…00000042"}`.
pub fn sequence_of(payload: &[u8]) -> Option<u64> {
    let quote = payload.iter().rposition(|b| *b == b'"')?;
    let digits = payload.get(quote.checked_sub(8)?..quote)?;
    digits.iter().try_fold(0u64, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// Counts broadcast deliveries on one connection until the gate stops.
pub async fn broadcast_receiver(conn: Conn, plan: Arc<BroadcastPlan>, gate: Gate) -> Outcome {
    broadcast_driver(conn, plan, gate, false).await
}

/// Sends broadcasts (keeping at most `window` incomplete) and counts its own
/// deliveries, until the gate stops.
pub async fn broadcast_trigger(conn: Conn, plan: Arc<BroadcastPlan>, gate: Gate) -> Outcome {
    broadcast_driver(conn, plan, gate, true).await
}

async fn broadcast_driver(conn: Conn, plan: Arc<BroadcastPlan>, gate: Gate, trigger: bool) -> Outcome {
    let mut outcome = Outcome::default();
    let mut conn = conn;
    if let Err(error) = broadcast_loop(&mut conn, &plan, &gate, trigger, &mut outcome).await {
        outcome.error = Some(error.to_string());
    }
    outcome.conn = Some(conn);
    outcome
}

async fn broadcast_loop(
    conn: &mut Conn,
    plan: &BroadcastPlan,
    gate: &Gate,
    trigger: bool,
    outcome: &mut Outcome,
) -> Result<(), WireError> {
    let mut stop = gate.stop.clone();
    let mut out = Vec::new();
    let mut next_seq = 0u64;
    // The trigger re-checks the window at least every millisecond.
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut next_due = Instant::now();
    loop {
        tokio::select! {
            biased;
            () = stopped(&mut stop) => return Ok(()),
            read = conn.reader.fill(&mut conn.stream) => {
                if read? == 0 {
                    return Err(WireError::Closed);
                }
            }
            _ = tick.tick(), if trigger => {}
        }
        let measuring = gate.measuring();
        let now = Instant::now();
        while let Some(frame) = conn.reader.next_frame()? {
            match handle(&conn.reader, frame, &mut out) {
                Incoming::Data(frame) => {
                    let seq = sequence_of(conn.reader.payload(&frame))
                        .ok_or_else(|| WireError::Protocol("broadcast without a sequence number".into()))?;
                    if measuring {
                        outcome.count += 1;
                        outcome.samples.record(plan.since_sent(seq, now));
                    }
                    plan.slot(seq).fetch_add(1, Ordering::AcqRel);
                }
                Incoming::Answered => {}
                Incoming::Closed => return Err(WireError::Closed),
            }
        }
        if trigger {
            let now = Instant::now();
            while plan.may_send(next_seq) && plan.sending.load(Ordering::Relaxed) {
                if let Some(period) = plan.period {
                    if next_due > now {
                        break;
                    }
                    next_due += period;
                }
                // The slot last held `next_seq - 2 * window`, complete since
                // `next_seq - window` is (each connection receives in order).
                plan.slot(next_seq).store(0, Ordering::Release);
                plan.mark_sent(next_seq, now);
                out.extend_from_slice(&broadcast_request(next_seq, plan.dialect, plan.data_len));
                next_seq += 1;
                plan.sent.store(next_seq, Ordering::Release);
                if measuring {
                    outcome.sent += 1;
                }
            }
            // A fixed rate does not burst to catch up after the window held it back.
            if let Some(period) = plan.period {
                if next_due + period < now {
                    next_due = now;
                }
            }
        }
        if !out.is_empty() {
            conn.send(&out).await?;
            out.clear();
        }
    }
}

/// Spawns the drivers of a broadcast run: connection 0 triggers the
/// broadcasts, every other one receives them.
pub fn spawn_broadcast_drivers(
    conns: Vec<Conn>,
    plan: &Arc<BroadcastPlan>,
    gate: &Gate,
) -> Vec<tokio::task::JoinHandle<Outcome>> {
    conns
        .into_iter()
        .enumerate()
        .map(|(index, conn)| {
            let (plan, gate) = (plan.clone(), gate.clone());
            if index == 0 {
                tokio::spawn(broadcast_trigger(conn, plan, gate))
            } else {
                tokio::spawn(broadcast_receiver(conn, plan, gate))
            }
        })
        .collect()
}

/// Keeps a connection open, answering pings, until the gate stops.
pub async fn hold(conn: Conn, gate: Gate) -> Outcome {
    let mut outcome = Outcome::default();
    let mut conn = conn;
    let mut stop = gate.stop.clone();
    let mut out = Vec::new();
    let result: Result<(), WireError> = async {
        loop {
            tokio::select! {
                biased;
                () = stopped(&mut stop) => return Ok(()),
                read = conn.reader.fill(&mut conn.stream) => {
                    if read? == 0 {
                        return Err(WireError::Closed);
                    }
                }
            }
            while let Some(frame) = conn.reader.next_frame()? {
                if let Incoming::Closed = handle(&conn.reader, frame, &mut out) {
                    return Err(WireError::Closed);
                }
            }
            if !out.is_empty() {
                conn.send(&out).await?;
                out.clear();
            }
        }
    }
    .await;
    if let Err(error) = result {
        outcome.error = Some(error.to_string());
    }
    outcome.conn = Some(conn);
    outcome
}

/// Waits for every driver (at most `timeout` in all), aborting stragglers,
/// and resets all connections.
pub async fn collect(handles: Vec<tokio::task::JoinHandle<Outcome>>, timeout: Duration) -> Vec<Outcome> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut outcomes = Vec::with_capacity(handles.len());
    for mut handle in handles {
        match tokio::time::timeout_at(deadline, &mut handle).await {
            Ok(Ok(mut outcome)) => {
                if let Some(conn) = outcome.conn.take() {
                    conn.reset();
                }
                outcomes.push(outcome);
            }
            Ok(Err(error)) => outcomes.push(Outcome {
                error: Some(format!("driver failed: {error}")),
                ..Outcome::default()
            }),
            Err(_) => {
                handle.abort();
                outcomes.push(Outcome {
                    error: Some("driver did not stop in time".into()),
                    ..Outcome::default()
                });
            }
        }
    }
    outcomes
}

/// How the trigger asks a server for a broadcast.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastDialect {
    /// A Primus message, the JSON string itself (raw data handlers).
    Primus,
    /// A typed Primus event: `{"event":"broadcast","data":"…"}`.
    PrimusTyped,
    /// A Socket.IO event packet: `42["broadcast","…"]` (delivered as
    /// `42["b","…"]`).
    SocketIo,
}

impl BroadcastDialect {
    /// The Primus dialect of a server: typed events or raw data.
    pub fn primus(typed: bool) -> BroadcastDialect {
        if typed {
            BroadcastDialect::PrimusTyped
        } else {
            BroadcastDialect::Primus
        }
    }
}

/// A request frame for broadcast `seq`: the JSON string is `data_len`
/// characters, ending with the 8-digit sequence number.
pub fn broadcast_request(seq: u64, dialect: BroadcastDialect, data_len: usize) -> Vec<u8> {
    wire::client_frame(wire::opcode::TEXT, &broadcast_payload(seq, dialect, data_len))
}

/// The message of [`broadcast_request`], unframed.
pub fn broadcast_payload(seq: u64, dialect: BroadcastDialect, data_len: usize) -> Vec<u8> {
    let data = format!("{:b>width$}{seq:08}", "", width = data_len.saturating_sub(8));
    let payload = match dialect {
        BroadcastDialect::PrimusTyped => format!(r#"{{"event":"broadcast","data":"{data}"}}"#),
        BroadcastDialect::Primus => format!("\"{data}\""),
        BroadcastDialect::SocketIo => format!(r#"42["broadcast","{data}"]"#),
    };
    payload.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_round_trip() {
        assert_eq!(sequence_of(br#""bbbbbbbbbbbbbbbbbbbbbb00000042""#), Some(42));
        assert_eq!(
            sequence_of(br#"{"event":"echo","data":"bb12345678"}"#),
            Some(12_345_678)
        );
        assert_eq!(sequence_of(b"\"short\""), None);
        let socket_io = broadcast_payload(42, BroadcastDialect::SocketIo, 30);
        assert_eq!(sequence_of(&socket_io), Some(42));
        assert!(socket_io.starts_with(br#"42["broadcast",""#));
        let frame = broadcast_request(7, BroadcastDialect::Primus, 30);
        assert_eq!(frame[1] & 0x7f, 32);
    }

    #[test]
    fn window_is_enforced() {
        let plan = BroadcastPlan::new(3, 2, BroadcastDialect::Primus, 30, None);
        assert!(plan.may_send(0) && plan.may_send(1));
        assert!(!plan.may_send(2));
        for _ in 0..3 {
            plan.slot(0).fetch_add(1, Ordering::AcqRel);
        }
        assert!(plan.may_send(2));
        assert!(!plan.may_send(3));
    }
}
