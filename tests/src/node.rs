//! The Node.js harness in `tests/interop` (its own `package.json` and
//! lockfile, real npm `primus@8.0.9`): scenarios of the real Primus client
//! (`client.js`) run against a server of ours ([`scenario`]), and the real
//! Primus server (`server.js`) as a process ([`start_server`]). Both follow
//! the echo contract of [`crate::contract`].

use crate::process::{npm_ci_once, run_to_summary, ServerProcess};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

/// What the interop tests need from the machine.
const NEEDS: &str = "interop tests need Node.js 18+ and npm";

/// How long one client scenario may run.
const SCENARIO_LIMIT: Duration = Duration::from_secs(60);

/// The folder with the Node.js harness.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Makes sure `npm ci` has run in `tests/interop` (once per test binary).
pub fn ensure_modules() {
    npm_ci_once(
        &dir(),
        &[
            "primus",
            "primus-emitter",
            "primus-msgpack",
            "ws",
            "sockjs",
            "sockjs-client",
            "engine.io",
            "engine.io-client",
            "faye-websocket",
            "ejson",
            "binary-pack",
        ],
        NEEDS,
    );
}

/// Runs one scenario of `tests/interop/client.js` (the real Primus Node
/// client) against `url` and panics with its output unless it passed within
/// 60 s. Returns the JSON summary it printed last.
pub async fn scenario(url: &str, scenario: &str, ping_interval_ms: Option<u64>) -> Value {
    scenario_over(url, scenario, ping_interval_ms, "websockets", None).await
}

/// [`scenario`] with the client made for `transformer` (`"websockets"`,
/// `"sockjs"`, `"engine.io"`) and, for SockJS, only the `transports` given
/// (`"websocket"`, `"xhr-streaming"`, `"xhr-polling"`, `"eventsource"`);
/// for engine.io, `"polling"` sets Primus' `websockets: false`.
pub async fn scenario_over(
    url: &str,
    scenario: &str,
    ping_interval_ms: Option<u64>,
    transformer: &str,
    transports: Option<&str>,
) -> Value {
    let command = scenario_command(url, scenario, ping_interval_ms, transformer, transports);
    run_scenario(command, scenario).await
}

/// The command [`scenario_over`] runs, for a test to add to (such as an
/// environment variable) before [`run_scenario`].
pub fn scenario_command(
    url: &str,
    scenario: &str,
    ping_interval_ms: Option<u64>,
    transformer: &str,
    transports: Option<&str>,
) -> Command {
    ensure_modules();
    let mut command = Command::new("node");
    command.arg(dir().join("client.js")).args([
        "--url",
        url,
        "--scenario",
        scenario,
        "--transformer",
        transformer,
    ]);
    match (transformer, transports) {
        // engine.io: `polling` alone is Primus' `websockets: false`.
        ("engine.io", Some("polling")) => {
            command.args(["--websockets", "false"]);
        }
        (_, Some(transports)) => {
            command.args(["--transports", transports]);
        }
        (_, None) => {}
    }
    if let Some(ms) = ping_interval_ms {
        command.args(["--ping-interval", &ms.to_string()]);
    }
    command
}

/// Runs `scenario` of the real Node client made with `parser` (its
/// `websockets` transformer) against `url`; see [`run_scenario`].
pub async fn parser_scenario(
    url: &str,
    parser: &str,
    scenario: &str,
    ping_interval_ms: Option<u64>,
) -> Value {
    let mut command = scenario_command(url, scenario, ping_interval_ms, "websockets", None);
    command.args(["--parser", parser]);
    run_scenario(command, scenario).await
}

/// Runs a [`scenario_command`] and panics with its output unless it passed
/// within 60 s. Returns the JSON summary it printed last.
pub async fn run_scenario(command: Command, scenario: &str) -> Value {
    let what = format!("real Primus client scenario `{scenario}`");
    run_to_summary(command, SCENARIO_LIMIT, &what, NEEDS).await
}

/// The real Node.js Primus 8 server (`tests/interop/server.js`) on `port`
/// (0 picks a free one) with the given heartbeat interval.
pub async fn start_server(port: u16, ping_interval_ms: u64) -> ServerProcess {
    start_server_over(port, ping_interval_ms, "websockets").await
}

/// [`start_server`] with another transformer (`"engine.io"`, `"sockjs"`).
pub async fn start_server_over(port: u16, ping_interval_ms: u64, transformer: &str) -> ServerProcess {
    start_server_with(port, ping_interval_ms, &["--transformer", transformer]).await
}

/// [`start_server`] with another parser (`"msgpack"`: npm `primus-msgpack`).
pub async fn start_server_with_parser(port: u16, ping_interval_ms: u64, parser: &str) -> ServerProcess {
    start_server_with(port, ping_interval_ms, &["--parser", parser]).await
}

/// [`start_server`] with Primus' `compression: true` (permessage-deflate).
pub async fn start_server_compressed(port: u16, ping_interval_ms: u64) -> ServerProcess {
    start_server_with(port, ping_interval_ms, &["--compression", "true"]).await
}

/// `tests/interop/server.js` with `options` after the port and interval.
async fn start_server_with(port: u16, ping_interval_ms: u64, options: &[&str]) -> ServerProcess {
    ensure_modules();
    let mut command = Command::new("node");
    command
        .arg(dir().join("server.js"))
        .args([
            "--port",
            &port.to_string(),
            "--ping-interval",
            &ping_interval_ms.to_string(),
        ])
        .args(options);
    ServerProcess::start(command).await
}
