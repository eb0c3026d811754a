//! The soak scenario: churn, broadcasts and bad input for a bounded time,
//! then a check that the server's resources return to their baseline.
//!
//! One fresh server process per server kind. The suite measures its
//! **baseline** (RSS, open file descriptors and threads from `/proc`, and
//! what `bench-server`'s `stats` line says: connected clients and tokio
//! tasks alive), runs every load below **in parallel** for `duration`
//! (sampling once a second), stops the load, closes every client socket,
//! waits until the file descriptors are back (at most `settle`) and
//! measures **after**.
//!
//! | load | what a client does | what it expects |
//! |---|---|---|
//! | churn | opens a WebSocket, one echo, closes: a close frame (and waits for the server's), a FIN without a close frame, or a reset, in turn | the echo |
//! | broadcast | `listeners` long-lived clients receive every broadcast one trigger client asks for, at `broadcast_rate` | every broadcast reaches every listener |
//! | invalid JSON | 120 invalid JSON frames; or 10 and then an echo; or one text frame that is not UTF-8, in turn | close 1008 (invalid-frame limit, 100); the echo; close 1007 |
//! | oversize | a frame header announcing 16 MiB (over the 10 MiB `max_length`) and 64 KiB of it | close 1009 before the rest is sent |
//! | garbage TCP | a line of noise ending the head; or 70 KiB of noise without a line end | an HTTP 4xx answer (400; 431 for a head over 64 KiB) |
//! | half-open | a partial request head, or nothing at all, and then silence | the server closes it (handshake timeout, 10 s) |
//!
//! Every loop is bounded: each worker stops at the deadline or when told
//! to, every iteration races the stop signal, and every wait on the network
//! has a timeout. Everything runs over 127.0.0.1.

use crate::loadgen::{self, BroadcastPlan, OpenSpec, Outcome};
use crate::machine::Machine;
use crate::procfs::{self, Snapshot, Usage};
use crate::scenarios::echo_payload;
use crate::servers::{Environment, ServerKind, ServerProcess, StartOptions};
use crate::wire::{self, opcode, Conn, WireError};
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Longest wait for any one answer from the server.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The server's handshake timeout (primus-rs' default): half-open
/// connections must be closed by then.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a half-open client waits for the server to close it.
const HALF_OPEN_WAIT: Duration = Duration::from_secs(15);

/// Invalid frames a spark may send before primus-rs closes it (its default).
pub const MAX_INVALID_FRAMES: usize = 100;

/// Length announced by the oversize frame: over primus-rs' 10 MiB default.
const OVERSIZE_ANNOUNCED: u64 = 16 * 1024 * 1024;

/// Bytes of the oversize frame actually sent.
const OVERSIZE_SENT: usize = 64 * 1024;

/// Most iterations of one worker (a bound far above what the deadline allows).
const MAX_ITERATIONS: u64 = 1_000_000;

/// Most reads while waiting for a connection to end.
const MAX_READS: usize = 10_000;

/// Sizes, rates and limits of a soak run.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// True for the `--quick` length.
    pub quick: bool,
    /// Servers to soak.
    pub servers: Vec<ServerKind>,
    /// How long the load runs.
    pub duration: Duration,
    /// Longest wait after the load for the file descriptors to come back.
    pub settle: Duration,
    /// Time between two samples.
    pub sample_every: Duration,
    /// Churn: connections in flight at once.
    pub churn_workers: usize,
    /// Churn: connections opened per second (all workers).
    pub churn_rate: f64,
    /// Broadcast: long-lived listeners (the trigger comes on top).
    pub listeners: usize,
    /// Broadcast: broadcasts per second.
    pub broadcast_rate: f64,
    /// Invalid JSON: connections per second.
    pub invalid_rate: f64,
    /// Invalid JSON: frames sent by a flooding connection (over the limit).
    pub invalid_flood: usize,
    /// Oversize frames: connections per second.
    pub oversize_rate: f64,
    /// Garbage TCP: connections per second.
    pub garbage_rate: f64,
    /// Half-open: connections held at once.
    pub half_open: usize,
    /// The file descriptors after may exceed the baseline by this many.
    pub fd_slack: u64,
    /// The RSS after may exceed the baseline by this many KiB.
    pub rss_slack_kib: u64,
}

impl SoakConfig {
    /// The default soak: 60 s.
    pub fn full() -> SoakConfig {
        SoakConfig {
            quick: false,
            servers: vec![ServerKind::PrimusTyped, ServerKind::PrimusRaw],
            duration: Duration::from_secs(60),
            settle: Duration::from_secs(15),
            sample_every: Duration::from_secs(1),
            churn_workers: 8,
            churn_rate: 200.0,
            listeners: 200,
            broadcast_rate: 20.0,
            invalid_rate: 10.0,
            invalid_flood: MAX_INVALID_FRAMES + 20,
            oversize_rate: 1.0,
            garbage_rate: 5.0,
            half_open: 40,
            fd_slack: 2,
            rss_slack_kib: 8 * 1024,
        }
    }

    /// A 10-second soak with fewer listeners, for development.
    pub fn quick() -> SoakConfig {
        SoakConfig {
            quick: true,
            duration: Duration::from_secs(10),
            listeners: 50,
            ..SoakConfig::full()
        }
    }
}

/// What was counted during the load; see [`Count::label`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Churn connections started.
    ChurnStarted,
    /// Churn connections whose echo came back.
    ChurnEchoed,
    /// Churn connections closed with a close frame that the server answered.
    ChurnCloseAnswered,
    /// Churn connections closed with a close frame, no answer seen.
    ChurnCloseUnanswered,
    /// Churn connections dropped with a FIN, no close frame.
    ChurnFin,
    /// Churn connections reset, no close frame.
    ChurnReset,
    /// Churn connections that failed (open or echo).
    ChurnFailed,
    /// Invalid-JSON floods sent.
    FloodStarted,
    /// Floods closed by the server with 1008.
    Flood1008,
    /// Connections that sent a few invalid frames and then an echo.
    FewStarted,
    /// ... whose echo came back.
    FewEchoed,
    /// Non-UTF-8 text frames sent.
    Utf8Started,
    /// ... closed by the server with 1007.
    Utf8Closed1007,
    /// Oversize frames sent.
    OversizeStarted,
    /// ... closed by the server with 1009.
    Oversize1009,
    /// Garbage connections started.
    GarbageStarted,
    /// ... answered with an HTTP 4xx.
    GarbageAnswered4xx,
    /// ... closed without an HTTP answer.
    GarbageClosedSilently,
    /// Half-open connections started.
    HalfOpenStarted,
    /// ... closed by the server.
    HalfOpenClosed,
    /// ... closed by the server sooner than the handshake timeout.
    HalfOpenClosedEarly,
    /// ... still open when the client gave up (15 s).
    HalfOpenNotClosed,
    /// Bad-input connections (any kind) whose ending was not the expected one.
    Unexpected,
}

impl Count {
    const ALL: [Count; 23] = [
        Count::ChurnStarted,
        Count::ChurnEchoed,
        Count::ChurnCloseAnswered,
        Count::ChurnCloseUnanswered,
        Count::ChurnFin,
        Count::ChurnReset,
        Count::ChurnFailed,
        Count::FloodStarted,
        Count::Flood1008,
        Count::FewStarted,
        Count::FewEchoed,
        Count::Utf8Started,
        Count::Utf8Closed1007,
        Count::OversizeStarted,
        Count::Oversize1009,
        Count::GarbageStarted,
        Count::GarbageAnswered4xx,
        Count::GarbageClosedSilently,
        Count::HalfOpenStarted,
        Count::HalfOpenClosed,
        Count::HalfOpenClosedEarly,
        Count::HalfOpenNotClosed,
        Count::Unexpected,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// The counters of a run, shared by its workers.
#[derive(Debug)]
struct Counters {
    counts: Vec<AtomicU64>,
    /// The first unexpected ending of each load, for the report.
    first_errors: Mutex<Vec<(&'static str, String)>>,
    /// Fastest and slowest close of a half-open connection, ms.
    half_open_min_ms: AtomicU64,
    half_open_max_ms: AtomicU64,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            counts: Count::ALL.iter().map(|_| AtomicU64::new(0)).collect(),
            first_errors: Mutex::new(Vec::new()),
            half_open_min_ms: AtomicU64::new(u64::MAX),
            half_open_max_ms: AtomicU64::new(0),
        }
    }

    fn add(&self, count: Count) {
        self.counts[count.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn error(&self, load: &'static str, error: String) {
        if let Ok(mut errors) = self.first_errors.lock() {
            if !errors.iter().any(|(l, _)| *l == load) {
                errors.push((load, error));
            }
        }
    }

    fn snapshot(&self) -> Counts {
        let min = self.half_open_min_ms.load(Ordering::Relaxed);
        Counts {
            values: self.counts.iter().map(|c| c.load(Ordering::Relaxed)).collect(),
            first_errors: self.first_errors.lock().map(|e| e.clone()).unwrap_or_default(),
            half_open_close_ms: (min != u64::MAX)
                .then(|| (min, self.half_open_max_ms.load(Ordering::Relaxed))),
        }
    }
}

/// The counters at the end of a run.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    values: Vec<u64>,
    /// The first unexpected ending of each load (load, what happened).
    pub first_errors: Vec<(&'static str, String)>,
    /// Fastest and slowest close of a half-open connection by the server, ms.
    pub half_open_close_ms: Option<(u64, u64)>,
}

impl Counts {
    /// One counter.
    pub fn get(&self, count: Count) -> u64 {
        self.values.get(count.index()).copied().unwrap_or(0)
    }
}

/// The server's resources at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the load started (negative: before it).
    pub at_secs: f64,
    /// Resident memory, KiB.
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: u64,
    /// Threads.
    pub threads: u64,
    /// Connected clients, as the server counts them (sparks for primus-rs).
    pub connected: Option<u64>,
    /// Tokio tasks alive in the server's runtime.
    pub tasks: Option<u64>,
}

impl Sample {
    async fn take(process: &mut ServerProcess, started: Instant) -> Result<Sample, String> {
        let pid = process.pid();
        let read = |what: &str, value: std::io::Result<u64>| {
            value.map_err(|e| format!("cannot read the server's {what} (did it exit?): {e}"))
        };
        let rss_kib = read("RSS", procfs::rss_kib(pid))?;
        let fds = read("file descriptors", procfs::fd_count(pid))?;
        let threads = read("threads", procfs::thread_count(pid))?;
        let stats = process.stats().await.unwrap_or_default();
        Ok(Sample {
            at_secs: signed_secs(started),
            rss_kib,
            fds,
            threads,
            connected: stats.connected,
            tasks: stats.tasks,
        })
    }
}

fn signed_secs(since: Instant) -> f64 {
    let now = Instant::now();
    if now >= since {
        now.duration_since(since).as_secs_f64()
    } else {
        -since.duration_since(now).as_secs_f64()
    }
}

/// The broadcast load's result.
#[derive(Debug, Clone, Default)]
pub struct BroadcastCounts {
    /// Receiving connections, the trigger included.
    pub receivers: usize,
    /// Broadcasts sent.
    pub sent: u64,
    /// Deliveries counted by all receivers.
    pub delivered: u64,
    /// Every broadcast sent reached every receiver by the end.
    pub settled: bool,
    /// Receivers that failed, and the first reason.
    pub failed: usize,
    /// The first failure.
    pub first_failure: Option<String>,
}

/// One soak of one server.
#[derive(Debug, Clone)]
pub struct SoakRun {
    /// The server.
    pub server: ServerKind,
    /// Before any connection.
    pub baseline: Sample,
    /// Once a second during the load.
    pub during: Vec<Sample>,
    /// Every 0.5 s after the load stopped, until the settle ended.
    pub settling: Vec<Sample>,
    /// After the load and the settle wait.
    pub after: Sample,
    /// Time from the end of the load until the file descriptors (and the
    /// connected clients and tasks, where reported) were back; `None` when
    /// they were not within the settle limit.
    pub settled_in: Option<Duration>,
    /// Time from the deadline until every client was gone (half-open
    /// clients wait for the server to close them).
    pub stopped_in: Duration,
    /// CPU during the load.
    pub usage: Usage,
    /// Churn and bad-input counters.
    pub counts: Counts,
    /// The broadcast load.
    pub broadcast: BroadcastCounts,
}

impl SoakRun {
    /// The largest value of a figure during the load (the settle wait included).
    pub fn peak(&self, figure: impl Fn(&Sample) -> Option<u64>) -> Option<u64> {
        self.during.iter().chain(&self.settling).filter_map(figure).max()
    }
}

/// The shared state of the load's workers.
#[derive(Debug)]
struct Context {
    addr: SocketAddr,
    counters: Counters,
    echo_request: Vec<u8>,
    echo_reply: Vec<u8>,
    invalid_flood: usize,
}

/// Runs the soak on every configured server, one after the other.
pub async fn run(config: &SoakConfig, env: &Environment) -> Vec<Result<SoakRun, String>> {
    let mut runs = Vec::new();
    for &server in &config.servers {
        eprintln!(
            "[soak] {}: {:.0} s of load, then up to {:.0} s to settle…",
            server.label(),
            config.duration.as_secs_f64(),
            config.settle.as_secs_f64()
        );
        let run = soak(config, env, server).await;
        match &run {
            Ok(run) => {
                eprintln!(
                "[soak] {}: RSS {} → peak {} → {} KiB, fds {} → {} → {}, threads {} → {} → {}, settled in {}",
                server.label(),
                run.baseline.rss_kib,
                run.peak(|s| Some(s.rss_kib)).unwrap_or(0),
                run.after.rss_kib,
                run.baseline.fds,
                run.peak(|s| Some(s.fds)).unwrap_or(0),
                run.after.fds,
                run.baseline.threads,
                run.peak(|s| Some(s.threads)).unwrap_or(0),
                run.after.threads,
                run.settled_in
                    .map_or("(not within the limit)".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()))
            )
            }
            Err(error) => eprintln!("[soak] {}: FAILED: {error}", server.label()),
        }
        runs.push(run);
    }
    runs
}

/// One soak of one server on a fresh process.
pub async fn soak(config: &SoakConfig, env: &Environment, server: ServerKind) -> Result<SoakRun, String> {
    if server == ServerKind::NodePrimus {
        return Err("the soak runs the Rust servers only".to_owned());
    }
    let log = format!("{}-soak", server.id());
    let mut process = ServerProcess::start(server, env, StartOptions::default(), &log).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let load_start = Instant::now() + Duration::from_millis(10);
    let baseline = Sample::take(&mut process, load_start).await?;

    let payload = echo_payload(server, 32);
    let context = Arc::new(Context {
        addr: process.addr(),
        counters: Counters::new(),
        echo_request: wire::client_frame(opcode::TEXT, &payload),
        echo_reply: payload,
        invalid_flood: config.invalid_flood,
    });
    let cpu_before = Snapshot::take(process.pid()).map_err(|e| format!("cannot read CPU time: {e}"))?;
    let deadline = Instant::now() + config.duration;

    // The broadcast group opens first (it must be complete to start).
    let typed = server.is_typed();
    let receivers = config.listeners + 1;
    let probe: Arc<[u8]> = context.echo_request.clone().into();
    let (opened, _) = loadgen::open_many(
        process.addr(),
        receivers,
        32,
        move |index| OpenSpec {
            query: if index == 0 && !typed {
                "bench=trigger".to_owned()
            } else {
                String::new()
            },
            probe: (index != 0 || typed).then(|| probe.clone()),
            read_capacity: 4 * 1024,
        },
        Instant::now() + Duration::from_secs(30),
    )
    .await?;
    let plan = Arc::new(BroadcastPlan::new(
        receivers as u64,
        16,
        typed,
        30,
        Some(Duration::from_secs_f64(1.0 / config.broadcast_rate.max(0.01))),
    ));
    let (gate_control, gate) = loadgen::gate();
    gate_control.start_measuring();
    let drivers: Vec<JoinHandle<Outcome>> = opened
        .into_iter()
        .enumerate()
        .map(|(index, conn)| {
            let (plan, gate) = (plan.clone(), gate.clone());
            if index == 0 {
                tokio::spawn(loadgen::broadcast_trigger(conn, plan, gate))
            } else {
                tokio::spawn(loadgen::broadcast_receiver(conn, plan, gate))
            }
        })
        .collect();

    // Churn and bad input.
    let (stop, stop_rx) = watch::channel(false);
    let mut workers = Vec::new();
    let spawn = |workers: &mut Vec<JoinHandle<()>>, count: usize, rate: f64, job: Job| {
        workers.extend(spawn_paced(count, rate, deadline, &stop_rx, &context, job));
    };
    spawn(&mut workers, config.churn_workers, config.churn_rate, Job::Churn);
    spawn(&mut workers, 2, config.invalid_rate, Job::Invalid);
    spawn(&mut workers, 1, config.oversize_rate, Job::Oversize);
    spawn(&mut workers, 2, config.garbage_rate, Job::Garbage);
    // Each half-open worker holds one connection for up to 15 s.
    spawn(
        &mut workers,
        config.half_open,
        config.half_open as f64,
        Job::HalfOpen,
    );

    // Sample until the deadline.
    let mut during = Vec::new();
    let mut tick = tokio::time::interval(config.sample_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failure = None;
    while Instant::now() < deadline {
        tick.tick().await;
        match Sample::take(&mut process, load_start).await {
            Ok(sample) => during.push(sample),
            Err(error) => {
                failure = Some(error);
                break;
            }
        }
    }
    let cpu_after = Snapshot::take(process.pid());

    // Stop: workers first (they drop their sockets), then the broadcast group.
    plan.stop_sending();
    let _ = stop.send(true);
    // Half-open clients wait for the server to close them (15 s at most).
    let stop_deadline = tokio::time::Instant::now() + HALF_OPEN_WAIT + Duration::from_secs(5);
    for mut worker in workers {
        if tokio::time::timeout_at(stop_deadline, &mut worker).await.is_err() {
            worker.abort();
        }
    }
    let settle_deadline = Instant::now() + Duration::from_secs(5);
    while !plan.settled() && Instant::now() < settle_deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let settled = plan.settled();
    gate_control.stop();
    let outcomes = loadgen::collect(drivers, Duration::from_secs(10)).await;
    let load_end = Instant::now();
    let stopped_in = load_end.saturating_duration_since(deadline);
    if let Some(error) = failure {
        return Err(error);
    }

    // Settle: wait until the descriptors (and clients and tasks) are back.
    let back = |s: &Sample| {
        s.fds <= baseline.fds + config.fd_slack
            && s.connected.is_none_or(|c| c == 0)
            && match (s.tasks, baseline.tasks) {
                (Some(now), Some(before)) => now <= before,
                _ => true,
            }
    };
    let mut settled_in = None;
    let mut settling = Vec::new();
    for _ in 0..1_000 {
        let sample = Sample::take(&mut process, load_start).await?;
        settling.push(sample);
        if back(&sample) {
            settled_in = Some(load_end.elapsed());
            break;
        }
        if load_end.elapsed() >= config.settle {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A last second for memory the runtime frees lazily.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = Sample::take(&mut process, load_start).await?;
    let usage = cpu_before.until(&cpu_after.map_err(|e| format!("cannot read CPU time: {e}"))?);
    process.stop().await;

    let failed: Vec<&String> = outcomes.iter().filter_map(|o| o.error.as_ref()).collect();
    let broadcast = BroadcastCounts {
        receivers,
        sent: plan.sent(),
        delivered: outcomes.iter().map(|o| o.count).sum(),
        settled,
        failed: failed.len(),
        first_failure: failed.first().map(|e| (*e).clone()),
    };
    Ok(SoakRun {
        server,
        baseline,
        during,
        settling,
        after,
        settled_in,
        stopped_in,
        usage,
        counts: context.counters.snapshot(),
        broadcast,
    })
}

/// What a worker does in each iteration.
#[derive(Debug, Clone, Copy)]
enum Job {
    Churn,
    Invalid,
    Oversize,
    Garbage,
    HalfOpen,
}

/// Starts `count` workers that together run `job` about `rate` times per
/// second until `deadline` or the stop signal; each iteration races the
/// stop signal (losing it drops the iteration's sockets), except a
/// half-open one: it waits (at most 15 s) for the server to close it.
fn spawn_paced(
    count: usize,
    rate: f64,
    deadline: Instant,
    stop: &watch::Receiver<bool>,
    context: &Arc<Context>,
    job: Job,
) -> Vec<JoinHandle<()>> {
    let count = count.max(1);
    let period = Duration::from_secs_f64(count as f64 / rate.max(0.01));
    (0..count)
        .map(|worker| {
            let mut stop = stop.clone();
            let context = context.clone();
            tokio::spawn(async move {
                // Spread the workers' iterations over one period.
                let offset = period.mul_f64(worker as f64 / count as f64);
                let mut tick = tokio::time::interval_at((Instant::now() + offset).into(), period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                for iteration in 0..MAX_ITERATIONS {
                    tokio::select! {
                        biased;
                        _ = stop.wait_for(|stopped| *stopped) => return,
                        _ = tick.tick() => {}
                    }
                    if Instant::now() >= deadline {
                        return;
                    }
                    let turn = iteration * count as u64 + worker as u64;
                    if let Job::HalfOpen = job {
                        // Not cut at the stop: the server must close it.
                        half_open(&context, turn).await;
                        continue;
                    }
                    tokio::select! {
                        biased;
                        _ = stop.wait_for(|stopped| *stopped) => return,
                        () = run_job(job, &context, turn) => {}
                    }
                }
            })
        })
        .collect()
}

fn run_job(
    job: Job,
    context: &Context,
    turn: u64,
) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    match job {
        Job::Churn => Box::pin(churn(context, turn)),
        Job::Invalid => Box::pin(invalid(context, turn)),
        Job::Oversize => Box::pin(oversize(context)),
        Job::Garbage => Box::pin(garbage(context, turn)),
        Job::HalfOpen => Box::pin(half_open(context, turn)),
    }
}

/// How a connection ended, seen from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    /// A close frame with this code (`None`: no code).
    Close(Option<u16>),
    /// End of stream without a close frame.
    Eof,
    /// Reset by the server.
    Reset,
    /// Nothing within the timeout.
    Timeout,
    /// Anything else.
    Other(String),
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Close(Some(code)) => write!(f, "close frame {code}"),
            Ending::Close(None) => f.write_str("close frame without a code"),
            Ending::Eof => f.write_str("end of stream without a close frame"),
            Ending::Reset => f.write_str("reset"),
            Ending::Timeout => f.write_str("still open after the timeout"),
            Ending::Other(what) => f.write_str(what),
        }
    }
}

/// Reads (and ignores data) until the server closes the connection.
async fn ending(conn: &mut Conn, timeout: Duration) -> Ending {
    let wait = async {
        for _ in 0..MAX_READS {
            loop {
                match conn.reader.next_frame() {
                    Ok(Some(frame)) if frame.opcode == opcode::CLOSE => {
                        let payload = conn.reader.payload(&frame);
                        let code = payload
                            .get(..2)
                            .map(|code| u16::from_be_bytes([code[0], code[1]]));
                        return Ending::Close(code);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => return Ending::Other(error.to_string()),
                }
            }
            match conn.reader.fill(&mut conn.stream).await {
                Ok(0) => return Ending::Eof,
                Ok(_) => {}
                Err(error) => return io_ending(&error),
            }
        }
        Ending::Other("too many reads".to_owned())
    };
    tokio::time::timeout(timeout, wait)
        .await
        .unwrap_or(Ending::Timeout)
}

fn io_ending(error: &std::io::Error) -> Ending {
    match error.kind() {
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => Ending::Reset,
        _ => Ending::Other(error.to_string()),
    }
}

/// Waits for the echo of `context.echo_request`, skipping broadcasts.
async fn echo_back(conn: &mut Conn, context: &Context) -> Result<(), WireError> {
    let deadline = Instant::now() + IO_TIMEOUT;
    for _ in 0..1_000 {
        let payload = conn
            .next_data(deadline.saturating_duration_since(Instant::now()))
            .await?;
        if payload == context.echo_reply {
            return Ok(());
        }
    }
    Err(WireError::Protocol("no echo among 1,000 messages".to_owned()))
}

/// Churn: open, one echo, close in one of three ways.
async fn churn(context: &Context, turn: u64) {
    let counters = &context.counters;
    counters.add(Count::ChurnStarted);
    let result = async {
        let mut conn = Conn::open(context.addr, "", 4 * 1024, IO_TIMEOUT).await?;
        conn.send(&context.echo_request).await?;
        echo_back(&mut conn, context).await?;
        counters.add(Count::ChurnEchoed);
        match turn % 3 {
            0 => {
                let close = wire::client_frame(opcode::CLOSE, &1000u16.to_be_bytes());
                conn.send(&close).await?;
                match ending(&mut conn, IO_TIMEOUT).await {
                    Ending::Close(_) => counters.add(Count::ChurnCloseAnswered),
                    _ => counters.add(Count::ChurnCloseUnanswered),
                }
                conn.reset();
            }
            1 => {
                counters.add(Count::ChurnFin);
                drop(conn);
            }
            _ => {
                counters.add(Count::ChurnReset);
                conn.reset();
            }
        }
        Ok::<(), WireError>(())
    }
    .await;
    if let Err(error) = result {
        counters.add(Count::ChurnFailed);
        counters.error("churn", error.to_string());
    }
}

/// Invalid JSON: a flood over the limit, a few frames and an echo, or a
/// text frame that is not UTF-8.
async fn invalid(context: &Context, turn: u64) {
    let counters = &context.counters;
    let (started, load) = match turn % 3 {
        0 => (Count::FloodStarted, "invalid JSON flood"),
        1 => (Count::FewStarted, "invalid JSON, then an echo"),
        _ => (Count::Utf8Started, "text frame not UTF-8"),
    };
    counters.add(started);
    let mut conn = match Conn::open(context.addr, "", 4 * 1024, IO_TIMEOUT).await {
        Ok(conn) => conn,
        Err(error) => {
            counters.add(Count::Unexpected);
            counters.error(load, format!("open: {error}"));
            return;
        }
    };
    let bad = wire::client_frame(opcode::TEXT, b"{\"event\": \"echo\", \"data\": ");
    let outcome: Result<(), String> = match started {
        Count::FloodStarted => {
            let frames = bad.repeat(context.invalid_flood);
            match conn.send(&frames).await {
                // The server may close while the flood is still arriving.
                Ok(()) | Err(_) => match ending(&mut conn, IO_TIMEOUT).await {
                    Ending::Close(Some(1008)) => {
                        counters.add(Count::Flood1008);
                        Ok(())
                    }
                    other => Err(other.to_string()),
                },
            }
        }
        Count::FewStarted => {
            let mut frames = bad.repeat(10);
            frames.extend_from_slice(&context.echo_request);
            let result = async {
                conn.send(&frames).await?;
                echo_back(&mut conn, context).await
            }
            .await;
            match result {
                Ok(()) => {
                    counters.add(Count::FewEchoed);
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            }
        }
        _ => {
            let frame = wire::client_frame(opcode::TEXT, b"\"caf\xe9\"");
            match conn.send(&frame).await {
                Ok(()) | Err(_) => match ending(&mut conn, IO_TIMEOUT).await {
                    Ending::Close(Some(1007)) => {
                        counters.add(Count::Utf8Closed1007);
                        Ok(())
                    }
                    other => Err(other.to_string()),
                },
            }
        }
    };
    if let Err(error) = outcome {
        counters.add(Count::Unexpected);
        counters.error(load, error);
    }
    conn.reset();
}

/// Oversize: a header announcing 16 MiB, 64 KiB of payload, then wait.
async fn oversize(context: &Context) {
    let counters = &context.counters;
    counters.add(Count::OversizeStarted);
    let mut conn = match Conn::open(context.addr, "", 4 * 1024, IO_TIMEOUT).await {
        Ok(conn) => conn,
        Err(error) => {
            counters.add(Count::Unexpected);
            counters.error("oversize frame", format!("open: {error}"));
            return;
        }
    };
    let mut frame = vec![0x80 | opcode::TEXT, 0x80 | 127];
    frame.extend_from_slice(&OVERSIZE_ANNOUNCED.to_be_bytes());
    frame.extend_from_slice(&wire::mask_key());
    frame.resize(frame.len() + OVERSIZE_SENT, b'x');
    // The server may close before it read everything.
    let _ = conn.send(&frame).await;
    match ending(&mut conn, IO_TIMEOUT).await {
        Ending::Close(Some(1009)) => counters.add(Count::Oversize1009),
        other => {
            counters.add(Count::Unexpected);
            counters.error("oversize frame", other.to_string());
        }
    }
    conn.reset();
}

/// Garbage TCP: noise ending the head, or a head over 64 KiB without an end.
async fn garbage(context: &Context, turn: u64) {
    let counters = &context.counters;
    counters.add(Count::GarbageStarted);
    let noise: Vec<u8> = if turn % 2 == 0 {
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n".to_vec()
    } else {
        (0..70 * 1024).map(|i| b'a' + (i % 26) as u8).collect()
    };
    let result = async {
        let mut stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(context.addr))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect: {e}"))?;
        // The server may answer and close before everything is written.
        let _ = tokio::time::timeout(IO_TIMEOUT, stream.write_all(&noise)).await;
        let (answer, end) = read_to_end(&mut stream, IO_TIMEOUT).await;
        let _ = stream.set_zero_linger();
        Ok::<_, String>((answer, end))
    }
    .await;
    match result {
        Ok((answer, Ending::Eof | Ending::Reset)) => {
            if answer.starts_with(b"HTTP/1.1 4") || answer.starts_with(b"HTTP/1.0 4") {
                counters.add(Count::GarbageAnswered4xx);
            } else {
                counters.add(Count::GarbageClosedSilently);
            }
        }
        Ok((_, other)) => {
            counters.add(Count::Unexpected);
            counters.error("garbage TCP", other.to_string());
        }
        Err(error) => {
            counters.add(Count::Unexpected);
            counters.error("garbage TCP", error);
        }
    }
}

/// Reads what the server sends until it closes (keeping the first 1 KiB).
async fn read_to_end(stream: &mut TcpStream, timeout: Duration) -> (Vec<u8>, Ending) {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let wait = async {
        for _ in 0..MAX_READS {
            match stream.read(&mut chunk).await {
                Ok(0) => return Ending::Eof,
                Ok(read) => {
                    let keep = read.min(1024usize.saturating_sub(answer.len()));
                    answer.extend_from_slice(&chunk[..keep]);
                }
                Err(error) => return io_ending(&error),
            }
        }
        Ending::Other("too many reads".to_owned())
    };
    let end = tokio::time::timeout(timeout, wait)
        .await
        .unwrap_or(Ending::Timeout);
    (answer, end)
}

/// Half-open: a partial request head (or nothing), then silence until the
/// server closes the connection.
async fn half_open(context: &Context, turn: u64) {
    let counters = &context.counters;
    let started = Instant::now();
    let mut stream = match tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(context.addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            counters.add(Count::Unexpected);
            counters.error("half-open", format!("connect: {error}"));
            return;
        }
        Err(_) => {
            counters.add(Count::Unexpected);
            counters.error("half-open", "connect timed out".to_owned());
            return;
        }
    };
    counters.add(Count::HalfOpenStarted);
    if turn % 2 == 0 {
        let head = format!(
            "GET /primus/ HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n",
            context.addr
        );
        if let Err(error) = stream.write_all(head.as_bytes()).await {
            counters.add(Count::Unexpected);
            counters.error("half-open", format!("write: {error}"));
            return;
        }
    }
    match read_to_end(&mut stream, HALF_OPEN_WAIT).await.1 {
        Ending::Eof | Ending::Reset => {
            let ms = started.elapsed().as_millis() as u64;
            counters.add(Count::HalfOpenClosed);
            if started.elapsed() < HANDSHAKE_TIMEOUT.mul_f64(0.9) {
                counters.add(Count::HalfOpenClosedEarly);
            }
            counters.half_open_min_ms.fetch_min(ms, Ordering::Relaxed);
            counters.half_open_max_ms.fetch_max(ms, Ordering::Relaxed);
        }
        Ending::Timeout => counters.add(Count::HalfOpenNotClosed),
        other => {
            counters.add(Count::Unexpected);
            counters.error("half-open", other.to_string());
        }
    }
    let _ = stream.set_zero_linger();
}

/// A check of the report: what is required, what was measured, and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// The requirement.
    pub text: String,
    /// The measured value.
    pub measured: String,
    /// `Some(true)` pass, `Some(false)` miss, `None` not measurable.
    pub pass: Option<bool>,
}

impl SoakRun {
    /// The return-to-baseline checks, and that the load ran as planned.
    pub fn checks(&self, config: &SoakConfig) -> Vec<Check> {
        let (base, after) = (&self.baseline, &self.after);
        let mut checks = vec![
            Check {
                text: format!("open fds back to baseline (± {})", config.fd_slack),
                measured: format!(
                    "{} → {} (peak {})",
                    base.fds,
                    after.fds,
                    self.peak(|s| Some(s.fds)).unwrap_or(0)
                ),
                pass: Some(after.fds <= base.fds + config.fd_slack),
            },
            Check {
                text: format!("RSS after ≤ baseline + {}", mib(config.rss_slack_kib)),
                measured: format!(
                    "{} → {} ({}; peak {})",
                    mib(base.rss_kib),
                    mib(after.rss_kib),
                    signed_mib(after.rss_kib as i64 - base.rss_kib as i64),
                    mib(self.peak(|s| Some(s.rss_kib)).unwrap_or(0))
                ),
                pass: Some(after.rss_kib <= base.rss_kib + config.rss_slack_kib),
            },
            Check {
                text: "threads back to baseline".to_owned(),
                measured: format!(
                    "{} → {} (peak {})",
                    base.threads,
                    after.threads,
                    self.peak(|s| Some(s.threads)).unwrap_or(0)
                ),
                pass: Some(after.threads <= base.threads),
            },
        ];
        let optional = |text: &str,
                        before: Option<u64>,
                        now: Option<u64>,
                        peak: Option<u64>,
                        limit: Option<u64>| {
            match (before, now, limit) {
                (Some(before), Some(now), Some(limit)) => Check {
                    text: text.to_owned(),
                    measured: format!("{before} → {now} (peak {})", peak.unwrap_or(0)),
                    pass: Some(now <= limit),
                },
                _ => Check {
                    text: text.to_owned(),
                    measured: "not reported by the server".to_owned(),
                    pass: None,
                },
            }
        };
        checks.push(optional(
            "connected clients back to 0",
            base.connected,
            after.connected,
            self.peak(|s| s.connected),
            Some(0),
        ));
        checks.push(optional(
            "tokio tasks back to baseline",
            base.tasks,
            after.tasks,
            self.peak(|s| s.tasks),
            base.tasks,
        ));
        let c = &self.counts;
        let b = &self.broadcast;
        let failures = c.get(Count::ChurnFailed) + c.get(Count::Unexpected) + b.failed as u64;
        checks.push(Check {
            text: "the load ran as planned (every echo answered, every bad client closed as expected, every broadcast delivered)".to_owned(),
            measured: format!(
                "{} churn failures, {} unexpected bad-input endings, {} broadcast receivers failed{}",
                c.get(Count::ChurnFailed),
                c.get(Count::Unexpected),
                b.failed,
                if b.settled { "" } else { ", broadcasts undelivered" }
            ),
            pass: Some(failures == 0 && b.settled && c.get(Count::ChurnEchoed) > 0),
        });
        checks
    }
}

/// `12.3 MiB`.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// `+1.2 MiB`, `−0.3 MiB`.
pub fn signed_mib(kib: i64) -> String {
    let sign = if kib < 0 { "−" } else { "+" };
    format!("{sign}{:.1} MiB", kib.unsigned_abs() as f64 / 1024.0)
}

/// The soak report (`BENCHMARKS-soak[-quick].md`).
#[derive(Debug)]
pub struct SoakReport<'a> {
    /// Sizes and rates used.
    pub config: &'a SoakConfig,
    /// The machine.
    pub machine: &'a Machine,
    /// One run per server.
    pub runs: &'a [Result<SoakRun, String>],
    /// The command that produced the report.
    pub command: String,
}

impl SoakReport<'_> {
    /// The whole Markdown document.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let (c, m) = (self.config, self.machine);
        let _ = writeln!(out, "# primus-rs soak\n");
        let _ = writeln!(
            out,
            "Produced by `{}` (see `bench/README.md`, *Soak*). Churn, broadcasts and bad\n\
             input run in parallel for {:.0} s against a fresh server; its RSS, open file\n\
             descriptors, threads, connected clients and tokio tasks are measured before\n\
             (baseline), once a second during, and after the load stopped and every client\n\
             socket was closed (settle up to {:.0} s, until the fds are back, then 1 s more).\n",
            self.command,
            c.duration.as_secs_f64(),
            c.settle.as_secs_f64()
        );
        let _ = writeln!(out, "## Machine\n");
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| date | {} |", m.date);
        let _ = writeln!(out, "| CPU | {} ({} cores) |", m.cpu_model, m.cores);
        let _ = writeln!(out, "| memory | {} |", m.memory);
        let _ = writeln!(out, "| OS, kernel | {}, Linux {} |", m.os, m.kernel);
        let _ = writeln!(out, "| rustc | {} |", m.rustc);
        let _ = writeln!(out, "| primus-rs commit | {} |", m.commit);
        let _ = writeln!(out, "\n## Load\n");
        let _ = writeln!(
            out,
            "- churn: {} connections/s, {} at once; each opens, echoes 32 B and closes with a close frame, a FIN or a reset, in turn\n\
             - broadcast: {} long-lived listeners and a trigger; {} broadcasts/s reach all {} of them (30-character strings)\n\
             - invalid JSON: {} connections/s; in turn {} invalid frames (limit {MAX_INVALID_FRAMES}), 10 and then an echo, one text frame that is not UTF-8\n\
             - oversize: {} connection/s announcing a {} MiB frame (limit 10 MiB) and sending {} KiB of it\n\
             - garbage TCP: {} connections/s; in turn a line of noise ending the head, 70 KiB of noise without a line end\n\
             - half-open: {} connections held at once; in turn a partial request head and nothing at all; the client waits {} s for the server to close\n",
            c.churn_rate,
            c.churn_workers,
            c.listeners,
            c.broadcast_rate,
            c.listeners + 1,
            c.invalid_rate,
            c.invalid_flood,
            c.oversize_rate,
            OVERSIZE_ANNOUNCED / (1024 * 1024),
            OVERSIZE_SENT / 1024,
            c.garbage_rate,
            c.half_open,
            HALF_OPEN_WAIT.as_secs()
        );
        let _ = writeln!(out, "## Checks\n");
        for run in self.runs {
            match run {
                Ok(run) => {
                    for check in run.checks(c) {
                        let verdict = match check.pass {
                            Some(true) => "**PASS**",
                            Some(false) => "**MISS**",
                            None => "n/a",
                        };
                        let _ = writeln!(
                            out,
                            "- {verdict} {}: {}: {}",
                            run.server.label(),
                            check.text,
                            check.measured
                        );
                    }
                }
                Err(error) => {
                    let _ = writeln!(out, "- **FAILED** {}", error);
                }
            }
        }
        let _ = writeln!(
            out,
            "\nThe RSS allowance ({}) is for memory the allocator keeps after the load:\n\
             glibc's malloc keeps freed chunks in per-thread arenas (the runtime's worker\n\
             threads each get one) and returns the top of a heap only above its trim\n\
             threshold, so RSS after a burst stays above a fresh process' even when every\n\
             allocation was freed. A leak grows with the load; the allowance does not.\n\
             Compare the *after* figures of a 10 s and a 60 s run (bench/NOTES.md).",
            mib(c.rss_slack_kib)
        );
        for run in self.runs.iter().flatten() {
            self.server_section(&mut out, run);
        }
        out
    }

    fn server_section(&self, out: &mut String, run: &SoakRun) {
        let _ = writeln!(out, "\n## {}\n", run.server.label());
        let (base, after) = (&run.baseline, &run.after);
        let opt = |v: Option<u64>| v.map_or("n/a".to_owned(), |v| v.to_string());
        let delta = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (Some(a), Some(b)) => format!("{:+}", b as i64 - a as i64),
            _ => "n/a".to_owned(),
        };
        let _ = writeln!(out, "| | baseline | peak during | after | after − baseline |");
        let _ = writeln!(out, "|---|---|---|---|---|");
        let _ = writeln!(
            out,
            "| RSS | {} | {} | {} | {} |",
            mib(base.rss_kib),
            mib(run.peak(|s| Some(s.rss_kib)).unwrap_or(0)),
            mib(after.rss_kib),
            signed_mib(after.rss_kib as i64 - base.rss_kib as i64)
        );
        for (name, figure) in [
            (
                "open fds",
                (|s: &Sample| Some(s.fds)) as fn(&Sample) -> Option<u64>,
            ),
            ("threads", |s: &Sample| Some(s.threads)),
            ("connected clients", |s: &Sample| s.connected),
            ("tokio tasks", |s: &Sample| s.tasks),
        ] {
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} |",
                opt(figure(base)),
                opt(run.peak(figure)),
                opt(figure(after)),
                delta(figure(base), figure(after))
            );
        }
        let _ = writeln!(
            out,
            "\nThe clients were gone {:.1} s after the load's deadline (half-open clients wait\n\
             for the server to close them); the server was back to baseline {} after that.\n\
             Server CPU during the load: {:.2} cores on average; load generator {:.2}; other\n\
             processes (*background*) {:.2}.\n",
            run.stopped_in.as_secs_f64(),
            run.settled_in
                .map_or("not within the settle limit".to_owned(), |d| format!(
                    "{:.1} s",
                    d.as_secs_f64()
                )),
            run.usage.server_ms / 1000.0 / run.usage.secs,
            run.usage.generator_ms / 1000.0 / run.usage.secs,
            run.usage.background_cores
        );
        let c = &run.counts;
        let b = &run.broadcast;
        let _ = writeln!(out, "| load | clients | outcome |\n|---|---|---|");
        let _ = writeln!(
            out,
            "| churn | {} | {} echoed; closed with a close frame {} (answered {}), a FIN {}, a reset {}; {} failed |",
            c.get(Count::ChurnStarted),
            c.get(Count::ChurnEchoed),
            c.get(Count::ChurnCloseAnswered) + c.get(Count::ChurnCloseUnanswered),
            c.get(Count::ChurnCloseAnswered),
            c.get(Count::ChurnFin),
            c.get(Count::ChurnReset),
            c.get(Count::ChurnFailed)
        );
        let _ = writeln!(
            out,
            "| broadcast | {} | {} broadcasts, {} deliveries ({} expected){}; {} receivers failed |",
            b.receivers,
            b.sent,
            b.delivered,
            b.sent * b.receivers as u64,
            if b.settled { "" } else { ", **not all delivered**" },
            b.failed
        );
        let _ = writeln!(
            out,
            "| invalid JSON flood | {} | {} closed with 1008 |",
            c.get(Count::FloodStarted),
            c.get(Count::Flood1008)
        );
        let _ = writeln!(
            out,
            "| 10 invalid, then an echo | {} | {} echoed |",
            c.get(Count::FewStarted),
            c.get(Count::FewEchoed)
        );
        let _ = writeln!(
            out,
            "| text not UTF-8 | {} | {} closed with 1007 |",
            c.get(Count::Utf8Started),
            c.get(Count::Utf8Closed1007)
        );
        let _ = writeln!(
            out,
            "| oversize frame | {} | {} closed with 1009 |",
            c.get(Count::OversizeStarted),
            c.get(Count::Oversize1009)
        );
        let _ = writeln!(
            out,
            "| garbage TCP | {} | {} answered 4xx, {} closed without an answer |",
            c.get(Count::GarbageStarted),
            c.get(Count::GarbageAnswered4xx),
            c.get(Count::GarbageClosedSilently)
        );
        let _ = writeln!(
            out,
            "| half-open | {} | {} closed by the server{} ({} sooner than {} s); {} still open after {} s; {} cut when the load stopped |",
            c.get(Count::HalfOpenStarted),
            c.get(Count::HalfOpenClosed),
            c.half_open_close_ms.map_or(String::new(), |(min, max)| format!(
                " after {:.1}–{:.1} s",
                min as f64 / 1000.0,
                max as f64 / 1000.0
            )),
            c.get(Count::HalfOpenClosedEarly),
            HANDSHAKE_TIMEOUT.as_secs(),
            c.get(Count::HalfOpenNotClosed),
            HALF_OPEN_WAIT.as_secs(),
            c.get(Count::HalfOpenStarted)
                .saturating_sub(c.get(Count::HalfOpenClosed) + c.get(Count::HalfOpenNotClosed))
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "{} unexpected bad-input endings.", c.get(Count::Unexpected));
        for (load, error) in &c.first_errors {
            let _ = writeln!(out, "First unexpected ending, {load}: {error}.");
        }
        if let Some(failure) = &b.first_failure {
            let _ = writeln!(out, "First broadcast receiver failure: {failure}.");
        }
        let _ = writeln!(
            out,
            "\nSamples (t = seconds since the load started; the load ran until {:.0} s, the\n\
             workers then stopped and the clients closed their sockets):\n",
            self.config.duration.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "| t (s) | RSS | fds | threads | connected | tasks |\n|---|---|---|---|---|---|"
        );
        let rows = std::iter::once(("baseline".to_owned(), base))
            .chain(run.during.iter().map(|s| (format!("{:.1}", s.at_secs), s)))
            .chain(
                run.settling
                    .iter()
                    .map(|s| (format!("{:.1} (settling)", s.at_secs), s)),
            )
            .chain(std::iter::once((format!("{:.1} (after)", after.at_secs), after)));
        for (label, sample) in rows {
            let _ = writeln!(
                out,
                "| {label} | {} | {} | {} | {} | {} |",
                mib(sample.rss_kib),
                sample.fds,
                sample.threads,
                opt(sample.connected),
                opt(sample.tasks)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(rss_kib: u64, fds: u64, connected: u64) -> Sample {
        Sample {
            at_secs: 0.0,
            rss_kib,
            fds,
            threads: 3,
            connected: Some(connected),
            tasks: Some(4),
        }
    }

    #[test]
    fn counts_cover_every_counter() {
        for (index, count) in Count::ALL.iter().enumerate() {
            assert_eq!(count.index(), index);
        }
    }

    #[test]
    fn checks_compare_with_the_baseline() {
        let config = SoakConfig::quick();
        let mut run = SoakRun {
            server: ServerKind::PrimusRaw,
            baseline: sample(10_000, 10, 0),
            during: vec![sample(30_000, 300, 250)],
            settling: Vec::new(),
            after: sample(12_000, 11, 0),
            settled_in: Some(Duration::from_secs(1)),
            stopped_in: Duration::from_secs(1),
            usage: Usage::default(),
            counts: Counts::default(),
            broadcast: BroadcastCounts {
                settled: true,
                ..BroadcastCounts::default()
            },
        };
        let checks = run.checks(&config);
        assert_eq!(checks[0].pass, Some(true), "{checks:?}");
        assert_eq!(checks[1].pass, Some(true));
        assert_eq!(checks[3].pass, Some(true));
        run.after = sample(10_000 + config.rss_slack_kib + 1, 10 + config.fd_slack + 1, 1);
        let checks = run.checks(&config);
        assert_eq!(checks[0].pass, Some(false));
        assert_eq!(checks[1].pass, Some(false));
        assert_eq!(checks[3].pass, Some(false));
        assert_eq!(signed_mib(-512), "−0.5 MiB");
    }
}
