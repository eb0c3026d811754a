//! Shared support for the integration tests: the echo-contract server, the
//! Node.js harness (real npm `primus@8.0.9`), the headless-Chromium harness
//! (`tests/browser`) and a raw WebSocket client.
//!
//! The echo contract is described in `tests/interop/README.md`; the Rust
//! server here and `tests/interop/server.js` both follow it, so the same
//! scenarios run against either.

use primus::spark::SparkError;
use primus::{AuthError, Server, ServerBuilder, Spark};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The folder with the Node.js harness.
pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Makes sure `npm ci` has run in `tests/interop` (once per test binary).
/// Panics with a clear message when Node.js or npm is missing: interop tests
/// must never pass by being skipped.
pub fn ensure_node_modules() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let dir = interop_dir();
        if dir.join("node_modules/primus/package.json").exists()
            && dir.join("node_modules/ws/package.json").exists()
        {
            return;
        }
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| panic!("interop tests need npm (Node.js 18+); running `npm ci` failed: {e}"));
        assert!(status.success(), "`npm ci` in {} failed", dir.display());
    });
}

/// Debian's Chromium, which the browser tests drive headless.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The folder with the browser tests' Node.js side (`playwright-core`,
/// `typescript`).
pub fn browser_dir() -> PathBuf {
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
/// Panics with a clear message when Node.js or npm is missing.
pub fn ensure_browser_modules() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let dir = browser_dir();
        if dir.join("node_modules/playwright-core/package.json").exists()
            && dir.join("node_modules/typescript/package.json").exists()
        {
            return;
        }
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .unwrap_or_else(|e| panic!("browser tests need npm (Node.js 20+); running `npm ci` failed: {e}"));
        assert!(status.success(), "`npm ci` in {} failed", dir.display());
    });
}

/// Runs `node tests/browser/<script> <args…>` (which drives headless
/// Chromium) and panics with its output unless it exits with 0. Returns the
/// JSON summary it printed last. Scripts of one test binary run one at a
/// time, so that two Chromiums never compete for the CPU.
pub async fn browser_script(script: &str, args: &[&str]) -> Value {
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    ensure_chromium();
    ensure_browser_modules();
    let _turn = ONE_AT_A_TIME.lock().await;
    let mut command = Command::new("node");
    command
        .arg(browser_dir().join(script))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("browser script {script} {args:?} did not finish within 120 s"))
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 20+ is required for browser tests): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "browser script {script} {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let summary = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
    serde_json::from_str(summary).unwrap_or(Value::Null)
}

/// Errors seen by a server's `error` handler, as strings.
#[derive(Clone, Default)]
pub struct ErrorLog(Arc<Mutex<Vec<String>>>);

impl ErrorLog {
    /// A copy of what was recorded so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Records one error.
    pub fn record(&self, error: &SparkError) {
        if let Ok(mut entries) = self.0.lock() {
            entries.push(error.to_string());
        }
    }
}

/// A server following the echo contract, configured by `configure`.
pub fn contract_builder(errors: &ErrorLog) -> ServerBuilder {
    let errors = errors.clone();
    Server::builder()
        .authorize(|request| async move {
            match request.query.get("auth") {
                Some("fail") => {
                    Err(AuthError::new("Authentication required")
                        .authenticate("Basic realm=\"primus-rs-test\""))
                }
                _ => Ok(()),
            }
        })
        .on_data(|spark, message| async move { contract_reply(&spark, message) })
        .on_error(move |_spark, error| errors.record(error))
}

fn contract_reply(spark: &Spark, message: primus::Message) {
    let Ok(value) = message.decode::<Value>() else {
        // Binary frames pass through the JSON parser undecoded: echo them.
        let _ = spark.write_frame(message.into_frame());
        return;
    };
    match value.get("cmd").and_then(Value::as_str) {
        Some("id") => drop(spark.write(&json!({ "id": spark.id() }))),
        Some("end") => drop(spark.end()),
        Some("end-reconnect") => drop(spark.end_reconnect()),
        Some("broadcast") => drop(spark.server().write(value.get("data").unwrap_or(&Value::Null))),
        _ => drop(spark.write(&value)),
    }
}

/// A started server: its handle, address and recorded errors.
pub struct Running {
    /// The server handle.
    pub server: Server,
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
    /// Errors its `error` handler saw.
    pub errors: ErrorLog,
}

impl Running {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/primus`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/primus", self.addr)
    }
}

/// Serves `server` on an ephemeral port of 127.0.0.1.
pub async fn serve(server: Server, errors: ErrorLog) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let serving = server.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    Running { server, addr, errors }
}

/// The echo-contract server with the given heartbeat interval.
pub async fn contract_server(ping_interval: Option<Duration>) -> Running {
    let errors = ErrorLog::default();
    let server = contract_builder(&errors)
        .ping_interval(ping_interval)
        .build()
        .expect("build contract server");
    serve(server, errors).await
}

/// Runs one scenario of `tests/interop/client.js` (the real Primus Node
/// client) against `url` and panics with its output unless it passed.
pub async fn node_scenario(url: &str, scenario: &str, ping_interval_ms: Option<u64>) -> Value {
    ensure_node_modules();
    let mut command = Command::new("node");
    command
        .arg(interop_dir().join("client.js"))
        .args(["--url", url, "--scenario", scenario])
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(ms) = ping_interval_ms {
        command.args(["--ping-interval", &ms.to_string()]);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .unwrap_or_else(|_| panic!("scenario {scenario} did not finish within 60 s"))
        .unwrap_or_else(|e| panic!("cannot run node (Node.js 18+ is required for interop tests): {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "real Primus client scenario `{scenario}` failed ({}):\nstdout: {stdout}\nstderr: {stderr}",
        output.status
    );
    let summary = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
    serde_json::from_str(summary).unwrap_or(Value::Null)
}

/// A server process started from a command that prints `{"port":N}` and
/// exits when its stdin closes; killed on drop.
pub struct ServerProcess {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl ServerProcess {
    /// Starts `command` and waits for its port line.
    pub async fn start(mut command: Command) -> ServerProcess {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the server process: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the server did not print its port within 20 s")
            .expect("read server stdout")
            .expect("the server exited before printing its port");
        let port = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line}"))
            as u16;
        ServerProcess { child, port }
    }

    /// The echo-contract server: the `contract-server` binary of this crate,
    /// whose path integration tests get as `env!("CARGO_BIN_EXE_contract-server")`.
    pub async fn contract(program: &str, port: u16, ping_interval_ms: Option<u64>) -> ServerProcess {
        let mut command = Command::new(program);
        command.args(["--port", &port.to_string()]);
        if let Some(ms) = ping_interval_ms {
            command.args(["--ping-interval", &ms.to_string()]);
        }
        ServerProcess::start(command).await
    }

    /// The real Node.js Primus 8 server (`tests/interop/server.js`).
    pub async fn node(port: u16, ping_interval_ms: u64) -> ServerProcess {
        ensure_node_modules();
        let mut command = Command::new("node");
        command.arg(interop_dir().join("server.js")).args([
            "--port",
            &port.to_string(),
            "--ping-interval",
            &ping_interval_ms.to_string(),
        ]);
        ServerProcess::start(command).await
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

/// A real Node.js Primus 8 server (`tests/interop/server.js`), killed on drop.
pub struct NodeServer {
    _child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

impl NodeServer {
    /// Starts it with the given heartbeat interval.
    pub async fn start(ping_interval_ms: u64) -> NodeServer {
        ensure_node_modules();
        let mut child = Command::new("node")
            .arg(interop_dir().join("server.js"))
            .args(["--ping-interval", &ping_interval_ms.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node (Node.js 18+ is required): {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("node server did not print its port within 20 s")
            .expect("read node server stdout")
            .expect("node server exited before printing its port");
        let port = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|v| v["port"].as_u64())
            .unwrap_or_else(|| panic!("unexpected first line from server.js: {line}"))
            as u16;
        NodeServer { _child: child, port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Raw WebSocket access for tests that speak the wire format by hand.
pub mod raw {
    use futures_util::{SinkExt, StreamExt};
    use std::time::Duration;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    /// A raw WebSocket client connection.
    pub type Socket =
        tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    /// Connects to `url` (a `ws://` URL), adding `headers`.
    pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Socket {
        let mut request = url.into_client_request().expect("valid ws url");
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                value.parse().expect("header value"),
            );
        }
        let (socket, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connect");
        socket
    }

    /// Sends a text frame.
    pub async fn send_text(socket: &mut Socket, text: &str) {
        socket.send(Message::text(text)).await.expect("send text");
    }

    /// The next text frame, skipping heartbeat pings and WebSocket ping/pong
    /// frames; panics after `wait`.
    pub async fn next_text(socket: &mut Socket, wait: Duration) -> String {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = tokio::time::timeout_at(deadline, socket.next())
                .await
                .expect("timed out waiting for a text frame")
                .expect("socket ended")
                .expect("socket error");
            match message {
                Message::Text(text) if text.starts_with("\"primus::ping::") => continue,
                Message::Ping(_) | Message::Pong(_) => continue,
                Message::Text(text) => return text.to_string(),
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame of any kind (pings included); `None` when the socket
    /// ended; panics after `wait`.
    pub async fn next_any(socket: &mut Socket, wait: Duration) -> Option<Message> {
        tokio::time::timeout(wait, socket.next())
            .await
            .expect("timed out waiting for a frame")
            .and_then(Result::ok)
    }
}

/// Installs a test log subscriber once (`RUST_LOG` controls it).
pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
    });
}
