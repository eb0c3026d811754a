//! The machine a run happened on, for the report's header.

use std::process::Stdio;
use tokio::process::Command;

/// What the report says about the machine and the tools.
#[derive(Debug, Clone)]
pub struct Machine {
    /// Logical cores.
    pub cores: usize,
    /// `model name` from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `MemTotal` from `/proc/meminfo`.
    pub memory: String,
    /// Kernel release.
    pub kernel: String,
    /// `PRETTY_NAME` from `/etc/os-release`.
    pub os: String,
    /// `rustc --version`.
    pub rustc: String,
    /// `node --version`, or why there is none.
    pub node: String,
    /// The socketioxide and engineioxide versions the bench server is built
    /// with (from `Cargo.lock`).
    pub socketioxide: String,
    /// The workspace's git commit (with `-dirty` when the tree has changes).
    pub commit: String,
    /// When the run started (UTC).
    pub date: String,
    /// Soft and hard open-file limits of the generator (servers raise theirs too).
    pub fd_limit: (u64, u64),
}

impl Machine {
    /// Looks everything up.
    pub async fn describe(node: Result<String, String>) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let os_release = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
        let root = crate::servers::workspace_root();
        let head = command_line(
            "git",
            &["-C", &root.to_string_lossy(), "rev-parse", "--short", "HEAD"],
        )
        .await;
        let dirty = command_line("git", &["-C", &root.to_string_lossy(), "status", "--porcelain"]).await;
        let commit = match (head, dirty) {
            (Ok(head), Ok(changes)) if !changes.is_empty() => format!("{head}-dirty"),
            (Ok(head), _) => head,
            (Err(why), _) => format!("unknown ({why})"),
        };
        Machine {
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: field(&cpuinfo, "model name").unwrap_or_else(|| "unknown".into()),
            memory: field(&meminfo, "MemTotal")
                .and_then(|kb| kb.trim_end_matches(" kB").trim().parse::<u64>().ok())
                .map_or_else(
                    || "unknown".into(),
                    |kb| format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0),
                ),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".into(), |s| s.trim().to_owned()),
            os: os_release
                .lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map_or_else(|| "unknown".into(), |s| s.trim_matches('"').to_owned()),
            rustc: command_line("rustc", &["--version"])
                .await
                .unwrap_or_else(|why| format!("unknown ({why})")),
            node: node.unwrap_or_else(|why| format!("not available ({why})")),
            socketioxide: ["socketioxide", "engineioxide"]
                .iter()
                .map(|name| {
                    let lock = std::fs::read_to_string(root.join("Cargo.lock")).unwrap_or_default();
                    format!("{name} {}", locked_version(&lock, name).unwrap_or("unknown"))
                })
                .collect::<Vec<_>>()
                .join(", "),
            commit,
            date: utc_now(),
            fd_limit: crate::fdlimit::current().unwrap_or((0, 0)),
        }
    }
}

/// The version `Cargo.lock` records for the package `name` (the first, if
/// there are several).
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.strip_prefix("name = ").map(|n| n.trim_matches('"')) == Some(name) {
            return lines
                .next()?
                .strip_prefix("version = ")
                .map(|v| v.trim_matches('"'));
        }
    }
    None
}

/// The value of the first `key : value` line.
fn field(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    })
}

async fn command_line(program: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .await
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("{program} failed"));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The current UTC time as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format_utc(secs)
}

/// Formats seconds since the epoch (civil-from-days, proleptic Gregorian).
pub fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(format_utc(1_700_000_000), "2023-11-14 22:13 UTC");
    }

    #[test]
    fn fields() {
        assert_eq!(
            field("model name\t: AMD EPYC\n", "model name").as_deref(),
            Some("AMD EPYC")
        );
    }

    #[test]
    fn locked_versions_are_read_from_the_lock_file() {
        let lock = "[[package]]\nname = \"socketioxide-core\"\nversion = \"0.20.0\"\n\n[[package]]\nname = \"socketioxide\"\nversion = \"0.18.9\"\n";
        assert_eq!(locked_version(lock, "socketioxide"), Some("0.18.9"));
        assert_eq!(locked_version(lock, "engineioxide"), None);
    }
}
