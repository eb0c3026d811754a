//! Child processes the tests start: a command run to completion whose last
//! JSON line is its summary ([`run_to_summary`]), a server process that
//! prints its port first and is killed on drop ([`ServerProcess`]), and
//! `npm ci` once per folder and test binary ([`npm_ci_once`]).
//!
//! Every child is started with `kill_on_drop`, and every wait on one is
//! bounded.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a server process may take to print its port.
const PORT_LINE: Duration = Duration::from_secs(20);

/// Runs `npm ci --no-audit --no-fund` in `dir` unless every package of
/// `packages` is installed there already; once per folder and test binary.
/// `needs` says what the tests need when npm cannot run (for example
/// `"interop tests need npm (Node.js 18+)"`): tests that need Node.js must
/// never pass by being skipped.
pub fn npm_ci_once(dir: &Path, packages: &[&str], needs: &str) {
    static READY: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let mut ready = READY.lock().unwrap_or_else(PoisonError::into_inner);
    if ready.iter().any(|done| done == dir) {
        return;
    }
    let installed = packages.iter().all(|package| {
        dir.join("node_modules")
            .join(package)
            .join("package.json")
            .exists()
    });
    if !installed {
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .status()
            .unwrap_or_else(|e| panic!("{needs}; running `npm ci` failed: {e}"));
        assert!(status.success(), "`npm ci` in {} failed", dir.display());
    }
    ready.push(dir.to_owned());
}

/// Runs `command` (stdin closed, killed on drop) to completion within
/// `limit` and panics with its stdout and stderr unless it exits with 0.
/// Returns the last line of its stdout that starts with `{`, as JSON (`{}`
/// when there is none, `null` when it does not parse). `what` names the
/// run in messages; `needs` says what to install when it cannot start.
pub async fn run_to_summary(mut command: Command, limit: Duration, what: &str, needs: &str) -> Value {
    command.stdin(Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("{what} did not finish within {limit:?}"))
        .unwrap_or_else(|e| panic!("cannot run {what} ({needs}): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let summary = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
    serde_json::from_str(summary).unwrap_or(Value::Null)
}

/// A server process started from a command that prints `{"port":N}` once
/// listening on 127.0.0.1 and exits when its stdin closes; killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl ServerProcess {
    /// Starts `command` and waits (at most 20 s) for its port line.
    pub async fn start(mut command: Command) -> ServerProcess {
        let program = command.as_std().get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the server process {program}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(PORT_LINE, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("the server {program} did not print its port within {PORT_LINE:?}"))
            .expect("read server stdout")
            .unwrap_or_else(|| panic!("the server {program} exited before printing its port"));
        let port = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .unwrap_or_else(|| panic!("unexpected first line from the server {program}: {line}"))
            as u16;
        ServerProcess { child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends a signal by name (`"STOP"`, `"CONT"`) with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let pid = self.child.id().expect("the server process is running");
        let status = std::process::Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} {pid} failed");
    }

    /// Kills the process with SIGKILL (a crash: no close frames) and waits for it.
    pub async fn crash(mut self) {
        let _ = self.child.kill().await;
    }
}
