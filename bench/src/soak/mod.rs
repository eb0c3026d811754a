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
//!
//! The clients are in [`clients`](self) (`soak/clients.rs`), the Markdown in
//! [`SoakReport`].

mod clients;
mod report;

pub use report::SoakReport;

use crate::loadgen::{self, BroadcastDialect, BroadcastPlan, OpenSpec, Outcome};
use crate::procfs::{self, Snapshot, Usage};
use crate::scenarios::echo_payload;
use crate::servers::{Environment, ServerKind, ServerProcess, StartOptions};
use crate::wire::{self, opcode};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Longest wait for any one answer from the server.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The server's handshake timeout (primus-rs' default): half-open
/// connections must be closed by then.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a half-open client waits for the server to close it.
pub const HALF_OPEN_WAIT: Duration = Duration::from_secs(15);

/// Invalid frames a spark may send before primus-rs closes it (its default).
pub const MAX_INVALID_FRAMES: usize = 100;

/// Length announced by the oversize frame: over primus-rs' 10 MiB default.
pub const OVERSIZE_ANNOUNCED: u64 = 16 * 1024 * 1024;

/// Bytes of the oversize frame actually sent.
pub const OVERSIZE_SENT: usize = 64 * 1024;

/// Most iterations of one worker (a bound far above what the deadline allows).
const MAX_ITERATIONS: u64 = 1_000_000;

/// Most reads while waiting for a connection to end.
pub(crate) const MAX_READS: usize = 10_000;

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
    /// The RSS may grow by this many KiB over the second half of the load.
    pub rss_growth_kib: u64,
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
            rss_growth_kib: 1024,
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

/// What was counted during the load (each variant says what it counts).
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
pub(crate) struct Counters {
    counts: Vec<AtomicU64>,
    /// The first unexpected ending of each load, for the report.
    first_errors: Mutex<Vec<(&'static str, String)>>,
    /// Fastest and slowest close of a half-open connection, ms.
    pub(crate) half_open_min_ms: AtomicU64,
    pub(crate) half_open_max_ms: AtomicU64,
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

    pub(crate) fn add(&self, count: Count) {
        self.counts[count.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn error(&self, load: &'static str, error: String) {
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
pub(crate) struct Context {
    pub(crate) addr: SocketAddr,
    pub(crate) counters: Counters,
    pub(crate) echo_request: Vec<u8>,
    pub(crate) echo_reply: Vec<u8>,
    pub(crate) invalid_flood: usize,
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
    if server == ServerKind::NodePrimus || server.speaks_socket_io() {
        return Err("the soak runs primus-rs and tokio-tungstenite only".to_owned());
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
            socket_io: false,
            compression: false,
        },
        Instant::now() + Duration::from_secs(30),
    )
    .await?;
    let plan = Arc::new(BroadcastPlan::new(
        receivers as u64,
        16,
        BroadcastDialect::primus(typed),
        30,
        Some(Duration::from_secs_f64(1.0 / config.broadcast_rate.max(0.01))),
    ));
    let (gate_control, gate) = loadgen::gate();
    gate_control.start_measuring();
    let drivers: Vec<JoinHandle<Outcome>> = loadgen::spawn_broadcast_drivers(opened, &plan, &gate);

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
                        clients::half_open(&context, turn).await;
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
        Job::Churn => Box::pin(clients::churn(context, turn)),
        Job::Invalid => Box::pin(clients::invalid(context, turn)),
        Job::Oversize => Box::pin(clients::oversize(context)),
        Job::Garbage => Box::pin(clients::garbage(context, turn)),
        Job::HalfOpen => Box::pin(clients::half_open(context, turn)),
    }
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
            self.rss_steady_check(config),
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
        let failures = c.get(Count::ChurnFailed)
            + c.get(Count::ChurnCloseUnanswered)
            + c.get(Count::Unexpected)
            + c.get(Count::HalfOpenNotClosed)
            + b.failed as u64;
        checks.push(Check {
            text: "the load ran as planned (every echo and close frame answered, every bad client closed as expected, every broadcast delivered)".to_owned(),
            measured: format!(
                "{} churn failures, {} close frames unanswered, {} unexpected bad-input endings, \
                 {} half-open connections left open, {} broadcast receivers failed{}",
                c.get(Count::ChurnFailed),
                c.get(Count::ChurnCloseUnanswered),
                c.get(Count::Unexpected),
                c.get(Count::HalfOpenNotClosed),
                b.failed,
                if b.settled { "" } else { ", broadcasts undelivered" }
            ),
            pass: Some(failures == 0 && b.settled && c.get(Count::ChurnEchoed) > 0),
        });
        checks
    }
}

impl SoakRun {
    /// The load is the same from start to end, so once its connections
    /// are up the server's RSS should stop growing: compare the first
    /// sample of the load's second half with the last one.
    fn rss_steady_check(&self, config: &SoakConfig) -> Check {
        let half = config.duration.as_secs_f64() / 2.0;
        let text = format!(
            "RSS flat over the load's second half (≤ +{})",
            mib(config.rss_growth_kib)
        );
        let middle = self.during.iter().find(|s| s.at_secs >= half);
        match (middle, self.during.last()) {
            (Some(middle), Some(last)) if last.at_secs > middle.at_secs => Check {
                text,
                measured: format!(
                    "{} at {:.0} s → {} at {:.0} s ({})",
                    mib(middle.rss_kib),
                    middle.at_secs,
                    mib(last.rss_kib),
                    last.at_secs,
                    signed_mib(last.rss_kib as i64 - middle.rss_kib as i64)
                ),
                pass: Some(last.rss_kib <= middle.rss_kib + config.rss_growth_kib),
            },
            _ => Check {
                text,
                measured: "too few samples".to_owned(),
                pass: None,
            },
        }
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
        let verdict = |run: &SoakRun, prefix: &str| {
            let checks = run.checks(&config);
            checks
                .iter()
                .find(|c| c.text.starts_with(prefix))
                .unwrap_or_else(|| panic!("no check {prefix:?} in {checks:?}"))
                .pass
        };
        for prefix in [
            "open fds",
            "RSS after",
            "connected clients",
            "tokio tasks",
            "threads",
        ] {
            assert_eq!(verdict(&run, prefix), Some(true), "{prefix}");
        }
        // One sample: the second half cannot be compared.
        assert_eq!(verdict(&run, "RSS flat"), None);
        run.during = (0..=10)
            .map(|t| Sample {
                at_secs: t as f64,
                ..sample(20_000 + t * 300, 300, 250)
            })
            .collect();
        assert_eq!(verdict(&run, "RSS flat"), Some(false));
        run.after = Sample {
            tasks: Some(5),
            ..sample(10_000 + config.rss_slack_kib + 1, 10 + config.fd_slack + 1, 1)
        };
        for prefix in ["open fds", "RSS after", "connected clients", "tokio tasks"] {
            assert_eq!(verdict(&run, prefix), Some(false), "{prefix}");
        }
        // The load check needs echoes.
        assert_eq!(verdict(&run, "the load ran"), Some(false));
        assert_eq!(signed_mib(-512), "−0.5 MiB");
    }
}
