//! `primus-bench compression`: permessage-deflate off and on, primus-rs
//! (`raw`, `Server::builder().compression(true)`) against Node Primus 8
//! (`compression: true`, npm `ws` underneath) and against yawc 0.3 (a Rust
//! WebSocket library with its own permessage-deflate, configured as
//! primus-rs': level 1, no context takeover) in the same run.
//!
//! Each round runs, for each server and each setting, on a fresh server:
//! a closed-loop echo of `echo_size`-byte messages (requests compressed by
//! the load generator when compression is on, replies inflated and
//! compared) and a broadcast of `broadcast_len`-byte strings to
//! `broadcast_conns` connections (every receiver inflates). Ratios are
//! paired per round (primus-rs' figure over a reference's in the same
//! round and setting, then the median), as in the main report.

use crate::latency::Summary;
use crate::report::median;
use crate::scenarios::{self, BroadcastRun, Config, EchoRun, Load};
use crate::servers::{Environment, ServerKind};
use std::fmt::Write as _;

/// What a compression run does.
#[derive(Debug, Clone)]
pub struct CompressionConfig {
    /// Rounds, windows and connection counts of the suite (`echo_conns`,
    /// `echo_window`, `broadcast_window` are used).
    pub suite: Config,
    /// Echo message size in bytes (a repetitive JSON string).
    pub echo_size: usize,
    /// Broadcast receivers.
    pub broadcast_conns: usize,
    /// Length of the broadcast string.
    pub broadcast_len: usize,
    /// The servers compared: primus-rs `raw`, and the references Node
    /// Primus and yawc.
    pub servers: Vec<ServerKind>,
}

impl CompressionConfig {
    /// The full run: 3 rounds, 4 KiB echo, 4 KiB broadcasts to 1,000.
    pub fn full() -> CompressionConfig {
        CompressionConfig {
            suite: Config::full(),
            echo_size: 4 * 1024,
            broadcast_conns: 1_000,
            broadcast_len: 4 * 1024,
            servers: vec![ServerKind::PrimusRaw, ServerKind::NodePrimus, ServerKind::Yawc],
        }
    }

    /// Shorter windows and fewer receivers, for development.
    pub fn quick() -> CompressionConfig {
        CompressionConfig {
            suite: Config::quick(),
            broadcast_conns: 200,
            ..CompressionConfig::full()
        }
    }
}

/// One server and setting, every round.
#[derive(Debug, Clone)]
pub struct CompressionRuns {
    /// The server.
    pub server: ServerKind,
    /// permessage-deflate on.
    pub compression: bool,
    /// Echo runs, one per round (`None`: the round failed, see `errors`).
    pub echo: Vec<Option<EchoRun>>,
    /// Broadcast runs, one per round.
    pub broadcast: Vec<Option<BroadcastRun>>,
    /// What failed.
    pub errors: Vec<String>,
}

/// Runs every round.
pub async fn run(config: &CompressionConfig, env: &Environment) -> Vec<CompressionRuns> {
    let mut results: Vec<CompressionRuns> = Vec::new();
    for &server in &config.servers {
        for compression in [false, true] {
            results.push(CompressionRuns {
                server,
                compression,
                echo: Vec::new(),
                broadcast: Vec::new(),
                errors: Vec::new(),
            });
        }
    }
    for round in 0..config.suite.rounds {
        for runs in results.iter_mut() {
            let label = format!(
                "round {}: {} compression {}",
                round + 1,
                runs.server.label(),
                if runs.compression { "on" } else { "off" }
            );
            eprintln!("{label}: echo");
            let echo = scenarios::echo_with(
                &config.suite,
                env,
                runs.server,
                config.echo_size,
                Load::Peak,
                runs.compression,
            )
            .await;
            runs.echo.push(keep(echo, &label, &mut runs.errors));
            eprintln!("{label}: broadcast");
            let broadcast = scenarios::broadcast_with(
                &config.suite,
                env,
                runs.server,
                config.broadcast_conns,
                Load::Peak,
                config.broadcast_len,
                runs.compression,
            )
            .await;
            runs.broadcast.push(keep(broadcast, &label, &mut runs.errors));
            // Let the previous run's sockets close.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    results
}

fn keep<T>(result: Result<T, String>, label: &str, errors: &mut Vec<String>) -> Option<T> {
    match result {
        Ok(run) => Some(run),
        Err(error) => {
            eprintln!("{label}: {error}");
            errors.push(format!("{label}: {error}"));
            None
        }
    }
}

/// One figure of a run.
type Figure<R> = fn(&R) -> Option<f64>;

/// The servers primus-rs is compared with, and their names in the ratio
/// columns (a reference that did not run has no columns).
const REFERENCES: [(ServerKind, &str); 2] = [(ServerKind::NodePrimus, "Node"), (ServerKind::Yawc, "yawc")];

fn echo_figures() -> [(&'static str, Figure<EchoRun>); 4] {
    [
        ("messages/s", |run| Some(run.throughput())),
        ("server CPU ms / 1k messages", |run| Some(run.cpu_per_1k())),
        ("p50 ms", |run| {
            run.latency.map(|s: Summary| f64::from(s.p50_us) / 1000.0)
        }),
        ("p99 ms", |run| {
            run.latency.map(|s: Summary| f64::from(s.p99_us) / 1000.0)
        }),
    ]
}

fn broadcast_figures() -> [(&'static str, Figure<BroadcastRun>); 3] {
    [
        ("deliveries/s", |run| Some(run.throughput())),
        ("server CPU ms / 1k deliveries", |run| Some(run.cpu_per_1k())),
        ("p99 ms", |run| {
            run.latency.map(|s: Summary| f64::from(s.p99_us) / 1000.0)
        }),
    ]
}

/// The report.
pub fn render(
    config: &CompressionConfig,
    results: &[CompressionRuns],
    machine: &str,
    command: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Compression benchmark\n");
    let _ = writeln!(
        out,
        "`{command}`: permessage-deflate off and on; echo of {} B messages ({} connections, {} in \
         flight each, closed loop) and broadcasts of a {}-character string to {} connections (at \
         most {} incomplete); {} round(s) of {:.0} s measured after {:.0} s of warm-up, a fresh \
         server per run. The messages are repetitive (`x`/`b` repeated), so they compress to a few \
         dozen bytes: the figures show what compressing costs, not what a real payload saves. \
         Ratios are paired per round (primus-rs over a reference, Node Primus or yawc, same \
         setting), medians over rounds. yawc compresses with level 1 and no context takeover, as \
         primus-rs does. {machine}\n",
        config.echo_size,
        config.suite.echo_conns,
        config.suite.echo_window,
        config.broadcast_len,
        config.broadcast_conns,
        config.suite.broadcast_window,
        config.suite.rounds,
        config.suite.measure.as_secs_f64(),
        config.suite.warmup.as_secs_f64(),
    );
    let _ = writeln!(out, "## Echo, {} B, peak\n", config.echo_size);
    table(&mut out, results, |runs| &runs.echo, &echo_figures());
    let _ = writeln!(
        out,
        "## Broadcast of {} characters to {} connections, peak\n",
        config.broadcast_len, config.broadcast_conns
    );
    table(&mut out, results, |runs| &runs.broadcast, &broadcast_figures());
    let errors: Vec<&String> = results.iter().flat_map(|runs| &runs.errors).collect();
    if !errors.is_empty() {
        let _ = writeln!(out, "## Failed runs\n");
        for error in errors {
            let _ = writeln!(out, "- {error}");
        }
        out.push('\n');
    }
    out
}

fn table<R>(
    out: &mut String,
    results: &[CompressionRuns],
    pick: fn(&CompressionRuns) -> &Vec<Option<R>>,
    figures: &[(&'static str, Figure<R>)],
) {
    let columns: Vec<&CompressionRuns> = results.iter().collect();
    let _ = write!(out, "| figure |");
    for runs in &columns {
        let _ = write!(
            out,
            " {} {} |",
            runs.server.label(),
            if runs.compression { "on" } else { "off" }
        );
    }
    let references: Vec<(ServerKind, &str)> = REFERENCES
        .into_iter()
        .filter(|(kind, _)| results.iter().any(|runs| runs.server == *kind))
        .collect();
    for (_, name) in &references {
        let _ = write!(out, " primus-rs / {name}, off | primus-rs / {name}, on |");
    }
    out.push('\n');
    let _ = write!(out, "|---|");
    for _ in 0..columns.len() + 2 * references.len() {
        let _ = write!(out, "---|");
    }
    out.push('\n');
    for (name, figure) in figures {
        let _ = write!(out, "| {name} |");
        for runs in &columns {
            let value = median(pick(runs).iter().flatten().filter_map(figure));
            let _ = write!(out, " {} |", format_figure(value));
        }
        for (reference, _) in &references {
            for compression in [false, true] {
                let ratio = paired_ratio(results, *reference, compression, pick, *figure);
                let _ = write!(
                    out,
                    " {} |",
                    ratio.map_or("n/a".to_owned(), |r| format!("{r:.2}×"))
                );
            }
        }
        out.push('\n');
    }
    out.push('\n');
}

/// The median over rounds of primus-rs' figure over `reference`'s, both
/// with compression `compression`; `None` when either did not run.
fn paired_ratio<R>(
    results: &[CompressionRuns],
    reference: ServerKind,
    compression: bool,
    pick: fn(&CompressionRuns) -> &Vec<Option<R>>,
    figure: Figure<R>,
) -> Option<f64> {
    let find = |kind: ServerKind| {
        results
            .iter()
            .find(|runs| runs.server == kind && runs.compression == compression)
    };
    let (ours, theirs) = (find(ServerKind::PrimusRaw)?, find(reference)?);
    median(
        pick(ours)
            .iter()
            .zip(pick(theirs))
            .filter_map(|(a, b)| Some(figure(a.as_ref()?)? / figure(b.as_ref()?)?))
            .filter(|ratio| ratio.is_finite()),
    )
}

fn format_figure(value: Option<f64>) -> String {
    match value {
        None => "n/a".to_owned(),
        Some(v) if v >= 1000.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(server: ServerKind, compression: bool) -> CompressionRuns {
        CompressionRuns {
            server,
            compression,
            echo: Vec::new(),
            broadcast: Vec::new(),
            errors: Vec::new(),
        }
    }

    #[test]
    fn ratio_columns_follow_the_references_that_ran() {
        let header = |servers: &[ServerKind]| {
            let results: Vec<CompressionRuns> = servers
                .iter()
                .flat_map(|&server| [runs(server, false), runs(server, true)])
                .collect();
            let mut out = String::new();
            table(&mut out, &results, |runs| &runs.echo, &echo_figures());
            out.lines().next().unwrap_or_default().to_owned()
        };
        let all = header(&[ServerKind::PrimusRaw, ServerKind::NodePrimus, ServerKind::Yawc]);
        assert!(all.ends_with(
            " primus-rs / Node, off | primus-rs / Node, on | primus-rs / yawc, off | primus-rs / yawc, on |"
        ));
        let yawc = header(&[ServerKind::PrimusRaw, ServerKind::Yawc]);
        assert!(yawc.ends_with(" yawc 0.3 (reference) on | primus-rs / yawc, off | primus-rs / yawc, on |"));
        assert!(!yawc.contains("Node"));
    }

    #[test]
    fn every_run_compares_with_yawc() {
        for config in [CompressionConfig::full(), CompressionConfig::quick()] {
            assert!(config.servers.contains(&ServerKind::Yawc));
        }
        assert!(!ServerKind::ALL.contains(&ServerKind::Yawc));
        assert_eq!(ServerKind::from_id("yawc"), Some(ServerKind::Yawc));
    }
}
