//! The Rust servers under test: one binary, six modes.
//!
//! ```text
//! bench-server typed        # primus-rs, #[primus::event] + #[primus::on] handlers
//! bench-server raw          # primus-rs, one `on_data` handler that echoes the frame
//! bench-server tungstenite  # a minimal tokio-tungstenite echo server (no Primus)
//! bench-server socketioxide        # socketioxide 0.18, `serde_json::Value` echo
//! bench-server socketioxide-typed  # socketioxide 0.18, `String` echo answered by ack
//! bench-server yawc         # yawc 0.3 echo (no Primus): the compression benchmark's reference
//!   [--read-buffer BYTES]   # WebSocket read buffer (default 4096, primus-rs' default; not yawc)
//!   [--count-encodes]       # primus modes: count parser encodes (reported by `stats`)
//!   [--transformer NAME]    # primus modes: websockets (default), engine.io, sockjs or browserchannel
//!   [--redis URL]           # primus modes: a node of a cluster on this Redis (prefix `bench`)
//!   [--compression]         # primus modes: permessage-deflate (Primus' `compression: true`);
//!                           # yawc: its permessage-deflate, configured as primus-rs'
//! ```
//!
//! Every mode follows the bench servers' contract (see `bench/README.md`):
//! it listens on `127.0.0.1` on a free port, prints `{"port":N}` on stdout
//! once listening, echoes every message, broadcasts every message of a
//! connection opened with `?bench=trigger` (typed mode: every `broadcast`
//! event), answers the stdin line `stats` with one JSON line, and exits when
//! stdin ends so it never outlives the suite.
//!
//! The `stats` line is `{"encodes":N,"connected":N,"tasks":N,"framed":N}`: parser
//! encodes (with `--count-encodes`), connected clients (primus-rs:
//! `Server::connected()`, the sparks; tungstenite and yawc: connections past the
//! handshake) and the tokio tasks alive in the server's runtime
//! (`RuntimeMetrics::num_alive_tasks`; the accept loop is one of them), and
//! with engine.io or SockJS the messages wrapped into the transport's
//! packets (`packets_encoded()`, 0 otherwise).

mod counting;
mod primus_echo;
mod socketioxide_echo;
mod tungstenite_echo;
mod yawc_echo;

use std::io::{BufRead, Write};
use std::process::ExitCode;
use tokio::net::TcpListener;

/// Options shared by the modes.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// WebSocket read buffer size in bytes.
    pub read_buffer: usize,
    /// Whether primus modes count parser encodes.
    pub count_encodes: bool,
    /// The primus modes' transformer, by its Primus name.
    pub transformer: &'static str,
    /// The primus modes' Redis, when the server is a node of a cluster.
    pub redis: Option<&'static str>,
    /// The primus modes (and yawc) accept permessage-deflate.
    pub compression: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Typed,
    Raw,
    Tungstenite,
    Socketioxide,
    SocketioxideTyped,
    Yawc,
}

fn parse_args() -> Result<(Mode, Settings), String> {
    let mut args = std::env::args().skip(1);
    let mode = match args.next().as_deref() {
        Some("typed") => Mode::Typed,
        Some("raw") => Mode::Raw,
        Some("tungstenite") => Mode::Tungstenite,
        Some("socketioxide") => Mode::Socketioxide,
        Some("socketioxide-typed") => Mode::SocketioxideTyped,
        Some("yawc") => Mode::Yawc,
        other => {
            return Err(format!(
                "expected a mode (typed, raw, tungstenite, socketioxide, socketioxide-typed, yawc), got {other:?}"
            ))
        }
    };
    let mut settings = Settings {
        read_buffer: 4096,
        count_encodes: false,
        transformer: "websockets",
        redis: None,
        compression: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--read-buffer" => {
                settings.read_buffer = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|v: &usize| *v > 0)
                    .ok_or("--read-buffer needs a positive number of bytes")?;
            }
            "--count-encodes" => settings.count_encodes = true,
            "--compression" => settings.compression = true,
            "--transformer" => {
                settings.transformer = match args.next().as_deref() {
                    Some("websockets") => "websockets",
                    Some("engine.io") => "engine.io",
                    Some("sockjs") => "sockjs",
                    Some("browserchannel") => "browserchannel",
                    other => {
                        return Err(format!(
                            "--transformer: websockets, engine.io, sockjs or browserchannel, not {other:?}"
                        ))
                    }
                };
            }
            "--redis" => {
                let url = args.next().ok_or("--redis needs a URL")?;
                // Read once per process and kept for its life.
                settings.redis = Some(Box::leak(url.into_boxed_str()));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((mode, settings))
}

/// The runtime: tokio's multi-threaded one with its defaults, unless
/// `PRIMUS_BENCH_RUNTIME` asks for another, to measure runtime choices
/// (`bench/README.md`): `current-thread`, `event-interval=N` or
/// `global-queue-interval=N` (comma-separated).
fn runtime_builder() -> Result<tokio::runtime::Builder, String> {
    let choice = std::env::var("PRIMUS_BENCH_RUNTIME").unwrap_or_default();
    let mut builder = match choice.split(',').any(|part| part == "current-thread") {
        true => tokio::runtime::Builder::new_current_thread(),
        false => tokio::runtime::Builder::new_multi_thread(),
    };
    for part in choice
        .split(',')
        .filter(|part| !part.is_empty() && *part != "current-thread")
    {
        let (name, value) = part
            .split_once('=')
            .ok_or(format!("PRIMUS_BENCH_RUNTIME: {part:?} is not name=value"))?;
        let value: u32 = value
            .parse()
            .map_err(|_| format!("PRIMUS_BENCH_RUNTIME: {part:?} needs a number"))?;
        match name {
            "event-interval" => builder.event_interval(value),
            "global-queue-interval" => builder.global_queue_interval(value),
            _ => return Err(format!("PRIMUS_BENCH_RUNTIME: unknown setting {name:?}")),
        };
    }
    Ok(builder)
}

fn main() -> ExitCode {
    let (mode, settings) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("bench-server: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(error) = primus_bench::fdlimit::raise() {
        eprintln!("bench-server: could not raise the open-file limit: {error}");
    }
    let runtime = match runtime_builder()
        .and_then(|mut builder| builder.enable_all().build().map_err(|e| e.to_string()))
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("bench-server: no runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(mode, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench-server: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(mode: Mode, settings: Settings) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{{\"port\":{port}}}")?;
        stdout.flush()?;
    }
    let runtime = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("control".to_owned())
        .spawn(move || control(mode, runtime))?;
    match mode {
        Mode::Typed => primus_echo::serve_typed(listener, settings).await?,
        Mode::Raw => primus_echo::serve_raw(listener, settings).await?,
        Mode::Tungstenite => tungstenite_echo::serve(listener, settings).await?,
        Mode::Socketioxide => socketioxide_echo::serve(listener, settings, false).await?,
        Mode::SocketioxideTyped => socketioxide_echo::serve(listener, settings, true).await?,
        Mode::Yawc => yawc_echo::serve(listener, settings).await?,
    }
    Ok(())
}

/// Reads commands from stdin on a thread of its own: `stats` prints
/// `{"encodes":N,"connected":N,"tasks":N}`; end of input exits.
///
/// A plain thread rather than `tokio::io::stdin()`: tokio reads stdin on
/// its blocking pool, which under a regular `stats` poll may grow by a
/// thread, and the soak scenario counts the server's threads.
fn control(mode: Mode, runtime: tokio::runtime::Handle) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim() == "stats" {
            let connected = match mode {
                Mode::Typed | Mode::Raw => primus_echo::connected(),
                Mode::Tungstenite => tungstenite_echo::connected(),
                Mode::Socketioxide | Mode::SocketioxideTyped => socketioxide_echo::connected(),
                Mode::Yawc => yawc_echo::connected(),
            };
            let tasks = runtime.metrics().num_alive_tasks();
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(
                stdout,
                "{{\"encodes\":{},\"connected\":{connected},\"tasks\":{tasks},\"framed\":{}}}",
                counting::encodes(),
                primus_echo::framed()
            );
            let _ = stdout.flush();
        }
    }
    std::process::exit(0);
}
