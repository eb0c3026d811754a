//! `primus-bench`: runs the benchmark suite and writes the report.
//!
//! ```text
//! primus-bench [COMMAND] [OPTIONS]
//!
//! COMMAND   all (default) | echo | broadcast | idle | setup | transports | micro | soak | cluster | compression
//! --quick            small counts and short windows (development; soak: 10 s)
//! --rounds N         repetitions of echo, broadcast and setup (default 3, quick 1)
//! --servers LIST     comma-separated: typed,raw,tungstenite,node,socketioxide-typed,socketioxide
//!                    (default all); cluster: raw,socketio; compression: raw,node,yawc
//! --no-micro         `all` without the criterion microbenchmarks
//! --out PATH         where to write the report
//! --measure SECS     length of each measured window (default 5, quick 1)
//! --warmup SECS      warm-up before each window (default 1, quick 0.3)
//! --duration SECS    soak: how long the load runs (default 60, quick 10)
//! --transports LIST  transports: any of eio-ws,eio-polling,sockjs-ws,sockjs-xhr-streaming (default all)
//! ```
//!
//! `compression` (permessage-deflate off and on, primus-rs `raw` against
//! Node Primus and yawc) is not part of `all` either; it writes its own report.
//!
//! `soak` is not part of `all`: it runs typed and raw by default (and
//! tungstenite when asked), and writes its own report.
//!
//! A full `all` writes `BENCHMARKS.md` at the workspace root; anything else
//! writes `target/primus-bench/BENCHMARKS-<command>[-quick].md`, so a
//! development run never overwrites the published figures.

use primus_bench::cluster::{self, ClusterConfig};
use primus_bench::compression::{self, CompressionConfig};
use primus_bench::machine::Machine;
use primus_bench::report::Report;
use primus_bench::scenarios::{Config, Scenario};
use primus_bench::servers::{self, Environment, ServerKind};
use primus_bench::soak::{self, SoakConfig, SoakReport};
use primus_bench::transport::Transport;
use primus_bench::{fdlimit, micro};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug)]
struct Args {
    command: String,
    quick: bool,
    rounds: Option<usize>,
    servers: Option<Vec<ServerKind>>,
    micro: bool,
    out: Option<PathBuf>,
    measure: Option<f64>,
    warmup: Option<f64>,
    duration: Option<f64>,
    transports: Option<Vec<Transport>>,
}

fn usage() -> &'static str {
    "usage: primus-bench [all|echo|broadcast|idle|setup|transports|micro|soak|cluster|compression] [--quick] [--rounds N] \
     [--servers typed,raw,tungstenite,node,socketioxide-typed,socketioxide,socketio,yawc] [--no-micro] [--out PATH] [--measure SECS] [--warmup SECS] \
     [--duration SECS] [--transports eio-ws,eio-polling,sockjs-ws,sockjs-xhr-streaming]"
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        command: "all".to_owned(),
        quick: false,
        rounds: None,
        servers: None,
        micro: true,
        out: None,
        measure: None,
        warmup: None,
        duration: None,
        transports: None,
    };
    let mut iter = std::env::args().skip(1);
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "all" | "echo" | "broadcast" | "idle" | "setup" | "transports" | "micro" | "soak" | "cluster"
            | "compression" => args.command = arg,
            "--quick" => args.quick = true,
            "--no-micro" => args.micro = false,
            "--rounds" => {
                let rounds = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|n: &usize| *n > 0);
                args.rounds = Some(rounds.ok_or("--rounds needs a positive number")?);
            }
            "--servers" => {
                let list = iter.next().ok_or("--servers needs a list")?;
                let kinds = list
                    .split(',')
                    .map(|id| ServerKind::from_id(id.trim()).ok_or(format!("unknown server {id:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                args.servers = Some(kinds);
            }
            "--transports" => {
                let list = iter.next().ok_or("--transports needs a list")?;
                let transports = list
                    .split(',')
                    .map(|id| Transport::from_id(id.trim()).ok_or(format!("unknown transport {id:?}")))
                    .collect::<Result<Vec<_>, _>>()?;
                args.transports = Some(transports);
            }
            "--out" => args.out = Some(iter.next().ok_or("--out needs a path")?.into()),
            "--measure" | "--warmup" => {
                let secs = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s: &f64| *s > 0.0 && *s < 600.0);
                let secs = secs.ok_or(format!("{arg} needs a number of seconds (below 600)"))?;
                if arg == "--measure" {
                    args.measure = Some(secs);
                } else {
                    args.warmup = Some(secs);
                }
            }
            "--duration" => {
                let secs = iter
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|s: &f64| *s >= 1.0 && *s <= 3600.0);
                args.duration = Some(secs.ok_or("--duration needs a number of seconds (1 to 3600)")?);
            }
            "-h" | "--help" => return Err(usage().to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{}", usage())),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this is a debug build; the load generator may become the bottleneck (use --release)"
        );
    }
    match fdlimit::raise() {
        Ok(limit) if limit < 11_000 => {
            eprintln!("warning: open-file limit is {limit}; the 10,000-connection scenarios may fail")
        }
        Ok(_) => {}
        Err(error) => eprintln!("warning: cannot raise the open-file limit: {error}"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(path) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("primus-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<PathBuf, String> {
    if args.command == "soak" {
        return run_soak(args).await;
    }
    if args.command == "cluster" {
        return run_cluster(args).await;
    }
    if args.command == "compression" {
        return run_compression(args).await;
    }
    let mut config = if args.quick {
        Config::quick()
    } else {
        Config::full()
    };
    apply_window(&args, &mut config);
    if let Some(transports) = &args.transports {
        config.transports = Transport::ALL
            .into_iter()
            .filter(|t| transports.contains(t))
            .collect();
    }
    if let Some(servers) = &args.servers {
        config.servers = ServerKind::ALL
            .into_iter()
            .filter(|k| servers.contains(k))
            .collect();
    }
    let scenarios: Vec<Scenario> = match args.command.as_str() {
        "all" => Scenario::ALL.to_vec(),
        "echo" => vec![Scenario::Echo],
        "broadcast" => vec![Scenario::Broadcast],
        "idle" => vec![Scenario::Idle],
        "setup" => vec![Scenario::Setup],
        "transports" => vec![Scenario::Transports],
        _ => Vec::new(),
    };
    let run_micro = args.command == "micro" || (args.command == "all" && args.micro);

    let env = Environment::prepare(config.servers.contains(&ServerKind::NodePrimus)).await?;
    if let Err(why) = &env.node {
        if config.servers.contains(&ServerKind::NodePrimus) {
            eprintln!("warning: Node Primus will not run: {why}");
        }
    }
    let machine = Machine::describe(env.node.as_ref().map(|n| n.version.clone()).map_err(Clone::clone)).await;
    let results = primus_bench::suite::run(&config, &env, &scenarios).await;
    let micro = if run_micro {
        Some(micro::run(config.quick).await)
    } else {
        None
    };
    let notes = std::fs::read_to_string(servers::workspace_root().join("bench").join("NOTES.md")).ok();
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let report = Report {
        config: &config,
        machine: &machine,
        results: &results,
        micro: micro.as_ref(),
        notes,
        command: rerun_command(&command),
        bench_server_override: std::env::var("PRIMUS_BENCH_SERVER").ok(),
    };
    let path = args.out.unwrap_or_else(|| {
        let complete = args.servers.is_none()
            && args.rounds.is_none()
            && args.measure.is_none()
            && args.warmup.is_none()
            && args.transports.is_none()
            // Experiments (bench/README.md) never replace the suite's report.
            && std::env::var_os("PRIMUS_BENCH_SERVER").is_none()
            && std::env::var_os("PRIMUS_BENCH_RUNTIME").is_none();
        if args.command == "all" && !args.quick && complete {
            servers::workspace_root().join("BENCHMARKS.md")
        } else {
            let quick = if args.quick { "-quick" } else { "" };
            servers::target_dir()
                .join("primus-bench")
                .join(format!("BENCHMARKS-{}{quick}.md", args.command))
        }
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, report.render()).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// `cluster`: primus-rs and Socket.IO on one and two nodes over one Redis.
async fn run_cluster(args: Args) -> Result<PathBuf, String> {
    let mut config = if args.quick {
        ClusterConfig::quick()
    } else {
        ClusterConfig::full()
    };
    apply_window(&args, &mut config.suite);
    if let Some(servers) = &args.servers {
        // `raw` keeps the primus-rs setups, `socketio` the Socket.IO ones.
        config.stacks = servers
            .iter()
            .filter_map(|kind| cluster::Stack::of(*kind))
            .collect();
        if config.stacks.is_empty() {
            return Err("cluster runs raw (primus-rs) and socketio (Socket.IO)".to_owned());
        }
    }
    let env = Environment::prepare(true).await?;
    let node = env.node.as_ref().map(|n| n.version.clone()).map_err(Clone::clone);
    let machine = Machine::describe(node).await;
    let results = cluster::run(&config, &env).await?;
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let report = cluster::render(
        &config,
        &results,
        &machine_line(&machine),
        &rerun_command(&command),
    );
    write_report(args.out, "cluster", args.quick, &report)
}

/// `compression`: its own configuration and report.
async fn run_compression(args: Args) -> Result<PathBuf, String> {
    let mut config = if args.quick {
        CompressionConfig::quick()
    } else {
        CompressionConfig::full()
    };
    apply_window(&args, &mut config.suite);
    if let Some(servers) = &args.servers {
        config.servers.retain(|kind| servers.contains(kind));
    }
    let env = Environment::prepare(config.servers.contains(&ServerKind::NodePrimus)).await?;
    let node = env.node.as_ref().map(|n| n.version.clone()).map_err(Clone::clone);
    let machine = Machine::describe(node).await;
    let results = compression::run(&config, &env).await;
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let report = compression::render(
        &config,
        &results,
        &machine_line(&machine),
        &rerun_command(&command),
    );
    write_report(args.out, "compression", args.quick, &report)
}

/// `--rounds`, `--measure` and `--warmup` applied to a command's suite
/// settings.
fn apply_window(args: &Args, suite: &mut Config) {
    if let Some(rounds) = args.rounds {
        suite.rounds = rounds;
    }
    if let Some(secs) = args.measure {
        suite.measure = std::time::Duration::from_secs_f64(secs);
    }
    if let Some(secs) = args.warmup {
        suite.warmup = std::time::Duration::from_secs_f64(secs);
    }
}

/// The machine, in one line for the reports of `cluster` and `compression`.
fn machine_line(machine: &Machine) -> String {
    format!(
        "{} cores ({}), {}, commit {}, {}, node {}, {}",
        machine.cores,
        machine.cpu_model,
        machine.kernel,
        machine.commit,
        machine.rustc,
        machine.node,
        machine.date
    )
}

/// Writes a report of `command` to `out`, or by default to
/// `target/primus-bench/BENCHMARKS-<command>[-quick].md`.
fn write_report(out: Option<PathBuf>, command: &str, quick: bool, text: &str) -> Result<PathBuf, String> {
    let path = out.unwrap_or_else(|| {
        let quick = if quick { "-quick" } else { "" };
        servers::target_dir()
            .join("primus-bench")
            .join(format!("BENCHMARKS-{command}{quick}.md"))
    });
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// `soak`: its own configuration, servers and report.
async fn run_soak(args: Args) -> Result<PathBuf, String> {
    let mut config = if args.quick {
        SoakConfig::quick()
    } else {
        SoakConfig::full()
    };
    if let Some(secs) = args.duration {
        config.duration = std::time::Duration::from_secs_f64(secs);
    }
    if let Some(servers) = &args.servers {
        if servers
            .iter()
            .any(|s| matches!(s, ServerKind::NodePrimus | ServerKind::Yawc) || s.speaks_socket_io())
        {
            return Err(
                "soak runs primus-rs and tokio-tungstenite only (typed, raw, tungstenite)".to_owned(),
            );
        }
        config.servers = ServerKind::ALL
            .into_iter()
            .filter(|k| servers.contains(k))
            .collect();
    }
    let env = Environment::prepare(false).await?;
    let machine = Machine::describe(Err("not used".to_owned())).await;
    let runs = soak::run(&config, &env).await;
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let report = SoakReport {
        config: &config,
        machine: &machine,
        runs: &runs,
        command: rerun_command(&command),
    };
    write_report(args.out, "soak", args.quick, &report.render())
}

/// The command that repeats this run, as the reports print it (with the
/// runtime experiment's variable when it was set).
fn rerun_command(arguments: &str) -> String {
    let command = format!("cargo run --release -p primus-bench -- {arguments}");
    match std::env::var("PRIMUS_BENCH_RUNTIME") {
        Ok(runtime) => format!("PRIMUS_BENCH_RUNTIME={runtime} {command}"),
        Err(_) => command,
    }
    .trim()
    .to_owned()
}
