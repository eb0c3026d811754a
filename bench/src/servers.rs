//! The servers under test, each started as its own process.
//!
//! | kind | process | what it is |
//! |---|---|---|
//! | [`ServerKind::PrimusTyped`] | `bench-server typed` | primus-rs with `#[primus::event]`/`#[primus::on]` handlers |
//! | [`ServerKind::PrimusRaw`] | `bench-server raw` | primus-rs with one `on_data` handler |
//! | [`ServerKind::Tungstenite`] | `bench-server tungstenite` | raw tokio-tungstenite echo: the limit for our stack |
//! | [`ServerKind::NodePrimus`] | `node bench/node/server.js` | the real Primus 8 with the `websockets` transformer |
//! | [`ServerKind::Socketioxide`] | `bench-server socketioxide` | socketioxide 0.18, `serde_json::Value` echo: the Rust peer, untyped |
//! | [`ServerKind::SocketioxideTyped`] | `bench-server socketioxide-typed` | socketioxide 0.18, `String` echo answered by ack: the Rust peer, typed |
//! | [`ServerKind::NodeSocketIo`] | `node bench/node/socketio-server.js` | Socket.IO 4.8 (WebSocket transport), alone or on Redis with `@socket.io/redis-adapter`: the cluster benchmark's reference |
//! | [`ServerKind::Yawc`] | `bench-server yawc` | yawc 0.3 echo with its own permessage-deflate: the compression benchmark's Rust reference |
//!
//! Every server prints `{"port":N}` once listening on `127.0.0.1`, and exits
//! when its stdin ends. A [`ServerProcess`] is killed when dropped, so a
//! failing scenario never leaves a server behind.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// How long a server may take to print its port.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The WebSocket read buffer given to every Rust server: primus-rs' default.
pub const READ_BUFFER: usize = 4 * 1024;

/// One of the servers under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServerKind {
    /// primus-rs, typed-event echo (`bench-server typed`).
    PrimusTyped,
    /// primus-rs, raw-data echo (`bench-server raw`).
    PrimusRaw,
    /// A minimal tokio-tungstenite echo server (`bench-server tungstenite`).
    Tungstenite,
    /// Node.js Primus 8 (`bench/node/server.js`).
    NodePrimus,
    /// socketioxide 0.18, untyped echo (`bench-server socketioxide`).
    Socketioxide,
    /// socketioxide 0.18, typed echo answered by ack
    /// (`bench-server socketioxide-typed`).
    SocketioxideTyped,
    /// Node.js Socket.IO 4.8 (`bench/node/socketio-server.js`); only the
    /// cluster benchmark runs it, so it is not in [`ServerKind::ALL`].
    NodeSocketIo,
    /// yawc 0.3, a plain echo with yawc's permessage-deflate
    /// (`bench-server yawc`); only the compression benchmark runs it, so it
    /// is not in [`ServerKind::ALL`].
    Yawc,
}

impl ServerKind {
    /// Every server, in report order.
    pub const ALL: [ServerKind; 6] = [
        ServerKind::PrimusTyped,
        ServerKind::PrimusRaw,
        ServerKind::Tungstenite,
        ServerKind::NodePrimus,
        ServerKind::SocketioxideTyped,
        ServerKind::Socketioxide,
    ];

    /// The name used in reports.
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::PrimusTyped => "primus-rs typed",
            ServerKind::PrimusRaw => "primus-rs raw",
            ServerKind::Tungstenite => "tokio-tungstenite",
            ServerKind::NodePrimus => "Node Primus 8",
            ServerKind::NodeSocketIo => "Node Socket.IO 4.8",
            ServerKind::Socketioxide => "socketioxide",
            ServerKind::SocketioxideTyped => "socketioxide typed",
            ServerKind::Yawc => "yawc 0.3 (reference)",
        }
    }

    /// The name used on the command line (`--servers typed,raw,tungstenite,node`).
    pub fn id(self) -> &'static str {
        match self {
            ServerKind::PrimusTyped => "typed",
            ServerKind::PrimusRaw => "raw",
            ServerKind::Tungstenite => "tungstenite",
            ServerKind::NodePrimus => "node",
            ServerKind::NodeSocketIo => "socketio",
            ServerKind::Socketioxide => "socketioxide",
            ServerKind::SocketioxideTyped => "socketioxide-typed",
            ServerKind::Yawc => "yawc",
        }
    }

    /// Parses [`id`](Self::id), the kinds outside [`ServerKind::ALL`] too.
    pub fn from_id(id: &str) -> Option<ServerKind> {
        ServerKind::ALL
            .into_iter()
            .chain([ServerKind::NodeSocketIo, ServerKind::Yawc])
            .find(|kind| kind.id() == id)
    }

    /// True for the two primus-rs modes.
    pub fn is_primus_rs(self) -> bool {
        matches!(self, ServerKind::PrimusTyped | ServerKind::PrimusRaw)
    }

    /// True when messages are typed events (`{"event":…,"data":…}` on
    /// primus-rs, a `String` payload answered by ack on socketioxide).
    pub fn is_typed(self) -> bool {
        matches!(self, ServerKind::PrimusTyped | ServerKind::SocketioxideTyped)
    }

    /// True for the servers spoken to in Socket.IO v5 over Engine.IO v4
    /// (`/socket.io/?EIO=4&transport=websocket`).
    pub fn speaks_socket_io(self) -> bool {
        matches!(
            self,
            ServerKind::NodeSocketIo | ServerKind::Socketioxide | ServerKind::SocketioxideTyped
        )
    }

    /// The socketioxide server to compare this one with: typed with typed,
    /// everything else with the untyped echo.
    pub fn socketioxide_peer(self) -> ServerKind {
        if self.is_typed() {
            ServerKind::SocketioxideTyped
        } else {
            ServerKind::Socketioxide
        }
    }
}

/// Where the programs under test are, checked once per run.
#[derive(Debug, Clone)]
pub struct Environment {
    /// The `bench-server` binary (release build).
    pub bench_server: PathBuf,
    /// `node` and the Node server script, or why Node cannot run.
    pub node: Result<NodeSetup, String>,
    /// Where server logs (their stderr) go.
    pub log_dir: PathBuf,
}

/// A usable Node.js Primus server.
#[derive(Debug, Clone)]
pub struct NodeSetup {
    /// The `server.js` script.
    pub script: PathBuf,
    /// `node --version`.
    pub version: String,
}

/// The workspace root (the parent of `bench/`).
pub fn workspace_root() -> PathBuf {
    let bench = Path::new(env!("CARGO_MANIFEST_DIR"));
    bench.parent().unwrap_or(bench).to_path_buf()
}

/// The cargo target directory this binary was built into.
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| workspace_root().join("target"))
}

impl Environment {
    /// Builds `bench-server` (release) and checks Node, running `npm ci` in
    /// `bench/node` when its `node_modules` is missing.
    ///
    /// `PRIMUS_BENCH_SERVER=/path/to/bench-server` uses that binary instead
    /// of building one: a bench-server built from a modified copy of the
    /// library, to measure a change against the same references (A/B).
    pub async fn prepare(want_node: bool) -> Result<Environment, String> {
        let root = workspace_root();
        let bench_server = match std::env::var_os("PRIMUS_BENCH_SERVER") {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.exists() {
                    return Err(format!("PRIMUS_BENCH_SERVER={} does not exist", path.display()));
                }
                eprintln!("using bench-server {}", path.display());
                path
            }
            None => build_bench_server(&root).await?,
        };
        let log_dir = target_dir().join("primus-bench").join("logs");
        std::fs::create_dir_all(&log_dir).map_err(|e| format!("cannot create {}: {e}", log_dir.display()))?;
        let node = if want_node {
            prepare_node(&root.join("bench").join("node")).await
        } else {
            Err("not selected".to_owned())
        };
        Ok(Environment {
            bench_server,
            node,
            log_dir,
        })
    }
}

async fn build_bench_server(root: &Path) -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    eprintln!("building bench-server (release)…");
    let status = Command::new(&cargo)
        .args([
            "build",
            "--release",
            "-p",
            "primus-bench",
            "--bin",
            "bench-server",
        ])
        .current_dir(root)
        .stdin(Stdio::null())
        .status()
        .await;
    let bench_server = target_dir().join("release").join("bench-server");
    match status {
        Ok(status) if status.success() => Ok(bench_server),
        other if bench_server.exists() => {
            eprintln!("warning: building bench-server failed ({other:?}); using the existing binary");
            Ok(bench_server)
        }
        other => Err(format!("cannot build bench-server: {other:?}")),
    }
}

async fn prepare_node(dir: &Path) -> Result<NodeSetup, String> {
    let version = Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("node is not installed ({e})"))?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_owned();
    let installed = [
        "primus",
        "ws",
        "engine.io",
        "sockjs",
        "socket.io",
        "@socket.io/redis-adapter",
        "redis",
        "browserchannel",
    ]
    .iter()
    .all(|package| dir.join("node_modules").join(package).exists());
    if !installed {
        eprintln!(
            "installing the Node server's packages (npm ci in {})…",
            dir.display()
        );
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .status()
            .await
            .map_err(|e| format!("npm is not installed ({e})"))?;
        if !status.success() {
            return Err(format!("npm ci failed in {}", dir.display()));
        }
    }
    Ok(NodeSetup {
        script: dir.join("server.js"),
        version,
    })
}

/// Options for one server start.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// primus-rs: count parser encodes (for the broadcast scenario).
    pub count_encodes: bool,
    /// The Primus transformer (`--transformer`); `None`: `websockets`.
    pub transformer: Option<&'static str>,
    /// primus-rs and Socket.IO: a node of a cluster on this Redis
    /// (`--redis URL`); `None`: a single server.
    pub redis: Option<String>,
    /// primus-rs and Node Primus: permessage-deflate (`--compression`,
    /// Primus' `compression: true`); yawc: its own permessage-deflate,
    /// configured as primus-rs'.
    pub compression: bool,
}

/// What a Rust server says about itself (`bench-server`'s `stats` line).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Parser encodes so far (primus-rs started with `count_encodes`).
    pub encodes: Option<u64>,
    /// Connected clients: primus-rs' sparks (`Server::connected()`), or
    /// tokio-tungstenite's and yawc's connections past the handshake.
    pub connected: Option<u64>,
    /// Tokio tasks alive in the server's runtime
    /// (`RuntimeMetrics::num_alive_tasks`).
    pub tasks: Option<u64>,
    /// primus-rs over engine.io or SockJS: messages wrapped into the
    /// transport's packets so far (`packets_encoded()`).
    pub framed: Option<u64>,
}

/// A running server process; killed when dropped.
#[derive(Debug)]
pub struct ServerProcess {
    kind: ServerKind,
    child: Child,
    pid: u32,
    addr: SocketAddr,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl ServerProcess {
    /// Starts `kind` and waits until it listens.
    pub async fn start(
        kind: ServerKind,
        env: &Environment,
        options: StartOptions,
        log_name: &str,
    ) -> Result<ServerProcess, String> {
        let mut command = match kind {
            ServerKind::NodePrimus => {
                let node = env
                    .node
                    .as_ref()
                    .map_err(|why| format!("Node unavailable: {why}"))?;
                let mut command = Command::new("node");
                command.arg(&node.script);
                if let Some(transformer) = options.transformer {
                    command.args(["--transformer", transformer]);
                }
                if options.redis.is_some() {
                    return Err("the Node Primus server has no cluster mode here".to_owned());
                }
                if options.compression {
                    command.arg("--compression");
                }
                command
            }
            ServerKind::NodeSocketIo => {
                let node = env
                    .node
                    .as_ref()
                    .map_err(|why| format!("Node unavailable: {why}"))?;
                let mut command = Command::new("node");
                command.arg(node.script.with_file_name("socketio-server.js"));
                if let Some(url) = &options.redis {
                    command.args(["--redis", url]);
                }
                command
            }
            _ => {
                let mode = match kind {
                    ServerKind::PrimusTyped => "typed",
                    ServerKind::PrimusRaw => "raw",
                    ServerKind::Socketioxide => "socketioxide",
                    ServerKind::SocketioxideTyped => "socketioxide-typed",
                    ServerKind::Yawc => "yawc",
                    _ => "tungstenite",
                };
                let mut command = Command::new(&env.bench_server);
                command
                    .arg(mode)
                    .args(["--read-buffer", &READ_BUFFER.to_string()]);
                if options.count_encodes && kind.is_primus_rs() {
                    command.arg("--count-encodes");
                }
                if options.compression {
                    if !kind.is_primus_rs() && kind != ServerKind::Yawc {
                        return Err(format!("{} does not compress here", kind.label()));
                    }
                    command.arg("--compression");
                }
                if let Some(transformer) = options.transformer {
                    if !kind.is_primus_rs() {
                        return Err(format!("{} speaks only websockets", kind.label()));
                    }
                    command.args(["--transformer", transformer]);
                }
                if let Some(url) = &options.redis {
                    if !kind.is_primus_rs() {
                        return Err(format!("{} has no cluster mode", kind.label()));
                    }
                    command.args(["--redis", url]);
                }
                command
            }
        };
        let log_path = env.log_dir.join(format!("{log_name}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", kind.label()))?;
        let pid = child.id().ok_or("the server exited at once")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut stdout = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, stdout.next_line())
            .await
            .map_err(|_| format!("{} did not start in {START_TIMEOUT:?}", kind.label()))?
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{} exited; see {}", kind.label(), log_path.display()))?;
        let port = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("port")?.as_u64())
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("{} printed {line:?} instead of {{\"port\":N}}", kind.label()))?;
        Ok(ServerProcess {
            kind,
            child,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            stdin,
            stdout,
        })
    }

    /// Which server this is.
    pub fn kind(&self) -> ServerKind {
        self.kind
    }

    /// Its process id (for `/proc`).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its resident memory in KiB.
    pub fn rss_kib(&self) -> std::io::Result<u64> {
        crate::procfs::rss_kib(self.pid)
    }

    /// primus-rs only: parser encodes so far (started with `count_encodes`).
    pub async fn encodes(&mut self) -> Option<u64> {
        if !self.kind.is_primus_rs() {
            return None;
        }
        self.stats().await?.encodes
    }

    /// The Rust servers' own counters (the `stats` command of
    /// `bench-server`); `None` for Node or when the server does not answer
    /// within 5 s.
    pub async fn stats(&mut self) -> Option<ServerStats> {
        if matches!(self.kind, ServerKind::NodePrimus | ServerKind::NodeSocketIo) {
            return None;
        }
        let stdin = self.stdin.as_mut()?;
        stdin.write_all(b"stats\n").await.ok()?;
        stdin.flush().await.ok()?;
        let line = tokio::time::timeout(Duration::from_secs(5), self.stdout.next_line())
            .await
            .ok()?
            .ok()??;
        let value = serde_json::from_str::<serde_json::Value>(&line).ok()?;
        let field = |name: &str| value.get(name).and_then(serde_json::Value::as_u64);
        Some(ServerStats {
            encodes: field("encodes"),
            connected: field("connected"),
            tasks: field("tasks"),
            framed: field("framed"),
        })
    }

    /// Ends the server: closes its stdin, waits a little, then kills it.
    pub async fn stop(mut self) {
        drop(self.stdin.take());
        if tokio::time::timeout(Duration::from_secs(2), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
