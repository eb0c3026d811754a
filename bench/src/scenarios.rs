//! The scenarios: what is measured, how, and for how long.
//!
//! Every run starts a **fresh server process**, opens its connections, lets
//! the load run for a warm-up, then measures for a fixed window: the
//! generator counts replies or deliveries and the suite reads the server's
//! CPU time from `/proc` at both ends of the window. The server is stopped
//! (killed if need be) after every run, even a failed one.
//!
//! | scenario | load | figures |
//! |---|---|---|
//! | echo | 100 connections, a window of requests in flight each; 32 B and 16 KiB frames; closed loop (peak) and a fixed offered rate | messages/s, p50/p99 round trip, server CPU ms per 1,000 messages |
//! | broadcast | 1,000 and 10,000 connections; one asks for broadcasts, at most `window` incomplete at once; peak and a fixed delivery rate | deliveries/s, p50/p99 send-to-delivery, server CPU ms per 1,000 deliveries, encodes per broadcast |
//! | idle | 10,000 connections that did one echo each, then nothing | server RSS per connection |
//! | setup | 2,000 connections opened 32 at a time (TCP, upgrade, one echo) | connections/s, p50/p99 open time, server CPU ms per 1,000 connections |
//!
//! Rounds ([`crate::suite`]): echo, broadcast and setup run `rounds` times, servers interleaved
//! within each round; the report shows the median of the rounds.

use crate::latency::{Samples, Summary};
use crate::loadgen::{self, BroadcastDialect, BroadcastPlan, EchoPlan, OpenSpec, Outcome};
use crate::procfs::{Snapshot, Usage};
use crate::servers::{Environment, ServerKind, ServerProcess, ServerStats, StartOptions};
use crate::transport::Transport;
use crate::wire;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Most echo requests one connection sends in a run (a bound far above
/// what a 5-second window reaches; the window's deadline ends runs).
pub const MAX_ECHO_SENDS: u64 = 5_000_000;

/// Sizes and durations of a suite run.
#[derive(Debug, Clone)]
pub struct Config {
    /// True for the `--quick` sizes.
    pub quick: bool,
    /// Repetitions of echo, broadcast and setup (median reported).
    pub rounds: usize,
    /// Servers to run.
    pub servers: Vec<ServerKind>,
    /// Load before each measured window.
    pub warmup: Duration,
    /// Length of each measured window.
    pub measure: Duration,
    /// Connections opened at once while setting up a run.
    pub open_concurrency: usize,
    /// Echo: connections.
    pub echo_conns: usize,
    /// Echo: requests in flight per connection (closed loop); the cap is
    /// 8× this at a fixed rate.
    pub echo_window: usize,
    /// Echo: frame sizes and the fixed offered rate (messages/s) for each.
    pub echo_cases: Vec<EchoCase>,
    /// Broadcast: connection counts.
    pub broadcast_conns: Vec<usize>,
    /// Broadcast: broadcasts that may be incomplete at once.
    pub broadcast_window: u64,
    /// Broadcast: the fixed offered rate, in deliveries per second.
    pub broadcast_rate: f64,
    /// Broadcast: length of the JSON string broadcast (the frame is 2 bytes
    /// more without typed events).
    pub broadcast_data_len: usize,
    /// Idle: connections.
    pub idle_conns: usize,
    /// Idle: wait after the last connection opened before reading RSS.
    pub idle_settle: Duration,
    /// Setup: connections.
    pub setup_conns: usize,
    /// Setup: connections opened at once.
    pub setup_concurrency: usize,
    /// Transports: the engine.io and SockJS transports to run.
    pub transports: Vec<Transport>,
    /// Transports: echo sessions (32 B requests, `echo_window` in flight each).
    pub transport_echo_conns: usize,
    /// Transports: broadcast sessions.
    pub transport_broadcast_conns: usize,
}

/// One echo frame size and its fixed offered rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EchoCase {
    /// WebSocket payload size in bytes, envelope included.
    pub size: usize,
    /// Offered rate for the fixed-rate run, messages per second (all connections).
    pub rate: f64,
}

impl Config {
    /// The full suite (about 30 minutes with its six servers).
    pub fn full() -> Config {
        Config {
            quick: false,
            rounds: 3,
            servers: ServerKind::ALL.to_vec(),
            warmup: Duration::from_secs(1),
            measure: Duration::from_secs(5),
            open_concurrency: 128,
            echo_conns: 100,
            echo_window: 8,
            echo_cases: vec![
                EchoCase {
                    size: 32,
                    rate: 20_000.0,
                },
                EchoCase {
                    size: 16 * 1024,
                    rate: 2_000.0,
                },
            ],
            broadcast_conns: vec![1_000, 10_000],
            broadcast_window: 16,
            broadcast_rate: 20_000.0,
            broadcast_data_len: 30,
            idle_conns: 10_000,
            idle_settle: Duration::from_secs(2),
            setup_conns: 2_000,
            setup_concurrency: 32,
            transports: Transport::ALL.to_vec(),
            transport_echo_conns: 100,
            transport_broadcast_conns: 1_000,
        }
    }

    /// Smaller counts and shorter windows, for development (about 4 minutes).
    pub fn quick() -> Config {
        Config {
            quick: true,
            rounds: 1,
            warmup: Duration::from_millis(300),
            measure: Duration::from_secs(1),
            broadcast_conns: vec![200, 1_000],
            idle_conns: 1_000,
            idle_settle: Duration::from_millis(500),
            setup_conns: 300,
            transport_echo_conns: 50,
            transport_broadcast_conns: 200,
            ..Config::full()
        }
    }
}

/// Which scenarios to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Echo throughput and latency.
    Echo,
    /// Broadcast fan-out.
    Broadcast,
    /// Idle connections' memory.
    Idle,
    /// Connection setup rate.
    Setup,
    /// Echo and broadcast over the engine.io and SockJS transports.
    Transports,
}

impl Scenario {
    /// All network scenarios, in run order.
    pub const ALL: [Scenario; 5] = [
        Scenario::Echo,
        Scenario::Broadcast,
        Scenario::Idle,
        Scenario::Setup,
        Scenario::Transports,
    ];
}

/// Peak (closed loop) or a fixed offered rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Load {
    /// As fast as the server answers, within the window.
    Peak,
    /// A fixed offered rate (messages or deliveries per second).
    Rate(f64),
}

/// One measured echo run.
#[derive(Debug, Clone)]
pub struct EchoRun {
    /// Replies received in the window.
    pub messages: u64,
    /// CPU during the window.
    pub usage: Usage,
    /// Round trips.
    pub latency: Option<Summary>,
    /// Fixed rate: sends skipped because the cap on requests in flight was reached.
    pub skipped: u64,
    /// Transport scenarios: replies per arrival of data (a poll's answer,
    /// a read of the stream or socket).
    pub messages_per_arrival: Option<f64>,
}

impl EchoRun {
    /// Replies per second.
    pub fn throughput(&self) -> f64 {
        self.messages as f64 / self.usage.secs
    }

    /// Server CPU milliseconds per 1,000 messages.
    pub fn cpu_per_1k(&self) -> f64 {
        per_1k(self.usage.server_ms, self.messages)
    }

    /// The progress line of a run.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{:.0} msg/s, {:.2} ms CPU/1k, p50 {} µs, p99 {} µs",
            self.throughput(),
            self.cpu_per_1k(),
            self.latency.map_or(0, |l| l.p50_us),
            self.latency.map_or(0, |l| l.p99_us)
        )
    }
}

/// One measured broadcast run.
#[derive(Debug, Clone)]
pub struct BroadcastRun {
    /// Deliveries counted in the window (all connections).
    pub deliveries: u64,
    /// Broadcasts sent in the window.
    pub broadcasts: u64,
    /// CPU during the window.
    pub usage: Usage,
    /// Send-to-delivery times.
    pub latency: Option<Summary>,
    /// primus-rs: parser encodes per broadcast over the whole run.
    pub encodes_per_broadcast: Option<f64>,
    /// primus-rs over engine.io or SockJS: messages wrapped into the
    /// transport's packet per broadcast over the whole run.
    pub framings_per_broadcast: Option<f64>,
    /// Transport scenarios: deliveries per arrival of data at a session.
    pub messages_per_arrival: Option<f64>,
}

impl BroadcastRun {
    /// Deliveries per second.
    pub fn throughput(&self) -> f64 {
        self.deliveries as f64 / self.usage.secs
    }

    /// Server CPU milliseconds per 1,000 deliveries.
    pub fn cpu_per_1k(&self) -> f64 {
        per_1k(self.usage.server_ms, self.deliveries)
    }
}

/// One idle-memory measurement.
#[derive(Debug, Clone)]
pub struct IdleRun {
    /// Connections held.
    pub conns: usize,
    /// Server RSS before any connection, KiB.
    pub rss_before_kib: u64,
    /// Server RSS with every connection open and idle, KiB.
    pub rss_after_kib: u64,
}

impl IdleRun {
    /// RSS growth per connection, KiB.
    pub fn per_conn_kib(&self) -> f64 {
        self.rss_after_kib.saturating_sub(self.rss_before_kib) as f64 / self.conns.max(1) as f64
    }
}

/// One connection-setup measurement.
#[derive(Debug, Clone)]
pub struct SetupRun {
    /// Connections opened.
    pub conns: usize,
    /// CPU while opening them.
    pub usage: Usage,
    /// Time to open one (TCP, upgrade, first echo).
    pub latency: Option<Summary>,
}

impl SetupRun {
    /// Connections per second.
    pub fn rate(&self) -> f64 {
        self.conns as f64 / self.usage.secs
    }

    /// Server CPU milliseconds per 1,000 connections.
    pub fn cpu_per_1k(&self) -> f64 {
        per_1k(self.usage.server_ms, self.conns as u64)
    }
}

fn per_1k(ms: f64, count: u64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        ms * 1000.0 / count as f64
    }
}

/// The runs of one figure for one server: one entry per round.
#[derive(Debug, Clone)]
pub struct Cell<K, R> {
    /// The case (size and load, connection count…).
    pub key: K,
    /// The server.
    pub server: ServerKind,
    /// Each round's result, or why it failed.
    pub runs: Vec<Result<R, String>>,
}

/// Echo cells are keyed by frame size and load.
pub type EchoKey = (usize, Load);
/// Broadcast cells are keyed by connection count and load.
pub type BroadcastKey = (usize, Load);

/// Everything measured in a suite run.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// Echo runs.
    pub echo: Vec<Cell<EchoKey, EchoRun>>,
    /// Broadcast runs.
    pub broadcast: Vec<Cell<BroadcastKey, BroadcastRun>>,
    /// Idle runs.
    pub idle: Vec<Cell<usize, IdleRun>>,
    /// Setup runs.
    pub setup: Vec<Cell<usize, SetupRun>>,
    /// Echo runs over the engine.io and SockJS transports.
    pub transport_echo: Vec<Cell<Transport, EchoRun>>,
    /// Broadcast runs over the engine.io and SockJS transports.
    pub transport_broadcast: Vec<Cell<Transport, BroadcastRun>>,
}

/// "32 B", "16 KiB".
pub fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// "peak", "20000/s".
pub fn load_label(load: Load) -> String {
    match load {
        Load::Peak => "peak".to_owned(),
        Load::Rate(rate) => format!("{rate:.0}/s"),
    }
}

/// The envelope around the echoed string: a JSON string for primus-rs raw,
/// tokio-tungstenite and Node Primus; `{"event":"echo","data":…}` for
/// primus-rs typed events; the Socket.IO event `42["echo",…]`, or with an
/// ack id `421["echo",…]` for socketioxide typed (answered by the ack
/// `431[…]`).
fn echo_envelope(kind: ServerKind) -> (&'static [u8], &'static [u8]) {
    match (kind.speaks_socket_io(), kind.is_typed()) {
        (true, true) => (br#"421["echo",""#, br#""]"#),
        (true, false) => (br#"42["echo",""#, br#""]"#),
        (false, true) => (br#"{"event":"echo","data":""#, br#""}"#),
        (false, false) => (b"\"", b"\""),
    }
}

/// The echo request payload of `size` bytes for a server: the envelope of
/// `echo_envelope` around a string of `x`, `size` bytes in all.
pub fn echo_payload(kind: ServerKind, size: usize) -> Vec<u8> {
    let (prefix, suffix) = echo_envelope(kind);
    let fill = size.saturating_sub(prefix.len() + suffix.len()).max(1);
    let mut payload = Vec::with_capacity(size);
    payload.extend_from_slice(prefix);
    payload.extend(std::iter::repeat_n(b'x', fill));
    payload.extend_from_slice(suffix);
    payload
}

/// What the server answers to [`echo_payload`]: the request itself, or for
/// socketioxide typed the ack `431["…"]` carrying the same string.
pub fn echo_reply(kind: ServerKind, size: usize) -> Vec<u8> {
    let request = echo_payload(kind, size);
    if !(kind.speaks_socket_io() && kind.is_typed()) {
        return request;
    }
    let (prefix, suffix) = echo_envelope(kind);
    let text = &request[prefix.len()..request.len() - suffix.len()];
    let mut reply = Vec::with_capacity(text.len() + 8);
    reply.extend_from_slice(br#"431[""#);
    reply.extend_from_slice(text);
    reply.extend_from_slice(br#""]"#);
    reply
}

/// A started server whose stderr goes to a log named after the run.
async fn start(
    env: &Environment,
    server: ServerKind,
    options: StartOptions,
    run: &str,
) -> Result<ServerProcess, String> {
    ServerProcess::start(server, env, options, &format!("{}-{run}", server.id())).await
}

/// Warm-up, then the measured window; stops the drivers and collects them.
pub(crate) async fn measure(
    config: &Config,
    server: &ServerProcess,
    control: &loadgen::GateControl,
    handles: Vec<tokio::task::JoinHandle<Outcome>>,
) -> Result<(Usage, Vec<Outcome>), String> {
    tokio::time::sleep(config.warmup).await;
    let sample =
        || Snapshot::take(server.pid()).map_err(|e| format!("cannot read the server's CPU time: {e}"));
    let before = sample();
    control.start_measuring();
    tokio::time::sleep(config.measure).await;
    control.stop_measuring();
    let after = sample();
    control.stop();
    let outcomes = loadgen::collect(handles, Duration::from_secs(15)).await;
    let usage = before?.until(&after?);
    Ok((usage, outcomes))
}

/// Fails when any driver failed or any reply was wrong.
pub(crate) fn check(outcomes: &[Outcome]) -> Result<(), String> {
    let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
    if let Some(first) = failed.first() {
        return Err(format!(
            "{} of {} connections failed, first: {first}",
            failed.len(),
            outcomes.len()
        ));
    }
    let mismatches: u64 = outcomes.iter().map(|o| o.mismatches).sum();
    if mismatches > 0 {
        return Err(format!("{mismatches} replies differed from the request"));
    }
    Ok(())
}

pub(crate) fn merged_samples(outcomes: &mut [Outcome]) -> Samples {
    let total = outcomes.iter().map(|o| o.samples.len()).sum();
    let mut samples = Samples::with_capacity(total);
    for outcome in outcomes {
        samples.merge(std::mem::take(&mut outcome.samples));
    }
    samples
}

/// One echo run on a fresh server.
pub async fn echo(
    config: &Config,
    env: &Environment,
    server: ServerKind,
    size: usize,
    load: Load,
) -> Result<EchoRun, String> {
    echo_with(config, env, server, size, load, false).await
}

/// [`echo`], with permessage-deflate on the server and every connection
/// when `compression` is set: requests go compressed (RSV1), replies are
/// inflated and compared.
pub async fn echo_with(
    config: &Config,
    env: &Environment,
    server: ServerKind,
    size: usize,
    load: Load,
    compression: bool,
) -> Result<EchoRun, String> {
    let options = StartOptions {
        compression,
        ..StartOptions::default()
    };
    let run = match compression {
        true => format!("echo-{size}-compressed"),
        false => format!("echo-{size}"),
    };
    let process = start(env, server, options, &run).await?;
    let payload = echo_payload(server, size);
    let request: Arc<[u8]> = match compression {
        true => {
            let deflated = primus::deflate::deflate(&payload).ok_or("cannot compress the request")?;
            wire::client_frame(0x40 | wire::opcode::TEXT, &deflated).into()
        }
        false => wire::client_frame(wire::opcode::TEXT, &payload).into(),
    };
    let conns = config.echo_conns;
    let read_capacity = (16 * 1024).max((size + 16) * config.echo_window + 1024);
    let probe = request.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let (opened, _) = loadgen::open_many(
        process.addr(),
        conns,
        config.open_concurrency,
        move |_| OpenSpec {
            query: String::new(),
            probe: Some(probe.clone()),
            read_capacity,
            socket_io: server.speaks_socket_io(),
            compression,
        },
        deadline,
    )
    .await?;
    let (window, period) = match load {
        Load::Peak => (config.echo_window, None),
        Load::Rate(rate) => (
            config.echo_window * 8,
            Some(Duration::from_secs_f64(conns as f64 / rate)),
        ),
    };
    let plan = Arc::new(EchoPlan {
        request,
        reply: echo_reply(server, size).into(),
        window,
        period,
        conns,
        max_sends: MAX_ECHO_SENDS,
    });
    let (control, gate) = loadgen::gate();
    let handles = opened
        .into_iter()
        .enumerate()
        .map(|(index, conn)| tokio::spawn(loadgen::echo(conn, plan.clone(), gate.clone(), index)))
        .collect();
    let (usage, mut outcomes) = measure(config, &process, &control, handles).await?;
    process.stop().await;
    check(&outcomes)?;
    Ok(EchoRun {
        messages: outcomes.iter().map(|o| o.count).sum(),
        skipped: outcomes.iter().map(|o| o.skipped).sum(),
        latency: merged_samples(&mut outcomes).summary(),
        usage,
        messages_per_arrival: None,
    })
}

/// One broadcast run on a fresh server.
pub async fn broadcast(
    config: &Config,
    env: &Environment,
    server: ServerKind,
    conns: usize,
    load: Load,
) -> Result<BroadcastRun, String> {
    broadcast_with(config, env, server, conns, load, config.broadcast_data_len, false).await
}

/// [`broadcast`] of `data_len`-byte strings, with permessage-deflate on
/// the server and every connection when `compression` is set (the
/// trigger's requests go uncompressed; what is broadcast is inflated by
/// every receiver).
pub async fn broadcast_with(
    config: &Config,
    env: &Environment,
    server: ServerKind,
    conns: usize,
    load: Load,
    data_len: usize,
    compression: bool,
) -> Result<BroadcastRun, String> {
    let options = StartOptions {
        count_encodes: true,
        compression,
        ..StartOptions::default()
    };
    let run = match compression {
        true => format!("broadcast-{conns}-compressed"),
        false => format!("broadcast-{conns}"),
    };
    let process = start(env, server, options, &run).await?;
    let probe: Arc<[u8]> = wire::client_frame(wire::opcode::TEXT, &echo_payload(server, 32)).into();
    let typed = server.is_typed();
    let socket_io = server.speaks_socket_io();
    let deadline = Instant::now() + Duration::from_secs(180);
    let (opened, _) = loadgen::open_many(
        process.addr(),
        conns,
        config.open_concurrency,
        move |index| OpenSpec {
            // Connection 0 triggers the broadcasts; with typed events (and
            // with Socket.IO) it sends `broadcast` events instead.
            query: if index == 0 && !typed && !socket_io {
                "bench=trigger".to_owned()
            } else {
                String::new()
            },
            // A Socket.IO socket is in the namespace once its connect is
            // answered; a spark is up once it echoed.
            probe: (!socket_io && (index != 0 || typed)).then(|| probe.clone()),
            read_capacity: 4 * 1024,
            socket_io,
            compression,
        },
        deadline,
    )
    .await?;
    let period = match load {
        Load::Peak => None,
        Load::Rate(deliveries) => Some(Duration::from_secs_f64(conns as f64 / deliveries)),
    };
    let plan = Arc::new(BroadcastPlan::new(
        conns as u64,
        config.broadcast_window,
        if socket_io {
            BroadcastDialect::SocketIo
        } else {
            BroadcastDialect::primus(typed)
        },
        data_len,
        period,
    ));
    let window = broadcast_window(config, vec![process], &plan, |gate| {
        loadgen::spawn_broadcast_drivers(opened, &plan, &gate)
    })
    .await?;
    let encodes_per_broadcast = window.per_broadcast(plan.sent(), |stats| stats.encodes);
    let usage = window.usage();
    let mut outcomes = window.outcomes;
    Ok(BroadcastRun {
        deliveries: outcomes.iter().map(|o| o.count).sum(),
        broadcasts: outcomes.iter().map(|o| o.sent).sum(),
        latency: merged_samples(&mut outcomes).summary(),
        usage,
        encodes_per_broadcast,
        framings_per_broadcast: None,
        messages_per_arrival: None,
    })
}

/// What a broadcast run measured ([`broadcast_window`]).
pub(crate) struct BroadcastWindow {
    /// CPU of each server process during the measured window, in the
    /// order they were given (the first is the trigger's).
    pub(crate) usages: Vec<Usage>,
    /// Every driver's outcome.
    pub(crate) outcomes: Vec<Outcome>,
    /// primus-rs: the first server's counters before the drivers started
    /// and once every broadcast sent was delivered.
    stats: Option<(ServerStats, ServerStats)>,
}

impl BroadcastWindow {
    /// CPU of the first (or only) server during the measured window.
    pub(crate) fn usage(&self) -> Usage {
        self.usages.first().copied().unwrap_or_default()
    }

    /// How much a counter of the server grew per broadcast sent.
    pub(crate) fn per_broadcast(&self, sent: u64, pick: fn(&ServerStats) -> Option<u64>) -> Option<f64> {
        let (before, after) = self.stats.as_ref()?;
        let (before, after) = (pick(before)?, pick(after)?);
        (sent > 0).then(|| after.saturating_sub(before) as f64 / sent as f64)
    }
}

/// The common part of the broadcast runs: starts the drivers (`spawn`),
/// warms up, measures the window (the CPU of every server process), lets
/// every broadcast sent reach everyone (so the servers' counters include
/// all of them), then stops the drivers and the servers. Fails when a
/// driver failed or broadcasts stayed undelivered.
pub(crate) async fn broadcast_window(
    config: &Config,
    mut processes: Vec<ServerProcess>,
    plan: &BroadcastPlan,
    spawn: impl FnOnce(loadgen::Gate) -> Vec<tokio::task::JoinHandle<Outcome>>,
) -> Result<BroadcastWindow, String> {
    let first = processes.first_mut().ok_or("no server to measure")?;
    let counts = first.kind().is_primus_rs();
    let stats_before = if counts { first.stats().await } else { None };
    let (control, gate) = loadgen::gate();
    let handles = spawn(gate);
    tokio::time::sleep(config.warmup).await;
    let sample = |processes: &[ServerProcess]| {
        processes
            .iter()
            .map(|process| Snapshot::take(process.pid()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("cannot read a server's CPU time: {e}"))
    };
    let before = sample(&processes);
    control.start_measuring();
    tokio::time::sleep(config.measure).await;
    control.stop_measuring();
    let after = sample(&processes);
    plan.stop_sending();
    let settle_deadline = Instant::now() + Duration::from_secs(10);
    while !plan.settled() && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let settled = plan.settled();
    let stats_after = match processes.first_mut() {
        Some(first) if counts => first.stats().await,
        _ => None,
    };
    control.stop();
    let outcomes = loadgen::collect(handles, Duration::from_secs(15)).await;
    let usages = before?
        .iter()
        .zip(after?.iter())
        .map(|(before, after)| before.until(after))
        .collect();
    for process in processes {
        process.stop().await;
    }
    check(&outcomes)?;
    if !settled {
        return Err("broadcasts still undelivered 10 s after the trigger stopped".to_owned());
    }
    Ok(BroadcastWindow {
        usages,
        outcomes,
        stats: stats_before.zip(stats_after),
    })
}

/// The idle-memory run on a fresh server.
pub async fn idle(config: &Config, env: &Environment, server: ServerKind) -> Result<IdleRun, String> {
    let process = start(env, server, StartOptions::default(), "idle").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before_kib = process.rss_kib().map_err(|e| e.to_string())?;
    let probe: Arc<[u8]> = wire::client_frame(wire::opcode::TEXT, &echo_payload(server, 32)).into();
    let deadline = Instant::now() + Duration::from_secs(180);
    let conns = config.idle_conns;
    let (opened, _) = loadgen::open_many(
        process.addr(),
        conns,
        config.open_concurrency,
        move |_| OpenSpec {
            query: String::new(),
            probe: Some(probe.clone()),
            read_capacity: 1024,
            socket_io: server.speaks_socket_io(),
            compression: false,
        },
        deadline,
    )
    .await?;
    let (control, gate) = loadgen::gate();
    let handles = opened
        .into_iter()
        .map(|conn| tokio::spawn(loadgen::hold(conn, gate.clone())))
        .collect();
    tokio::time::sleep(config.idle_settle).await;
    let rss_after_kib = process.rss_kib().map_err(|e| e.to_string());
    control.stop();
    let outcomes = loadgen::collect(handles, Duration::from_secs(15)).await;
    process.stop().await;
    check(&outcomes)?;
    Ok(IdleRun {
        conns,
        rss_before_kib,
        rss_after_kib: rss_after_kib?,
    })
}

/// The connection-setup run on a fresh server.
pub async fn setup(config: &Config, env: &Environment, server: ServerKind) -> Result<SetupRun, String> {
    let process = start(env, server, StartOptions::default(), "setup").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let probe: Arc<[u8]> = wire::client_frame(wire::opcode::TEXT, &echo_payload(server, 32)).into();
    let deadline = Instant::now() + Duration::from_secs(120);
    let sample =
        || Snapshot::take(process.pid()).map_err(|e| format!("cannot read the server's CPU time: {e}"));
    let before = sample()?;
    let opened = loadgen::open_many(
        process.addr(),
        config.setup_conns,
        config.setup_concurrency,
        move |_| OpenSpec {
            query: String::new(),
            probe: Some(probe.clone()),
            read_capacity: 1024,
            socket_io: server.speaks_socket_io(),
            compression: false,
        },
        deadline,
    )
    .await;
    let after = sample();
    let (conns, samples) = opened?;
    let usage = before.until(&after?);
    loadgen::close_all(conns);
    process.stop().await;
    Ok(SetupRun {
        conns: config.setup_conns,
        usage,
        latency: samples.summary(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_payloads_have_the_requested_size() {
        for kind in ServerKind::ALL {
            for size in [32, 16 * 1024] {
                let payload = echo_payload(kind, size);
                assert_eq!(payload.len(), size, "{kind:?}");
                // Socket.IO packets are a type (and ack id) before JSON.
                let json = payload.iter().position(|b| !b.is_ascii_digit()).unwrap_or(0);
                assert!(serde_json::from_slice::<serde_json::Value>(&payload[json..]).is_ok());
            }
        }
        assert!(echo_payload(ServerKind::PrimusTyped, 32).starts_with(br#"{"event":"echo""#));
        assert!(echo_payload(ServerKind::Socketioxide, 32).starts_with(br#"42["echo",""#));
    }

    #[test]
    fn echo_replies() {
        assert_eq!(
            echo_reply(ServerKind::PrimusTyped, 32),
            echo_payload(ServerKind::PrimusTyped, 32)
        );
        assert_eq!(
            echo_reply(ServerKind::Socketioxide, 32),
            echo_payload(ServerKind::Socketioxide, 32)
        );
        let request = echo_payload(ServerKind::SocketioxideTyped, 32);
        assert_eq!(request, br#"421["echo","xxxxxxxxxxxxxxxxxx"]"#);
        assert_eq!(
            echo_reply(ServerKind::SocketioxideTyped, 32),
            br#"431["xxxxxxxxxxxxxxxxxx"]"#
        );
    }

    #[test]
    fn labels() {
        assert_eq!(size_label(16384), "16 KiB");
        assert_eq!(size_label(32), "32 B");
        assert_eq!(load_label(Load::Rate(20_000.0)), "20000/s");
    }
}
