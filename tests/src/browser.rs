//! The headless-Chromium harness: Debian's Chromium ([`CHROMIUM`]) driven by
//! the Node.js scripts in `tests/browser` (`playwright-core`, and
//! `typescript` for the typings checks). A script either runs to its JSON
//! summary ([`script`]) or is stepped line by line through its stdin and
//! stdout ([`Stepped`]). Scripts of one test binary run one at a time, so
//! that two Chromiums never compete for the CPU.

use crate::process::{npm_ci_once, run_to_summary};
use serde_json::Value;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::{Mutex, MutexGuard};
use tokio::task::JoinHandle;

/// Debian's Chromium, which the browser tests drive headless.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// What the browser tests need from the machine besides Chromium.
const NEEDS: &str = "browser tests need Node.js 20+ and npm";

/// How long a script run to its summary may take.
const SCRIPT_LIMIT: Duration = Duration::from_secs(120);

/// Upper bound of one step of a [`Stepped`] script.
pub const STEP: Duration = Duration::from_secs(30);

/// The folder with the browser tests' Node.js side (`playwright-core`,
/// `typescript`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("browser")
}

/// Panics with a clear message when Chromium is not installed: browser
/// tests must never pass by being skipped.
pub fn ensure_chromium() {
    assert!(
        std::path::Path::new(CHROMIUM).exists(),
        "the browser tests need Chromium at {CHROMIUM}: \
         run the suite with `tests/run.sh`, which installs it"
    );
}

/// Makes sure `npm ci` has run in `tests/browser` (once per test binary).
pub fn ensure_modules() {
    npm_ci_once(&dir(), &["playwright-core", "typescript"], NEEDS);
}

/// Waits for this test binary's turn to run a browser script.
async fn turn() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());
    ONE_AT_A_TIME.lock().await
}

/// Runs `node tests/browser/<script> <args…>` (which drives headless
/// Chromium) and panics with its output unless it exits with 0 within
/// 120 s. Returns the JSON summary it printed last.
pub async fn script(script: &str, args: &[&str]) -> Value {
    ensure_chromium();
    ensure_modules();
    let _turn = turn().await;
    let mut command = Command::new("node");
    command.arg(dir().join(script)).args(args);
    let what = format!("browser script {script} {args:?}");
    run_to_summary(command, SCRIPT_LIMIT, &what, NEEDS).await
}

/// A script of `tests/browser` stepped through its stdin and stdout: the
/// test waits for a line ([`Stepped::expect`]), answers with one
/// ([`Stepped::tell`]), and at the end reads the JSON summary
/// ([`Stepped::finish`]). Each step is bounded by [`STEP`]; a failing step
/// kills the script and panics with its stderr.
pub struct Stepped {
    name: String,
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
    _turn: MutexGuard<'static, ()>,
}

impl Stepped {
    /// Starts `node tests/browser/<script> <args…>`.
    pub async fn start<S: AsRef<OsStr>>(script: &str, args: impl IntoIterator<Item = S>) -> Stepped {
        ensure_chromium();
        ensure_modules();
        let turn = turn().await;
        let mut child = Command::new("node")
            .arg(dir().join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run browser script {script} ({NEEDS}): {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Stepped {
            name: script.to_owned(),
            child,
            stdin,
            stdout,
            stderr,
            _turn: turn,
        }
    }

    /// Panics with the script's stderr (after it exited or was killed).
    async fn fail<T>(mut self, why: String) -> T {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        let stderr = tokio::time::timeout(Duration::from_secs(5), self.stderr)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        panic!("{why}\n{} stderr:\n{stderr}", self.name);
    }

    /// Waits for the line `expected` from the script.
    pub async fn expect(mut self, expected: &str) -> Stepped {
        let name = self.name.clone();
        match tokio::time::timeout(STEP, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) if line.trim() == expected => self,
            Ok(Ok(Some(line))) => {
                self.fail(format!("expected {expected} from {name}, got {line:?}"))
                    .await
            }
            Ok(Ok(None)) => self.fail(format!("{name} exited before {expected}")).await,
            Ok(Err(error)) => self.fail(format!("reading {name} output: {error}")).await,
            Err(_) => {
                self.fail(format!("no {expected} from {name} within {STEP:?}"))
                    .await
            }
        }
    }

    /// Sends the line `line` to the script.
    pub async fn tell(mut self, line: &str) -> Stepped {
        match self.stdin.write_all(format!("{line}\n").as_bytes()).await {
            Ok(()) => self,
            Err(error) => {
                let why = format!("cannot tell {} {line}: {error}", self.name);
                self.fail(why).await
            }
        }
    }

    /// Closes the script's stdin and waits for it to succeed; returns the
    /// JSON summary it printed last.
    pub async fn finish(mut self) -> Value {
        let name = self.name.clone();
        let _ = self.stdin.shutdown().await;
        let mut last = String::new();
        loop {
            match tokio::time::timeout(STEP, self.stdout.next_line()).await {
                Ok(Ok(Some(line))) => last = line,
                Ok(Ok(None)) => break,
                Ok(Err(error)) => return self.fail(format!("reading {name} output: {error}")).await,
                Err(_) => return self.fail(format!("{name} did not finish within {STEP:?}")).await,
            }
        }
        let status = match tokio::time::timeout(STEP, self.child.wait()).await {
            Ok(Ok(status)) => status,
            _ => return self.fail(format!("{name} did not exit")).await,
        };
        if !status.success() {
            return self.fail(format!("{name} failed ({status})")).await;
        }
        serde_json::from_str(&last).unwrap_or_else(|_| panic!("{name} summary is not JSON: {last:?}"))
    }
}
