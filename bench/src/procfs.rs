//! What `/proc` tells about CPU time, memory, file descriptors and threads.
//!
//! A process' CPU time is the sum of its threads' run time from
//! `/proc/PID/task/*/schedstat` (nanoseconds, user and system), or when that
//! file is missing `utime + stime` from `/proc/PID/stat` (clock ticks,
//! usually 10 ms: too coarse for a short window). The suite samples it before
//! and after a measured window; the difference divided by the work done is
//! the "server CPU per 1,000 messages" figure. The machine's busy time from
//! `/proc/stat` minus the server's and the generator's is the *background*
//! load: other processes competing for the two cores during the window.

use std::io;
use std::time::Instant;

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, normally 100).
pub fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as u64
    } else {
        100
    }
}

/// `utime + stime` of a process (all threads), in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> io::Result<u64> {
    cpu_ticks_of(&format!("/proc/{pid}/stat"))
}

/// CPU time of a process in nanoseconds: the sum of its live threads' run
/// time (`/proc/PID/task/*/schedstat`), or `utime + stime` when schedstat
/// is not available. Pass `"self"` for this process.
pub fn process_cpu_ns(pid: &str) -> io::Result<u64> {
    match threads_run_ns(pid) {
        Ok(ns) => Ok(ns),
        Err(_) => {
            let ticks = cpu_ticks_of(&format!("/proc/{pid}/stat"))?;
            Ok(ticks * 1_000_000_000 / clock_ticks_per_second())
        }
    }
}

fn threads_run_ns(pid: &str) -> io::Result<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let path = task?.path().join("schedstat");
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                total += text
                    .split_whitespace()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected schedstat"))?;
            }
            // A thread that ended between the listing and the read.
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(total)
}

fn cpu_ticks_of(path: &str) -> io::Result<u64> {
    let stat = std::fs::read_to_string(path)?;
    parse_stat_cpu(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, format!("unexpected {path}")))
}

/// `utime + stime` from the text of `/proc/PID/stat`. The command name (field
/// 2) is in parentheses and may hold spaces, so fields are counted after the
/// last `)`: utime and stime are fields 14 and 15.
pub fn parse_stat_cpu(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let mut fields = after.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Busy clock ticks of the whole machine, all cores (`/proc/stat`, everything
/// but idle and iowait).
pub fn machine_busy_ticks() -> io::Result<u64> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    parse_machine_busy(&stat)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "unexpected /proc/stat"))
}

/// Busy ticks from the first (`cpu `) line of `/proc/stat`.
pub fn parse_machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    if values.len() < 4 {
        return None;
    }
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let idle = values[3] + values.get(4).copied().unwrap_or(0);
    let total: u64 = values.iter().take(8).sum();
    Some(total.saturating_sub(idle))
}

/// Resident set size of a process in KiB (`VmRSS` in `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_rss_kib(&status).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS"))
}

/// `VmRSS` in KiB from the text of `/proc/PID/status`.
pub fn parse_rss_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Open file descriptors of a process (entries of `/proc/PID/fd`).
pub fn fd_count(pid: u32) -> io::Result<u64> {
    let mut count = 0;
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        entry?;
        count += 1;
    }
    Ok(count)
}

/// Threads of a process (`Threads` in `/proc/PID/status`).
pub fn thread_count(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_field(&status, "Threads:")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Threads"))
}

/// The first number of a `/proc/PID/status` line starting with `field`.
pub fn parse_status_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU counters at one instant.
#[derive(Debug, Clone, Copy)]
pub struct Snapshot {
    at: Instant,
    /// Server CPU, ns.
    server: u64,
    /// Generator CPU, ns.
    generator: u64,
    /// Machine busy time, clock ticks.
    machine: u64,
}

impl Snapshot {
    /// Samples the server's, this process' and the machine's CPU time.
    pub fn take(server_pid: u32) -> io::Result<Snapshot> {
        Ok(Snapshot {
            server: process_cpu_ns(&server_pid.to_string())?,
            generator: process_cpu_ns("self")?,
            machine: machine_busy_ticks()?,
            at: Instant::now(),
        })
    }

    /// CPU used between `self` and a later snapshot.
    pub fn until(&self, later: &Snapshot) -> Usage {
        let tick_ns = 1e9 / clock_ticks_per_second() as f64;
        let secs = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let server = later.server.saturating_sub(self.server) as f64;
        let generator = later.generator.saturating_sub(self.generator) as f64;
        let machine = later.machine.saturating_sub(self.machine) as f64 * tick_ns;
        let background = (machine - server - generator).max(0.0);
        Usage {
            secs,
            server_ms: server / 1e6,
            generator_ms: generator / 1e6,
            background_cores: background / 1e9 / secs,
        }
    }
}

/// CPU used during a measured window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Length of the window in seconds.
    pub secs: f64,
    /// Server CPU time (user + system), milliseconds.
    pub server_ms: f64,
    /// Load generator CPU time (user + system), milliseconds.
    pub generator_ms: f64,
    /// Other processes' CPU during the window, in cores (0.0 to 2.0 here).
    pub background_cores: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_the_command_name() {
        let stat = "1234 (tokio runtime) S 1 2 3 4 5 6 7 8 9 10 250 40 0 0 20 0 3 0";
        assert_eq!(parse_stat_cpu(stat), Some(290));
    }

    #[test]
    fn machine_busy_excludes_idle_and_iowait() {
        let stat = "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 1 2 3 4\n";
        assert_eq!(parse_machine_busy(stat), Some(161));
    }

    #[test]
    fn rss_in_kib() {
        assert_eq!(parse_rss_kib("Name:\tx\nVmRSS:\t  12345 kB\n"), Some(12345));
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tx\nThreads:\t4\nVmRSS:\t  12 kB\n";
        assert_eq!(parse_status_field(status, "Threads:"), Some(4));
        assert_eq!(parse_status_field(status, "Cpus:"), None);
    }

    #[test]
    fn this_process_has_fds_and_threads() {
        let pid = std::process::id();
        assert!(fd_count(pid).is_ok_and(|n| n >= 1));
        assert!(thread_count(pid).is_ok_and(|n| n >= 1));
    }
}
