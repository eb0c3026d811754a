//! The soak report (`BENCHMARKS-soak[-quick].md`): checks first, then
//! one section per server with its resources, its loads and every sample.

use super::{
    mib, signed_mib, Count, Sample, SoakConfig, SoakRun, HALF_OPEN_WAIT, HANDSHAKE_TIMEOUT,
    MAX_INVALID_FRAMES, OVERSIZE_ANNOUNCED, OVERSIZE_SENT,
};
use crate::machine::Machine;
use std::fmt::Write as _;

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
             allocation was freed. That retention follows what was in flight at once, not\n\
             the length of the run; a leak grows with the run, which the *RSS flat* check\n\
             catches (the load is the same throughout, so its second half should not\n\
             grow the RSS by more than {}). See bench/NOTES.md, *Soak*.",
            mib(c.rss_slack_kib),
            mib(c.rss_growth_kib)
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
