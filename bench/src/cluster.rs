//! The cluster benchmark (`primus-bench cluster`): broadcasts reaching
//! 10,000 connections spread over two server processes on one Redis, for
//! primus-rs (`primus::cluster::redis`) and for Node Socket.IO 4.8 with
//! `@socket.io/redis-adapter`, beside the same load on a single process of
//! each, all in one run on one `redis-server`.
//!
//! | setup | processes | connections |
//! |---|---|---|
//! | one node | `bench-server raw`, or `socketio-server.js` | all on it |
//! | two nodes | two of them with `--redis URL` | every other one on each; the trigger on node 1 |
//!
//! One connection (on node 1) asks for broadcasts at a fixed rate, at most
//! `broadcast_window` of them incomplete at once; every connection (the
//! trigger too) counts its deliveries and the time from the request to the
//! delivery. Figures per node: CPU time per 1,000 deliveries it made, and
//! the p50/p99 delivery latency of its connections (node 1 is local to the
//! trigger, node 2 is across Redis); and Redis' own CPU. Rounds interleave
//! the four setups; ratios are taken per round, then their median.

use crate::latency::{Samples, Summary};
use crate::loadgen::{self, BroadcastDialect, BroadcastPlan};
use crate::procfs::Snapshot;
use crate::report::median;
use crate::scenarios::{broadcast_window, Config};
use crate::servers::{Environment, ServerKind, ServerProcess, StartOptions};
use crate::wire::{self, Conn, WireError};
use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// Sizes of a cluster run.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Rounds, warm-up, measured window, window of broadcasts in flight,
    /// broadcast length and connection concurrency (the suite's settings).
    pub suite: Config,
    /// Connections in all, trigger included.
    pub conns: usize,
    /// The loads, each run for every setup.
    pub loads: Vec<ClusterLoad>,
    /// The frameworks run (both by default).
    pub stacks: Vec<Stack>,
}

/// How fast the trigger asks for broadcasts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClusterLoad {
    /// Whenever the window allows: CPU per delivery with the batching a
    /// busy server gets (the figure the CPU target is about).
    Peak,
    /// This many broadcasts a second: latency without queueing (the figure
    /// the latency target is about); CPU is then mostly one write and one
    /// wake-up per delivery, for every server.
    Rate(f64),
}

impl ClusterLoad {
    fn label(self) -> String {
        match self {
            ClusterLoad::Peak => "peak".to_owned(),
            ClusterLoad::Rate(rate) => format!("{rate} broadcasts/s"),
        }
    }
}

impl ClusterConfig {
    /// 10,000 connections, peak and 5 broadcasts a second (50,000
    /// deliveries/s), 3 rounds.
    pub fn full() -> ClusterConfig {
        ClusterConfig {
            suite: Config {
                rounds: 3,
                ..Config::full()
            },
            conns: 10_000,
            loads: vec![ClusterLoad::Peak, ClusterLoad::Rate(5.0)],
            stacks: vec![Stack::PrimusRs, Stack::SocketIo],
        }
    }

    /// 2,000 connections, one round: for development.
    pub fn quick() -> ClusterConfig {
        ClusterConfig {
            suite: Config {
                rounds: 1,
                ..Config::quick()
            },
            conns: 2_000,
            loads: vec![ClusterLoad::Peak, ClusterLoad::Rate(10.0)],
            stacks: vec![Stack::PrimusRs, Stack::SocketIo],
        }
    }
}

/// The framework under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    /// primus-rs, raw data handlers (`bench-server raw`), `RedisBroadcast`.
    PrimusRs,
    /// Node Socket.IO 4.8 with `@socket.io/redis-adapter`.
    SocketIo,
}

impl Stack {
    /// The framework a server kind of `--servers` stands for (`raw`, `socketio`).
    pub fn of(kind: ServerKind) -> Option<Stack> {
        match kind {
            ServerKind::PrimusRaw => Some(Stack::PrimusRs),
            ServerKind::NodeSocketIo => Some(Stack::SocketIo),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Stack::PrimusRs => "primus-rs",
            Stack::SocketIo => "Socket.IO 4.8",
        }
    }

    fn kind(self) -> ServerKind {
        match self {
            Stack::PrimusRs => ServerKind::PrimusRaw,
            Stack::SocketIo => ServerKind::NodeSocketIo,
        }
    }
}

/// What one node did in a measured window.
#[derive(Debug, Clone)]
pub struct NodeFigures {
    /// Deliveries to this node's connections while measuring.
    pub deliveries: u64,
    /// The node's CPU time in the window, ms.
    pub cpu_ms: f64,
    /// Request-to-delivery times of this node's connections.
    pub latency: Option<Summary>,
}

impl NodeFigures {
    /// CPU ms per 1,000 deliveries made by this node.
    pub fn cpu_per_1k(&self) -> f64 {
        self.cpu_ms / (self.deliveries.max(1) as f64 / 1000.0)
    }
}

/// One measured run of one setup.
#[derive(Debug, Clone)]
pub struct ClusterRun {
    /// Per node, node 1 (the trigger's) first.
    pub nodes: Vec<NodeFigures>,
    /// Broadcasts asked for while measuring.
    pub broadcasts: u64,
    /// Length of the measured window, s.
    pub secs: f64,
    /// Redis' CPU time in the window, ms (two-node setups).
    pub redis_cpu_ms: Option<f64>,
    /// Other processes' CPU in the window, in cores.
    pub background_cores: f64,
}

/// A `redis-server` for the run: a free port on 127.0.0.1, nothing saved,
/// killed when dropped.
struct RedisProcess {
    child: Child,
    port: u16,
}

impl RedisProcess {
    async fn start() -> Result<RedisProcess, String> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--maxclients", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start redis-server (apt-get install redis-server): {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if Instant::now() > deadline {
                return Err("redis-server did not listen within 10 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(RedisProcess { child, port })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn pid(&self) -> Option<u32> {
        self.child.id()
    }
}

/// Opens one connection of `stack` at `addr`; the trigger's is marked
/// (primus-rs: `?bench=trigger`) and other primus-rs connections wait for
/// an echo so that their spark is up; Socket.IO connections finish the
/// Socket.IO handshake ([`Conn::open_socket_io`]).
async fn open(stack: Stack, addr: SocketAddr, trigger: bool, timeout: Duration) -> Result<Conn, WireError> {
    let started = Instant::now();
    let left = || timeout.saturating_sub(started.elapsed());
    match stack {
        Stack::PrimusRs => {
            let query = if trigger { "bench=trigger" } else { "" };
            let mut conn = Conn::open(addr, query, 4 * 1024, timeout).await?;
            if !trigger {
                conn.send(&wire::client_frame(wire::opcode::TEXT, b"\"probe\""))
                    .await?;
                conn.next_data(left()).await?;
            }
            Ok(conn)
        }
        Stack::SocketIo => Conn::open_socket_io(addr, 4 * 1024, timeout).await,
    }
}

/// One run: `nodes` processes of `stack` (on `redis` when more than one),
/// connections spread over them, broadcasts at the configured rate.
async fn run_once(
    config: &ClusterConfig,
    env: &Environment,
    stack: Stack,
    nodes: usize,
    load: ClusterLoad,
    redis: &RedisProcess,
) -> Result<ClusterRun, String> {
    let mut processes = Vec::with_capacity(nodes);
    for node in 0..nodes {
        let options = StartOptions {
            redis: (nodes > 1).then(|| redis.url()),
            ..StartOptions::default()
        };
        let log = format!("cluster-{}-{nodes}-node{}", stack.kind().id(), node + 1);
        processes.push(ServerProcess::start(stack.kind(), env, options, &log).await?);
    }
    // Let the nodes subscribe before anything is published.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let addrs: Arc<[SocketAddr]> = processes.iter().map(ServerProcess::addr).collect();
    let conns = config.conns;
    let (opened, _) = loadgen::open_concurrently(
        conns,
        config.suite.open_concurrency,
        Instant::now() + Duration::from_secs(180),
        move |index, timeout| {
            let addr = addrs[index % addrs.len()];
            async move { open(stack, addr, index == 0, timeout).await }
        },
    )
    .await?;
    let dialect = match stack {
        Stack::PrimusRs => BroadcastDialect::Primus,
        Stack::SocketIo => BroadcastDialect::SocketIo,
    };
    let plan = Arc::new(BroadcastPlan::new(
        conns as u64,
        config.suite.broadcast_window,
        dialect,
        config.suite.broadcast_data_len,
        match load {
            ClusterLoad::Peak => None,
            ClusterLoad::Rate(rate) => Some(Duration::from_secs_f64(1.0 / rate)),
        },
    ));
    let redis_pid = redis.pid();
    let redis_before = redis_pid.and_then(|pid| Snapshot::take(pid).ok());
    let window = broadcast_window(&config.suite, processes, &plan, |gate| {
        loadgen::spawn_broadcast_drivers(opened, &plan, &gate)
    })
    .await?;
    let redis_after = redis_pid.and_then(|pid| Snapshot::take(pid).ok());
    let mut deliveries = vec![0u64; nodes];
    let mut samples: Vec<Samples> = (0..nodes).map(|_| Samples::default()).collect();
    let mut broadcasts = 0;
    for (index, outcome) in window.outcomes.into_iter().enumerate() {
        deliveries[index % nodes] += outcome.count;
        broadcasts += outcome.sent;
        samples[index % nodes].merge(outcome.samples);
    }
    let usage = window.usages.first().copied().unwrap_or_default();
    // Redis' CPU over the whole run (warm-up and settling included), scaled
    // to the measured window: a figure of its cost, not a precise one.
    let redis_cpu_ms = redis_before.zip(redis_after).and_then(|(before, after)| {
        let whole = before.until(&after);
        (nodes > 1 && whole.secs > 0.0).then(|| whole.server_ms * usage.secs / whole.secs)
    });
    Ok(ClusterRun {
        nodes: window
            .usages
            .iter()
            .zip(deliveries)
            .zip(samples)
            .map(|((usage, deliveries), samples)| NodeFigures {
                deliveries,
                cpu_ms: usage.server_ms,
                latency: samples.summary(),
            })
            .collect(),
        broadcasts,
        secs: usage.secs,
        redis_cpu_ms,
        background_cores: usage.background_cores,
    })
}

/// The four setups, in the order each round runs them.
pub const SETUPS: [(Stack, usize); 4] = [
    (Stack::PrimusRs, 1),
    (Stack::PrimusRs, 2),
    (Stack::SocketIo, 1),
    (Stack::SocketIo, 2),
];

/// Every round's runs of one setup (`None` where a run failed).
#[derive(Debug, Clone)]
pub struct SetupRuns {
    /// The framework.
    pub stack: Stack,
    /// Its processes.
    pub nodes: usize,
    /// The load.
    pub load: ClusterLoad,
    /// One entry per round.
    pub rounds: Vec<Result<ClusterRun, String>>,
}

/// Runs every setup `rounds` times, interleaved, on one `redis-server`.
pub async fn run(config: &ClusterConfig, env: &Environment) -> Result<Vec<SetupRuns>, String> {
    let redis = RedisProcess::start().await?;
    let mut results: Vec<SetupRuns> = config
        .loads
        .iter()
        .flat_map(|&load| {
            SETUPS
                .iter()
                .filter(|(stack, _)| config.stacks.contains(stack))
                .map(move |&(stack, nodes)| SetupRuns {
                    stack,
                    nodes,
                    load,
                    rounds: Vec::new(),
                })
        })
        .collect();
    for round in 0..config.suite.rounds {
        for setup in &mut results {
            eprintln!(
                "cluster round {}/{}: {} on {} node(s), {}…",
                round + 1,
                config.suite.rounds,
                setup.stack.label(),
                setup.nodes,
                setup.load.label()
            );
            let run = run_once(config, env, setup.stack, setup.nodes, setup.load, &redis).await;
            if let Err(why) = &run {
                eprintln!("  failed: {why}");
            }
            setup.rounds.push(run);
            // Let the previous run's sockets close before the next opens 10,000.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    Ok(results)
}

/// The report: per load, a table of figures (medians over rounds), the
/// paired ratios and the targets.
pub fn render(config: &ClusterConfig, results: &[SetupRuns], machine: &str, command: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Cluster benchmark\n");
    let _ = writeln!(
        out,
        "`{command}`: {} connections, broadcasts of a {}-character string, at most {} incomplete, \
         {} round(s) of {:.0} s measured after {:.0} s of warm-up. {machine}\n",
        config.conns,
        config.suite.broadcast_data_len,
        config.suite.broadcast_window,
        config.suite.rounds,
        config.suite.measure.as_secs_f64(),
        config.suite.warmup.as_secs_f64(),
    );
    let mut targets = Vec::new();
    for &load in &config.loads {
        let of_load: Vec<&SetupRuns> = results.iter().filter(|s| s.load == load).collect();
        let _ = writeln!(out, "## {}\n", load.label());
        table(&mut out, &of_load);
        let find = |stack, nodes| {
            of_load
                .iter()
                .copied()
                .find(|s| s.stack == stack && s.nodes == nodes)
        };
        let ours = find(Stack::PrimusRs, 2);
        let _ = writeln!(
            out,
            "\nPaired ratios (each round's figure over the other setup's in the same round; median):\n"
        );
        for node in 0..2 {
            let ratio = paired(ours, find(Stack::SocketIo, 2), &|a, b| {
                Some(a.nodes.get(node)?.cpu_per_1k() / b.nodes.get(node)?.cpu_per_1k())
            });
            let single = paired(ours, find(Stack::PrimusRs, 1), &|a, b| {
                Some(a.nodes.get(node)?.cpu_per_1k() / b.nodes.first()?.cpu_per_1k())
            });
            let _ = writeln!(
                out,
                "- node {}: CPU per delivery, primus-rs / Socket.IO (both on 2 nodes) {}x; primus-rs on 2 nodes / on 1 node {}x",
                node + 1,
                fmt(ratio, 3),
                fmt(single, 3)
            );
            if load == ClusterLoad::Peak {
                targets.push((
                    format!(
                        "peak, node {}: CPU per delivery at most 0.2x Socket.IO's",
                        node + 1
                    ),
                    fmt(ratio, 3) + "x",
                    ratio.map(|r| r <= 0.2),
                ));
            }
        }
        let gap = paired(ours, ours, &|a, _| {
            let local = a.nodes.first()?.latency?.p99_us;
            let remote = a.nodes.get(1)?.latency?.p99_us;
            Some((f64::from(remote) - f64::from(local)) / 1000.0)
        });
        let _ = writeln!(
            out,
            "- primus-rs on 2 nodes: p99 across Redis minus p99 local {} ms\n",
            fmt(gap, 2)
        );
        if let ClusterLoad::Rate(_) = load {
            targets.push((
                format!("{}: cross-node p99 within 2 ms of local", load.label()),
                fmt(gap, 2) + " ms",
                gap.map(|g| g <= 2.0),
            ));
        }
    }
    let _ = writeln!(out, "## Targets\n");
    for (what, value, pass) in targets {
        let verdict = match pass {
            Some(true) => "PASS",
            Some(false) => "MISS",
            None => "n/a",
        };
        let _ = writeln!(out, "- {verdict}: {what} ({value})");
    }
    out
}

/// One load's table: a line per node of each setup, medians over rounds.
fn table(out: &mut String, setups: &[&SetupRuns]) {
    let _ = writeln!(
        out,
        "| setup | node | deliveries/s | CPU ms / 1k deliveries | p50 ms | p99 ms | Redis CPU ms / 1k deliveries | other processes, cores |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|");
    for setup in setups {
        let runs: Vec<&ClusterRun> = setup.rounds.iter().filter_map(|r| r.as_ref().ok()).collect();
        for node in 0..setup.nodes {
            let pick = |f: &dyn Fn(&ClusterRun) -> Option<f64>| median(runs.iter().filter_map(|run| f(run)));
            let rate = pick(&|run| Some(run.nodes.get(node)?.deliveries as f64 / run.secs));
            let cpu = pick(&|run| Some(run.nodes.get(node)?.cpu_per_1k()));
            let p50 = pick(&|run| Some(f64::from(run.nodes.get(node)?.latency?.p50_us) / 1000.0));
            let p99 = pick(&|run| Some(f64::from(run.nodes.get(node)?.latency?.p99_us) / 1000.0));
            let redis = pick(&|run| {
                let total: u64 = run.nodes.iter().map(|n| n.deliveries).sum();
                Some(run.redis_cpu_ms? / (total.max(1) as f64 / 1000.0))
            });
            let background = pick(&|run| Some(run.background_cores));
            let node_name = match (setup.nodes, node) {
                (1, _) => "only".to_owned(),
                (_, 0) => "1 (trigger's)".to_owned(),
                (_, n) => format!("{} (across Redis)", n + 1),
            };
            let first = |text: String| if node == 0 { text } else { String::new() };
            let _ = writeln!(
                out,
                "| {} on {} node(s) | {node_name} | {} | {} | {} | {} | {} | {} |",
                setup.stack.label(),
                setup.nodes,
                fmt(rate, 0),
                fmt(cpu, 2),
                fmt(p50, 2),
                fmt(p99, 2),
                first(fmt(redis, 3)),
                first(fmt(background, 2)),
            );
        }
    }
    for setup in setups {
        for (round, run) in setup.rounds.iter().enumerate() {
            if let Err(why) = run {
                let _ = writeln!(
                    out,
                    "\nround {}: {} on {} node(s) failed: {why}",
                    round + 1,
                    setup.stack.label(),
                    setup.nodes
                );
            }
        }
    }
}

/// The median over rounds of `f(a's run, b's run)` for the rounds where
/// both succeeded.
fn paired(
    a: Option<&SetupRuns>,
    b: Option<&SetupRuns>,
    f: &dyn Fn(&ClusterRun, &ClusterRun) -> Option<f64>,
) -> Option<f64> {
    let (a, b) = (a?, b?);
    median(
        a.rounds
            .iter()
            .zip(&b.rounds)
            .filter_map(|(x, y)| f(x.as_ref().ok()?, y.as_ref().ok()?)),
    )
}

fn fmt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".to_owned(), |v| format!("{v:.decimals$}"))
}
