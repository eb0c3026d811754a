//! `BENCHMARKS.md`: every figure for every server, the ratios, the targets.
//!
//! Figures are the **median of the rounds**; a CPU figure measured in more
//! than one round also shows the range (min–max). Ratios are **paired**
//! ([`paired_ratio`]): each round's figure is divided by the reference
//! server's figure from the same round (servers run interleaved within a
//! round), and the median of those per-round ratios is shown ("×
//! tungstenite", "× Node", "× socketioxide"), so the machine's slow and fast
//! phases, which last about a minute, do not mix into one ratio. Lower is
//! better for CPU, memory and latency, higher for rates.

use crate::latency::Summary;
use crate::machine::Machine;
use crate::micro::MicroResult;
use crate::scenarios::{
    load_label, size_label, BroadcastRun, Cell, Config, EchoRun, IdleRun, Load, Results, SetupRun,
};
use crate::servers::{ServerKind, READ_BUFFER};
use std::fmt::Write;

/// Everything the report is made of.
#[derive(Debug)]
pub struct Report<'a> {
    /// Sizes and durations used.
    pub config: &'a Config,
    /// The machine.
    pub machine: &'a Machine,
    /// The network scenarios' results.
    pub results: &'a Results,
    /// The microbenchmarks, if they ran.
    pub micro: Option<&'a Result<Vec<MicroResult>, String>>,
    /// Hand-written profiling notes (`bench/NOTES.md`), included verbatim.
    pub notes: Option<String>,
    /// The command that produced the report.
    pub command: String,
    /// Set when the Rust servers came from `PRIMUS_BENCH_SERVER`.
    pub bench_server_override: Option<String>,
}

/// A target line: what was required, what was measured, and whether it held.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The requirement.
    pub text: String,
    /// The measured value (or why it is missing).
    pub measured: String,
    /// `Some(true)` pass, `Some(false)` miss, `None` not measured.
    pub pass: Option<bool>,
}

/// The median of the values (NaN values ignored).
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let middle = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    })
}

/// The paired ratio of `figure` between two servers' cells: each round's
/// value divided by the reference's value in the same round, then the
/// median of those ratios. A round where either run failed is left out.
///
/// ```
/// use primus_bench::report::paired_ratio;
/// use primus_bench::scenarios::Cell;
/// use primus_bench::servers::ServerKind;
///
/// let cell = |server, runs: Vec<f64>| Cell {
///     key: 0,
///     server,
///     runs: runs.into_iter().map(Ok::<f64, String>).collect(),
/// };
/// // Round 2 ran slow for both: its ratio is still 2.
/// let ours = cell(ServerKind::PrimusRaw, vec![2.0, 8.0, 3.0]);
/// let reference = cell(ServerKind::Tungstenite, vec![1.0, 4.0, 1.0]);
/// assert_eq!(paired_ratio(Some(&ours), Some(&reference), |v| *v), Some(2.0));
/// ```
pub fn paired_ratio<K, R>(
    cell: Option<&Cell<K, R>>,
    reference: Option<&Cell<K, R>>,
    figure: impl Fn(&R) -> f64,
) -> Option<f64> {
    let (cell, reference) = (cell?, reference?);
    median(
        cell.runs
            .iter()
            .zip(&reference.runs)
            .filter_map(|pair| match pair {
                (Ok(run), Ok(base)) => {
                    let (value, base) = (figure(run), figure(base));
                    (base > 0.0 && base.is_finite() && value.is_finite()).then(|| value / base)
                }
                _ => None,
            }),
    )
}

/// `1.05×`, or `–` when there is no ratio.
pub fn times(ratio: Option<f64>) -> String {
    ratio.map_or("–".to_owned(), |r| format!("{r:.2}×"))
}

/// The columns every timed run has: latency percentiles and background load.
pub trait Timed {
    /// The run's latency percentiles, if any sample was taken.
    fn latency(&self) -> Option<Summary>;
    /// CPU used by other processes during the window, in cores.
    fn background_cores(&self) -> f64;
}

macro_rules! timed {
    ($($run:ty),*) => {$(
        impl Timed for $run {
            fn latency(&self) -> Option<Summary> {
                self.latency
            }
            fn background_cores(&self) -> f64 {
                self.usage.background_cores
            }
        }
    )*};
}

timed!(EchoRun, BroadcastRun, SetupRun);

impl<K, R: Timed> Cell<K, R> {
    /// Median p50 and p99 latency, formatted.
    fn latency_cells(&self) -> (String, String) {
        let percentile = |pick: fn(&Summary) -> u32| {
            micros(self.median(|r| latency(r.latency(), pick)).unwrap_or(f64::NAN))
        };
        (percentile(|l| l.p50_us), percentile(|l| l.p99_us))
    }

    /// Median background load, in cores.
    fn background(&self) -> f64 {
        self.median(Timed::background_cores).unwrap_or(f64::NAN)
    }
}

impl<K, R> Cell<K, R> {
    fn ok(&self) -> impl Iterator<Item = &R> {
        self.runs.iter().filter_map(|r| r.as_ref().ok())
    }

    fn median(&self, figure: impl Fn(&R) -> f64) -> Option<f64> {
        median(self.ok().map(figure))
    }

    fn range(&self, figure: impl Fn(&R) -> f64) -> Option<(f64, f64)> {
        let values: Vec<f64> = self.ok().map(figure).filter(|v| v.is_finite()).collect();
        let min = values.iter().copied().reduce(f64::min)?;
        let max = values.iter().copied().reduce(f64::max)?;
        (values.len() > 1).then_some((min, max))
    }

    fn failures(&self) -> Vec<&String> {
        self.runs.iter().filter_map(|r| r.as_ref().err()).collect()
    }
}

fn find<'c, K: PartialEq, R>(cells: &'c [Cell<K, R>], key: &K, server: ServerKind) -> Option<&'c Cell<K, R>> {
    cells.iter().find(|c| &c.key == key && c.server == server)
}

/// `1,234,567`.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "–".to_owned();
    }
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// Milliseconds with three significant digits or so.
pub fn ms(value: f64) -> String {
    match value {
        v if !v.is_finite() => "–".to_owned(),
        v if v < 0.1 => format!("{v:.4}"),
        v if v < 1.0 => format!("{v:.3}"),
        v if v < 10.0 => format!("{v:.2}"),
        v if v < 100.0 => format!("{v:.1}"),
        v => format!("{v:.0}"),
    }
}

/// A latency in µs or ms.
pub fn micros(us: f64) -> String {
    if !us.is_finite() {
        "–".to_owned()
    } else if us >= 10_000.0 {
        format!("{:.0} ms", us / 1000.0)
    } else if us >= 1000.0 {
        format!("{:.1} ms", us / 1000.0)
    } else {
        format!("{us:.0} µs")
    }
}

fn with_range(value: Option<f64>, range: Option<(f64, f64)>, format: fn(f64) -> String) -> String {
    match (value, range) {
        (Some(v), Some((lo, hi))) => format!("{} ({}–{})", format(v), format(lo), format(hi)),
        (Some(v), None) => format(v),
        _ => "–".to_owned(),
    }
}

fn failed_row(out: &mut String, server: ServerKind, failures: &[&String], columns: usize) {
    let reason = failures
        .first()
        .map_or("not run".to_owned(), |f| f.replace('|', "/"));
    let _ = write!(out, "| {} | failed: {reason} |", server.label());
    for _ in 1..columns {
        out.push_str(" |");
    }
    out.push('\n');
}

fn footnote_failures<K, R>(notes: &mut Vec<String>, label: &str, cell: &Cell<K, R>) {
    let failures = cell.failures();
    if !failures.is_empty() && failures.len() < cell.runs.len() {
        notes.push(format!(
            "{label}, {}: {} of {} rounds failed ({}); the median is of the others.",
            cell.server.label(),
            failures.len(),
            cell.runs.len(),
            failures[0]
        ));
    }
}

impl Report<'_> {
    fn servers(&self) -> &[ServerKind] {
        &self.config.servers
    }

    /// The whole Markdown document.
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.header(&mut out);
        self.targets_section(&mut out);
        if !self.results.echo.is_empty() {
            self.echo_section(&mut out);
        }
        if !self.results.broadcast.is_empty() {
            self.broadcast_section(&mut out);
        }
        if !self.results.idle.is_empty() {
            self.idle_section(&mut out);
        }
        if !self.results.setup.is_empty() {
            self.setup_section(&mut out);
        }
        if !self.results.transport_echo.is_empty() || !self.results.transport_broadcast.is_empty() {
            self.transports_section(&mut out);
        }
        if let Some(micro) = self.micro {
            self.micro_section(&mut out, micro);
        }
        self.buffers_section(&mut out);
        if let Some(notes) = &self.notes {
            out.push_str("\n## Profiling notes\n\n");
            out.push_str("Written by hand from the profiles of the misses (`bench/NOTES.md`, included\nverbatim); the figures above are from this run.\n\n");
            out.push_str(notes.trim());
            out.push('\n');
        }
        out
    }

    fn header(&self, out: &mut String) {
        let m = self.machine;
        let c = self.config;
        let _ = writeln!(out, "# primus-rs benchmarks\n");
        let _ = writeln!(
            out,
            "Produced by `{}` (see `bench/README.md` for what each number means).\n\
             Every server ran on this machine in this run, so the **ratios** are the\n\
             figures to read: the machine has {} cores shared by the load generator and\n\
             the server, and other work may run beside it (the *background* column says\n\
             how much, in cores).\n",
            self.command, m.cores
        );
        let _ = writeln!(out, "## Machine\n");
        let _ = writeln!(out, "| | |\n|---|---|");
        let _ = writeln!(out, "| date | {} |", m.date);
        let _ = writeln!(out, "| CPU | {} ({} cores) |", m.cpu_model, m.cores);
        let _ = writeln!(out, "| memory | {} |", m.memory);
        let _ = writeln!(out, "| OS, kernel | {}, Linux {} |", m.os, m.kernel);
        let _ = writeln!(out, "| rustc | {} |", m.rustc);
        let _ = writeln!(out, "| node | {} (primus 8.0.9, ws 8.18.3) |", m.node);
        let _ = writeln!(out, "| socketioxide | {} |", m.socketioxide);
        let _ = writeln!(out, "| primus-rs commit | {} |", m.commit);
        let _ = writeln!(
            out,
            "| open files (soft/hard) | {}/{} |",
            m.fd_limit.0, m.fd_limit.1
        );
        let _ = writeln!(out, "\n## Configuration\n");
        let _ = writeln!(
            out,
            "- Mode: {}; {} round(s) of echo, broadcast and setup (median shown), one of idle.\n\
             - Each run: a fresh server process, {:.1} s warm-up, {:.1} s measured window.\n\
             - Servers: {}. All listen on 127.0.0.1; the Rust servers use tokio's multi-threaded\n\
             \u{20} runtime (one worker per core) and a {} KiB WebSocket read buffer; primus-rs is\n\
             \u{20} served by `Server::serve` with its default options, as a user would run it;\n\
             \u{20} Node runs one event loop.\n\
             - Load generator: Rust (`bench/src/loadgen.rs`), one task per connection, frames\n\
             \u{20} encoded and masked once per run, Primus pings answered.",
            if c.quick {
                "`--quick` (small counts)"
            } else {
                "full"
            },
            c.rounds,
            c.warmup.as_secs_f64(),
            c.measure.as_secs_f64(),
            self.servers()
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", "),
            READ_BUFFER / 1024
        );
    }

    fn echo_section(&self, out: &mut String) {
        let c = self.config;
        let _ = writeln!(out, "\n## Echo\n");
        let _ = writeln!(
            out,
            "{} connections. *Peak*: each keeps {} requests in flight (a reply releases the\n\
             next). *Fixed rate*: the offered rate is spread evenly over the connections\n\
             (at most {} in flight each). Round trip = write of the request to its echo.\n\
             Frame sizes include the envelope: the typed event `{{\"event\":\"echo\",\"data\":…}}`, or\n\
             Socket.IO's `42[\"echo\",…]` (socketioxide typed: `421[\"echo\",\"…\"]`, answered by the\n\
             ack `431[\"…\"]`). *× socketioxide* divides typed rows by socketioxide typed and\n\
             the others by socketioxide; every ratio is paired (per round, then the median).\n",
            c.echo_conns,
            c.echo_window,
            c.echo_window * 8
        );
        let mut notes = Vec::new();
        for case in &c.echo_cases {
            for load in [Load::Peak, Load::Rate(case.rate)] {
                let key = (case.size, load);
                let title = match load {
                    Load::Peak => format!("{} messages, peak", size_label(case.size)),
                    Load::Rate(_) => format!(
                        "{} messages, fixed offered rate {}",
                        size_label(case.size),
                        load_label(load)
                    ),
                };
                let _ = writeln!(out, "### {title}\n");
                let _ = writeln!(
                    out,
                    "| server | msgs/s | × tungstenite | p50 | p99 | server CPU ms / 1k msgs | × tungstenite | × Node | × socketioxide | generator CPU ms / 1k | background |"
                );
                let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
                let cells = &self.results.echo;
                let vs = |server, reference, figure: fn(&EchoRun) -> f64| {
                    times(paired_ratio(
                        find(cells, &key, server),
                        find(cells, &key, reference),
                        figure,
                    ))
                };
                for &server in self.servers() {
                    let Some(cell) = find(&self.results.echo, &key, server) else {
                        continue;
                    };
                    if cell.ok().next().is_none() {
                        failed_row(out, server, &cell.failures(), 11);
                        continue;
                    }
                    footnote_failures(&mut notes, &title, cell);
                    let rate = cell.median(EchoRun::throughput);
                    let cpu = cell.median(EchoRun::cpu_per_1k);
                    let (p50, p99) = cell.latency_cells();
                    let skipped: u64 = cell.ok().map(|r| r.skipped).sum();
                    if skipped > 0 {
                        notes.push(format!(
                            "{title}, {}: {skipped} sends were skipped (cap on requests in flight reached): the server did not keep up with the offered rate.",
                            server.label()
                        ));
                    }
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                        server.label(),
                        thousands(rate.unwrap_or(f64::NAN)),
                        vs(server, ServerKind::Tungstenite, EchoRun::throughput),
                        p50,
                        p99,
                        with_range(cpu, cell.range(EchoRun::cpu_per_1k), ms),
                        vs(server, ServerKind::Tungstenite, EchoRun::cpu_per_1k),
                        vs(server, ServerKind::NodePrimus, EchoRun::cpu_per_1k),
                        vs(server, server.socketioxide_peer(), EchoRun::cpu_per_1k),
                        ms(cell
                            .median(|r| per_1k(r.usage.generator_ms, r.messages))
                            .unwrap_or(f64::NAN)),
                        cell.background(),
                    );
                }
                out.push('\n');
            }
        }
        write_notes(out, &notes);
    }

    fn broadcast_section(&self, out: &mut String) {
        let c = self.config;
        let _ = writeln!(out, "\n## Broadcast fan-out\n");
        let _ = writeln!(
            out,
            "One connection asks for broadcasts (opened with `?bench=trigger`, or with typed events a\n\
             `broadcast` event; Socket.IO servers: a `42[\"broadcast\",…]` event, delivered as\n\
             `42[\"b\",…]` with `io.emit`); every connection, the trigger included, receives each one.\n\
             At most {} broadcasts are incomplete at once. *Peak* sends whenever the window\n\
             allows; *fixed rate* offers {} deliveries/s. Latency = trigger's write to each\n\
             delivery. Broadcast frames are {} B ({} B with the typed envelope). *Encodes per\n\
             broadcast* counts the parser's `encode` calls in the server over the whole run.\n",
            c.broadcast_window,
            thousands(c.broadcast_rate),
            c.broadcast_data_len + 2,
            c.broadcast_data_len + 26,
        );
        let mut notes = Vec::new();
        for &conns in &c.broadcast_conns {
            let _ = writeln!(out, "### {} connections\n", thousands(conns as f64));
            let _ = writeln!(
                out,
                "| server | load | deliveries/s | p50 | p99 | server CPU ms / 1k deliveries | × tungstenite | × Node | × socketioxide | encodes per broadcast | background |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for load in [Load::Peak, Load::Rate(c.broadcast_rate)] {
                let key = (conns, load);
                let cells = &self.results.broadcast;
                let vs = |server, reference| {
                    times(paired_ratio(
                        find(cells, &key, server),
                        find(cells, &key, reference),
                        BroadcastRun::cpu_per_1k,
                    ))
                };
                for &server in self.servers() {
                    let Some(cell) = find(&self.results.broadcast, &key, server) else {
                        continue;
                    };
                    if cell.ok().next().is_none() {
                        failed_row(out, server, &cell.failures(), 11);
                        continue;
                    }
                    footnote_failures(
                        &mut notes,
                        &format!("broadcast {conns} {}", load_label(load)),
                        cell,
                    );
                    let cpu = cell.median(BroadcastRun::cpu_per_1k);
                    let (p50, p99) = cell.latency_cells();
                    let encodes = cell
                        .median(|r| r.encodes_per_broadcast.unwrap_or(f64::NAN))
                        .map_or("n/a".to_owned(), |e| format!("{e:.3}"));
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                        server.label(),
                        load_label(load),
                        thousands(cell.median(BroadcastRun::throughput).unwrap_or(f64::NAN)),
                        p50,
                        p99,
                        with_range(cpu, cell.range(BroadcastRun::cpu_per_1k), ms),
                        vs(server, ServerKind::Tungstenite),
                        vs(server, ServerKind::NodePrimus),
                        vs(server, server.socketioxide_peer()),
                        encodes,
                        cell.background(),
                    );
                }
            }
            out.push('\n');
        }
        write_notes(out, &notes);
    }

    fn transports_section(&self, out: &mut String) {
        let c = self.config;
        let _ = writeln!(out, "\n## engine.io and SockJS transports\n");
        let _ = writeln!(
            out,
            "Each server runs the transformer of the transport (primus-rs with\n\
             `--transformer`, Node Primus 8 with the same transformer: `engine.io@6.5.5`,\n\
             `sockjs@0.3.24`); \"× Node\" divides by Node Primus **with the same transport**.\n\
             Echo: {} sessions, each keeping {} messages of 32 B in flight (closed loop).\n\
             Broadcast: {} sessions, one triggers, at most {} broadcasts incomplete (peak).\n\
             The polling transports hold two HTTP connections per session (a poll and a\n\
             send), as browsers do; what queues up while a send is in flight goes in the\n\
             next one. *Framings per broadcast*: messages primus-rs wrapped into the\n\
             transport's packet (`packets_encoded()`) per broadcast. *Msgs per arrival*:\n\
             messages a session received each time data arrived (a poll's answer, a read\n\
             of the stream or the socket): over HTTP each arrival costs a request.\n",
            c.transport_echo_conns, c.echo_window, c.transport_broadcast_conns, c.broadcast_window,
        );
        let mut notes = Vec::new();
        let servers: Vec<ServerKind> = self
            .servers()
            .iter()
            .copied()
            .filter(|s| *s != ServerKind::Tungstenite)
            .collect();
        if !self.results.transport_echo.is_empty() {
            let _ = writeln!(out, "### Echo, 32 B, peak\n");
            let _ = writeln!(
                out,
                "| transport | server | msgs/s | p50 | p99 | server CPU ms / 1k msgs | × Node | msgs per arrival | background |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
            for &transport in &c.transports {
                let cells = &self.results.transport_echo;
                let node = find(cells, &transport, ServerKind::NodePrimus);
                for &server in &servers {
                    let Some(cell) = find(&self.results.transport_echo, &transport, server) else {
                        continue;
                    };
                    if cell.ok().next().is_none() {
                        let _ = write!(out, "| {} ", transport.label());
                        failed_row(out, server, &cell.failures(), 8);
                        continue;
                    }
                    footnote_failures(&mut notes, &format!("{} echo", transport.label()), cell);
                    let cpu = cell.median(EchoRun::cpu_per_1k);
                    let (p50, p99) = cell.latency_cells();
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                        transport.label(),
                        server.label(),
                        thousands(cell.median(EchoRun::throughput).unwrap_or(f64::NAN)),
                        p50,
                        p99,
                        with_range(cpu, cell.range(EchoRun::cpu_per_1k), ms),
                        times(paired_ratio(Some(cell), node, EchoRun::cpu_per_1k)),
                        cell.median(|r| r.messages_per_arrival.unwrap_or(f64::NAN))
                            .map_or("n/a".to_owned(), |v| format!("{v:.2}")),
                        cell.background(),
                    );
                }
            }
            out.push('\n');
        }
        if !self.results.transport_broadcast.is_empty() {
            let _ = writeln!(
                out,
                "### Broadcast to {} sessions, peak\n",
                thousands(c.transport_broadcast_conns as f64)
            );
            let _ = writeln!(
                out,
                "| transport | server | deliveries/s | p50 | p99 | server CPU ms / 1k deliveries | × Node | encodes per broadcast | framings per broadcast | msgs per arrival | background |"
            );
            let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for &transport in &c.transports {
                let cells = &self.results.transport_broadcast;
                let node = find(cells, &transport, ServerKind::NodePrimus);
                for &server in &servers {
                    let Some(cell) = find(&self.results.transport_broadcast, &transport, server) else {
                        continue;
                    };
                    if cell.ok().next().is_none() {
                        let _ = write!(out, "| {} ", transport.label());
                        failed_row(out, server, &cell.failures(), 10);
                        continue;
                    }
                    footnote_failures(&mut notes, &format!("{} broadcast", transport.label()), cell);
                    let cpu = cell.median(BroadcastRun::cpu_per_1k);
                    let (p50, p99) = cell.latency_cells();
                    let per_broadcast = |pick: fn(&BroadcastRun) -> Option<f64>| {
                        cell.median(|r| pick(r).unwrap_or(f64::NAN))
                            .map_or("n/a".to_owned(), |v| format!("{v:.3}"))
                    };
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                        transport.label(),
                        server.label(),
                        thousands(cell.median(BroadcastRun::throughput).unwrap_or(f64::NAN)),
                        p50,
                        p99,
                        with_range(cpu, cell.range(BroadcastRun::cpu_per_1k), ms),
                        times(paired_ratio(Some(cell), node, BroadcastRun::cpu_per_1k)),
                        per_broadcast(|r| r.encodes_per_broadcast),
                        per_broadcast(|r| r.framings_per_broadcast),
                        per_broadcast(|r| r.messages_per_arrival),
                        cell.background(),
                    );
                }
            }
            out.push('\n');
        }
        write_notes(out, &notes);
    }

    fn idle_section(&self, out: &mut String) {
        let _ = writeln!(out, "\n## Idle connections\n");
        let _ = writeln!(
            out,
            "Each connection opens, does one echo (so the server-side connection is fully\n\
             set up), then stays idle. RSS is read from `/proc/PID/status` before the first\n\
             connection and {:.1} s after the last one opened.\n",
            self.config.idle_settle.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "| server | connections | RSS before | RSS with connections | KiB per connection | × tungstenite | × Node | × socketioxide |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let key = self.config.idle_conns;
        let cells = &self.results.idle;
        let vs = |server, reference| {
            times(paired_ratio(
                find(cells, &key, server),
                find(cells, &key, reference),
                IdleRun::per_conn_kib,
            ))
        };
        for &server in self.servers() {
            let Some(cell) = find(&self.results.idle, &key, server) else {
                continue;
            };
            let Some(run) = cell.ok().next() else {
                failed_row(out, server, &cell.failures(), 8);
                continue;
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} KiB | {} KiB | {:.1} | {} | {} | {} |",
                server.label(),
                thousands(run.conns as f64),
                thousands(run.rss_before_kib as f64),
                thousands(run.rss_after_kib as f64),
                run.per_conn_kib(),
                vs(server, ServerKind::Tungstenite),
                vs(server, ServerKind::NodePrimus),
                vs(server, server.socketioxide_peer()),
            );
        }
    }

    fn setup_section(&self, out: &mut String) {
        let c = self.config;
        let _ = writeln!(out, "\n## Connection setup\n");
        let _ = writeln!(
            out,
            "{} connections opened {} at a time; each is a TCP connect, the WebSocket upgrade\n\
             (for Socket.IO also the Engine.IO open and the namespace connect) and one echo\n\
             (the connection is usable). They stay open until the end. The rate\n\
             and the server's CPU are over the whole opening phase.\n",
            thousands(c.setup_conns as f64),
            c.setup_concurrency
        );
        let _ = writeln!(
            out,
            "| server | connections/s | p50 open | p99 open | server CPU ms / 1k connections | × tungstenite | × Node | × socketioxide | background |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        let key = c.setup_conns;
        let cells = &self.results.setup;
        let vs = |server, reference| {
            times(paired_ratio(
                find(cells, &key, server),
                find(cells, &key, reference),
                SetupRun::cpu_per_1k,
            ))
        };
        let mut notes = Vec::new();
        for &server in self.servers() {
            let Some(cell) = find(&self.results.setup, &key, server) else {
                continue;
            };
            if cell.ok().next().is_none() {
                failed_row(out, server, &cell.failures(), 9);
                continue;
            }
            footnote_failures(&mut notes, "setup", cell);
            let cpu = cell.median(SetupRun::cpu_per_1k);
            let (p50, p99) = cell.latency_cells();
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {:.2} |",
                server.label(),
                thousands(cell.median(SetupRun::rate).unwrap_or(f64::NAN)),
                p50,
                p99,
                with_range(cpu, cell.range(SetupRun::cpu_per_1k), ms),
                vs(server, ServerKind::Tungstenite),
                vs(server, ServerKind::NodePrimus),
                vs(server, server.socketioxide_peer()),
                cell.background(),
            );
        }
        write_notes(out, &notes);
    }

    fn micro_section(&self, out: &mut String, micro: &Result<Vec<MicroResult>, String>) {
        let _ = writeln!(out, "\n## Microbenchmarks (parser and control messages)\n");
        match micro {
            Err(error) => {
                let _ = writeln!(out, "Not measured: {error}");
            }
            Ok(results) => {
                let _ = writeln!(
                    out,
                    "`cargo bench -p primus --bench parser` (criterion, `primus/benches/parser.rs`):\n\
                     mean time per call.\n"
                );
                let _ = writeln!(out, "| benchmark | mean | throughput |");
                let _ = writeln!(out, "|---|---:|---:|");
                for result in results {
                    let time = if result.mean_ns >= 1000.0 {
                        format!("{:.2} µs", result.mean_ns / 1000.0)
                    } else {
                        format!("{:.1} ns", result.mean_ns)
                    };
                    let throughput = result.bytes.map_or(String::new(), |bytes| {
                        format!(
                            "{:.0} MiB/s",
                            bytes as f64 / result.mean_ns * 1e9 / 1024.0 / 1024.0
                        )
                    });
                    let _ = writeln!(out, "| `{}` | {time} | {throughput} |", result.id);
                }
            }
        }
    }

    fn buffers_section(&self, out: &mut String) {
        let idle = |server| {
            find(&self.results.idle, &self.config.idle_conns, server)
                .and_then(|c| c.median(IdleRun::per_conn_kib))
                .map_or("not measured".to_owned(), |v| format!("{v:.1} KiB"))
        };
        let _ = writeln!(out, "\n## Buffer sizes, and why\n");
        let _ = writeln!(
            out,
            "- **Read buffer: 4 KiB** (`ServerBuilder::read_buffer_size`, default). tungstenite's\n\
             \u{20} default is 128 KiB, allocated per connection and zero-filled up to its size\n\
             \u{20} before every read: ~136 KiB per idle connection and a 128 KiB `memset` per\n\
             \u{20} read. 4 KiB holds a typical Primus message in one read; a larger message is\n\
             \u{20} read in several steps into a buffer reserved at its full length once its\n\
             \u{20} header is known. Measured here: primus-rs raw {}, tokio-tungstenite (same 4 KiB)\n\
             \u{20} {}, Node {} per idle connection.\n\
             - **No write buffer of our own; a 128 KiB write threshold** (`WebSocketSettings`).\n\
             \u{20} Outgoing frames are not copied into tungstenite's write buffer: the connection\n\
             \u{20} keeps the frames (reference-counted `Bytes`, shared with the spark's queue and,\n\
             \u{20} for a broadcast, with every connection), encodes their 2–10 byte headers and\n\
             \u{20} writes headers and payloads with one vectored write (`writev`) per batch,\n\
             \u{20} when nothing else is ready or once 128 KiB have gathered. Nothing outlives the\n\
             \u{20} frames, so an idle connection holds no write buffer even after a burst (a\n\
             \u{20} tungstenite write buffer is a `Vec` that keeps its largest size). The\n\
             \u{20} tokio-tungstenite reference keeps tungstenite's default target (128 KiB) and\n\
             \u{20} flushes once per batch of readable messages.\n\
             - **Outbound queue: 1 MiB per connection** (`send_queue_bytes`), a\n\
             \u{20} mutex-protected queue that allocates nothing until the first frame and gives\n\
             \u{20} back burst-sized capacity; a connection whose queued bytes reach the budget is\n\
             \u{20} closed with reconnect (the slow-consumer policy), so memory per connection stays\n\
             \u{20} bounded. The reference server uses a tokio channel of 1024 frames.\n\
             - **Broadcast**: encoded once into a shared `Bytes`; each connection's queue holds\n\
             \u{20} a reference, not a copy.",
            idle(ServerKind::PrimusRaw),
            idle(ServerKind::Tungstenite),
            idle(ServerKind::NodePrimus),
        );
    }

    fn targets_section(&self, out: &mut String) {
        let targets = self.targets();
        if targets.is_empty() {
            return;
        }
        let passed = targets.iter().filter(|t| t.pass == Some(true)).count();
        let missed = targets.iter().filter(|t| t.pass == Some(false)).count();
        let _ = writeln!(out, "\n## Targets\n");
        let _ = writeln!(
            out,
            "{passed} passed, {missed} missed, {} not measured (paired ratios from this run).\n",
            targets.len() - passed - missed
        );
        let _ = writeln!(out, "| | target | measured |\n|---|---|---|");
        for target in &targets {
            let verdict = match target.pass {
                Some(true) => "PASS",
                Some(false) => "MISS",
                None => "n/a",
            };
            let _ = writeln!(out, "| {verdict} | {} | {} |", target.text, target.measured);
        }
    }

    /// Evaluates the targets on this run's paired ratios and medians: the
    /// round-two performance targets (stricter ratios to tokio-tungstenite,
    /// socketioxide, idle memory and setup rate), and the earlier ones they
    /// do not replace (Node ratios, throughput, one encode per broadcast,
    /// the transports).
    pub fn targets(&self) -> Vec<Target> {
        let mut targets = Vec::new();
        let modes = [ServerKind::PrimusRaw, ServerKind::PrimusTyped];
        let (tung, node) = (ServerKind::Tungstenite, ServerKind::NodePrimus);
        if !self.results.echo.is_empty() {
            let cells = &self.results.echo;
            for &mode in &modes {
                for case in &self.config.echo_cases {
                    for load in [Load::Peak, Load::Rate(case.rate)] {
                        let key = (case.size, load);
                        let what = format!(
                            "{}, echo {} {}",
                            mode.label(),
                            size_label(case.size),
                            load_label(load)
                        );
                        let vs = |reference, figure: fn(&EchoRun) -> f64| {
                            paired_ratio(find(cells, &key, mode), find(cells, &key, reference), figure)
                        };
                        let cpu_vs = |reference| vs(reference, EchoRun::cpu_per_1k);
                        let small = case.size <= 1024;
                        let tung_limit = match (mode, small, load) {
                            (ServerKind::PrimusRaw, true, Load::Peak) => Limit::AtMost(1.15),
                            (ServerKind::PrimusTyped, true, Load::Peak) => Limit::AtMost(1.3),
                            (ServerKind::PrimusTyped, false, Load::Peak) => Limit::AtMost(1.5),
                            (_, true, Load::Rate(_)) => Limit::Below(1.0),
                            _ => Limit::AtMost(1.2),
                        };
                        targets.push(bound(
                            format!("{what}: server CPU/1k msgs {tung_limit} tokio-tungstenite"),
                            cpu_vs(tung),
                            tung_limit,
                        ));
                        if mode == ServerKind::PrimusTyped && small && load == Load::Peak {
                            targets.push(bound(
                                format!("{what}: server CPU/1k msgs ≤ 0.60× socketioxide typed"),
                                cpu_vs(ServerKind::SocketioxideTyped),
                                Limit::AtMost(0.6),
                            ));
                        }
                        if small && matches!(load, Load::Rate(_)) {
                            let p99 = find(cells, &key, mode)
                                .and_then(|c| c.median(|r| latency(r.latency, |l| l.p99_us)));
                            targets.push(Target {
                                text: format!("{what}: p99 round trip ≤ 1 ms"),
                                measured: p99.map_or("not measured".to_owned(), micros),
                                pass: p99.map(|us| us <= 1000.0),
                            });
                        }
                        targets.push(with_limit(
                            bound(
                                format!("{what}: server CPU/1k msgs ≤ 0.25× Node Primus"),
                                cpu_vs(node),
                                Limit::AtMost(0.25),
                            ),
                            paired_ratio(
                                find(cells, &key, tung),
                                find(cells, &key, node),
                                EchoRun::cpu_per_1k,
                            ),
                        ));
                        if load == Load::Peak {
                            targets.push(bound(
                                format!("{what}: throughput ≥ 0.85× tokio-tungstenite"),
                                vs(tung, EchoRun::throughput),
                                Limit::AtLeast(0.85),
                            ));
                        }
                    }
                }
            }
        }
        if let Some(&conns) = self.config.broadcast_conns.iter().max() {
            if !self.results.broadcast.is_empty() {
                let cells = &self.results.broadcast;
                for &mode in &modes {
                    for load in [Load::Peak, Load::Rate(self.config.broadcast_rate)] {
                        let key = (conns, load);
                        let what = format!(
                            "{}, broadcast to {} {}",
                            mode.label(),
                            thousands(conns as f64),
                            load_label(load)
                        );
                        let cpu_vs = |server, reference| {
                            paired_ratio(
                                find(cells, &key, server),
                                find(cells, &key, reference),
                                BroadcastRun::cpu_per_1k,
                            )
                        };
                        targets.push(bound(
                            format!("{what}: server CPU/1k deliveries ≤ 0.90× tokio-tungstenite"),
                            cpu_vs(mode, tung),
                            Limit::AtMost(0.9),
                        ));
                        targets.push(with_limit(
                            bound(
                                format!("{what}: server CPU/1k deliveries ≤ 0.20× Node Primus"),
                                cpu_vs(mode, node),
                                Limit::AtMost(0.2),
                            ),
                            cpu_vs(tung, node),
                        ));
                    }
                    let encodes = find(cells, &(conns, Load::Peak), mode)
                        .and_then(|c| c.median(|r| r.encodes_per_broadcast.unwrap_or(f64::NAN)));
                    targets.push(Target {
                        text: format!(
                            "{}, broadcast to {}: one encode per broadcast",
                            mode.label(),
                            thousands(conns as f64)
                        ),
                        measured: encodes.map_or("not measured".to_owned(), |e| {
                            format!("{e:.3} encodes per broadcast")
                        }),
                        pass: encodes.map(|e| e <= 1.01),
                    });
                }
            }
        }
        for &transport in &self.config.transports {
            for &mode in &modes {
                let echo_cells = &self.results.transport_echo;
                let broadcast_cells = &self.results.transport_broadcast;
                if let Some(cell) = find(echo_cells, &transport, mode) {
                    targets.push(bound(
                        format!(
                            "{}, {} echo 32 B: server CPU/1k msgs ≤ 0.25× Node Primus ({})",
                            mode.label(),
                            transport.label(),
                            transport.transformer()
                        ),
                        paired_ratio(
                            Some(cell),
                            find(echo_cells, &transport, node),
                            EchoRun::cpu_per_1k,
                        ),
                        Limit::AtMost(0.25),
                    ));
                }
                let Some(cell) = find(broadcast_cells, &transport, mode) else {
                    continue;
                };
                targets.push(bound(
                    format!(
                        "{}, {} broadcast to {}: server CPU/1k deliveries ≤ 0.25× Node Primus ({})",
                        mode.label(),
                        transport.label(),
                        thousands(self.config.transport_broadcast_conns as f64),
                        transport.transformer()
                    ),
                    paired_ratio(
                        Some(cell),
                        find(broadcast_cells, &transport, node),
                        BroadcastRun::cpu_per_1k,
                    ),
                    Limit::AtMost(0.25),
                ));
                let encodes = cell.median(|r| r.encodes_per_broadcast.unwrap_or(f64::NAN));
                let framings = cell.median(|r| r.framings_per_broadcast.unwrap_or(f64::NAN));
                targets.push(Target {
                    text: format!(
                        "{}, {} broadcast: one encode and one framing per broadcast",
                        mode.label(),
                        transport.label()
                    ),
                    measured: match (encodes, framings) {
                        (Some(e), Some(f)) => format!("{e:.3} encodes, {f:.3} framings per broadcast"),
                        _ => "not measured".to_owned(),
                    },
                    pass: encodes.zip(framings).map(|(e, f)| e <= 1.01 && f <= 1.01),
                });
            }
        }
        if !self.results.idle.is_empty() {
            for &mode in &modes {
                let per_conn = find(&self.results.idle, &self.config.idle_conns, mode)
                    .and_then(|c| c.median(IdleRun::per_conn_kib));
                targets.push(Target {
                    text: format!(
                        "{}, {} idle connections: ≤ 4 KiB RSS per connection",
                        mode.label(),
                        thousands(self.config.idle_conns as f64)
                    ),
                    measured: per_conn.map_or("not measured".to_owned(), |v| format!("{v:.1} KiB")),
                    pass: per_conn.map(|v| v <= 4.0),
                });
            }
        }
        if !self.results.setup.is_empty() {
            for &mode in &modes {
                let rate = find(&self.results.setup, &self.config.setup_conns, mode)
                    .and_then(|c| c.median(SetupRun::rate));
                targets.push(Target {
                    text: format!("{}, connection setup: ≥ 25,000 connections/s", mode.label()),
                    measured: rate.map_or("not measured".to_owned(), |r| format!("{}/s", thousands(r))),
                    pass: rate.map(|r| r >= 25_000.0),
                });
            }
        }
        targets
    }
}

/// The comparison a ratio target makes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Limit {
    /// The ratio is at most this.
    AtMost(f64),
    /// The ratio is below this (strictly).
    Below(f64),
    /// The ratio is at least this.
    AtLeast(f64),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::AtMost(limit) => write!(f, "≤ {limit:.2}×"),
            Limit::Below(limit) => write!(f, "< {limit:.2}×"),
            Limit::AtLeast(limit) => write!(f, "≥ {limit:.2}×"),
        }
    }
}

/// A ratio target: the (paired) `ratio` held to `limit`.
fn bound(text: String, ratio: Option<f64>, limit: Limit) -> Target {
    match ratio {
        Some(ratio) => Target {
            text,
            measured: format!("{ratio:.2}×"),
            pass: Some(match limit {
                Limit::AtMost(limit) => ratio <= limit,
                Limit::Below(limit) => ratio < limit,
                Limit::AtLeast(limit) => ratio >= limit,
            }),
        },
        None => Target {
            text,
            measured: "not measured".to_owned(),
            pass: None,
        },
    }
}

/// Adds what the limit for our stack (tokio-tungstenite) reaches against the
/// same reference, so a ratio no server could meet is visible as such.
fn with_limit(mut target: Target, limit_ratio: Option<f64>) -> Target {
    if let Some(limit) = limit_ratio {
        if target.pass.is_some() {
            target.measured = format!("{} (tokio-tungstenite: {limit:.2}×)", target.measured);
        }
    }
    target
}

fn latency(summary: Option<Summary>, pick: fn(&Summary) -> u32) -> f64 {
    summary.map_or(f64::NAN, |s| f64::from(pick(&s)))
}

fn per_1k(ms: f64, count: u64) -> f64 {
    if count == 0 {
        f64::NAN
    } else {
        ms * 1000.0 / count as f64
    }
}

fn write_notes(out: &mut String, notes: &[String]) {
    for note in notes {
        let _ = writeln!(out, "- {note}");
    }
    if !notes.is_empty() {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median([4.0, 1.0]), Some(2.5));
        assert_eq!(median([f64::NAN]), None);
    }

    #[test]
    fn formats() {
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(ms(1.234), "1.23");
        assert_eq!(ms(0.0123), "0.0123");
        assert_eq!(micros(1500.0), "1.5 ms");
        assert_eq!(micros(450.0), "450 µs");
        assert_eq!(times(Some(0.25)), "0.25×");
        assert_eq!(times(None), "–");
    }

    #[test]
    fn bounds() {
        assert_eq!(bound("t".into(), Some(1.1), Limit::AtMost(1.2)).pass, Some(true));
        assert_eq!(
            bound("t".into(), Some(0.8), Limit::AtLeast(0.85)).pass,
            Some(false)
        );
        assert_eq!(bound("t".into(), Some(1.0), Limit::Below(1.0)).pass, Some(false));
        assert_eq!(bound("t".into(), Some(1.0), Limit::AtMost(1.0)).pass, Some(true));
        assert_eq!(bound("t".into(), None, Limit::AtMost(1.2)).pass, None);
        assert_eq!(Limit::AtMost(0.6).to_string(), "≤ 0.60×");
    }

    #[test]
    fn paired_ratios_leave_out_failed_rounds() {
        let cell = |server, runs: Vec<Result<f64, String>>| Cell { key: 0, server, runs };
        let ours = cell(ServerKind::PrimusRaw, vec![Ok(2.0), Err("x".into()), Ok(9.0)]);
        let reference = cell(ServerKind::Tungstenite, vec![Ok(1.0), Ok(1.0), Ok(3.0)]);
        // Rounds 1 and 3: ratios 2 and 3, median 2.5 (the ratio of the
        // medians would be 5.5 / 1 = 5.5).
        assert_eq!(paired_ratio(Some(&ours), Some(&reference), |v| *v), Some(2.5));
        assert_eq!(paired_ratio(Some(&ours), None, |v| *v), None);
    }
}
