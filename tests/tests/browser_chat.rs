//! The chat example's web page in headless Chromium: two pages chat with
//! each other and with a typed Rust client, then the server is destroyed
//! (asking clients to reconnect) and started again on the same port; the
//! pages show "reconnecting…", come back, join again and chat again.
//!
//! The browser side is `tests/browser/chat.js`; this file runs the servers
//! and the Rust client, and steps the script through stdin/stdout lines.
//!
//! `CHAT_SCREENSHOT=1` also writes `examples/chat/screenshot.png` (the
//! README's picture): the page after two messages.

use chat_events::{ChatClient, ChatServer};
use primus::{Destroy, Server};
use primus_client::{Client, Events};
use primus_tests::{browser_dir, ensure_browser_modules, ensure_chromium, init_logs};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Upper bound of one step of the script.
const STEP: Duration = Duration::from_secs(30);

/// One running chat server (`chat_server::server()` served with
/// `chat_server::app`).
struct Chat {
    server: Server,
    shutdown: oneshot::Sender<()>,
    listener_task: JoinHandle<std::io::Result<()>>,
}

impl Chat {
    async fn start(addr: SocketAddr) -> Chat {
        let server = chat_server::server().expect("chat server");
        let listener = bind(addr).await;
        let app = chat_server::app(&server).into_make_service_with_connect_info::<SocketAddr>();
        let (shutdown, stop) = oneshot::channel::<()>();
        let listener_task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.await;
                })
                .await
        });
        Chat {
            server,
            shutdown,
            listener_task,
        }
    }

    /// Destroys the server without `primus::server::close` (clients
    /// reconnect) and waits until the listener task has ended.
    async fn destroy(self) {
        self.server
            .destroy(Destroy {
                reconnect: true,
                ..Default::default()
            })
            .await;
        let _ = self.shutdown.send(());
        tokio::time::timeout(Duration::from_secs(10), self.listener_task)
            .await
            .expect("the listener did not stop within 10 s")
            .expect("listener task")
            .expect("serve");
    }
}

/// Binds `addr`, retrying briefly (the previous listener just closed).
async fn bind(addr: SocketAddr) -> TcpListener {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(error) if Instant::now() < deadline => {
                eprintln!("bind {addr}: {error}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => panic!("cannot bind {addr} again: {error}"),
        }
    }
}

/// A free port of 127.0.0.1 (bound once, then released for reuse).
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `tests/browser/chat.js`, stepped through its stdin and stdout.
struct Script {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    stderr: JoinHandle<String>,
}

impl Script {
    fn start(url: &str, screenshot: Option<&PathBuf>) -> Script {
        let mut command = Command::new("node");
        command
            .arg(browser_dir().join("chat.js"))
            .arg(url)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(path) = screenshot {
            command.arg("--screenshot").arg(path);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (Node.js 20+ is required for browser tests): {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Script {
            child,
            stdin,
            stdout,
            stderr,
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
        panic!("{why}\nchat.js stderr:\n{stderr}");
    }

    /// Waits for the line `expected` from the script.
    async fn expect(mut self, expected: &str) -> Script {
        match tokio::time::timeout(STEP, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) if line.trim() == expected => self,
            Ok(Ok(Some(line))) => {
                self.fail(format!("expected {expected} from chat.js, got {line:?}"))
                    .await
            }
            Ok(Ok(None)) => self.fail(format!("chat.js exited before {expected}")).await,
            Ok(Err(error)) => self.fail(format!("reading chat.js output: {error}")).await,
            Err(_) => {
                self.fail(format!("no {expected} from chat.js within {STEP:?}"))
                    .await
            }
        }
    }

    /// Sends the line `line` to the script.
    async fn tell(mut self, line: &str) -> Script {
        match self.stdin.write_all(format!("{line}\n").as_bytes()).await {
            Ok(()) => self,
            Err(error) => self.fail(format!("cannot tell chat.js {line}: {error}")).await,
        }
    }

    /// Waits for the script to succeed; returns its JSON summary.
    async fn finish(mut self) -> Value {
        let _ = self.stdin.shutdown().await;
        let mut last = String::new();
        loop {
            match tokio::time::timeout(STEP, self.stdout.next_line()).await {
                Ok(Ok(Some(line))) => last = line,
                Ok(Ok(None)) => break,
                Ok(Err(error)) => return self.fail(format!("reading chat.js output: {error}")).await,
                Err(_) => return self.fail(format!("chat.js did not finish within {STEP:?}")).await,
            }
        }
        let status = match tokio::time::timeout(STEP, self.child.wait()).await {
            Ok(Ok(status)) => status,
            _ => return self.fail("chat.js did not exit".to_owned()).await,
        };
        if !status.success() {
            return self.fail(format!("chat.js failed ({status})")).await;
        }
        serde_json::from_str(&last).unwrap_or_else(|_| panic!("chat.js summary is not JSON: {last:?}"))
    }
}

/// The next typed event equal to `expected`, skipping others; bounded.
async fn wait_for(events: &mut Events, expected: &ChatServer) {
    let found = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.next_as::<ChatServer>().await {
            if &event == expected {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "the Rust client never got {expected:?}");
}

fn message(from: &str, text: &str) -> ChatServer {
    ChatServer::Message {
        from: from.into(),
        text: text.into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_and_a_rust_client_chat_across_a_restart() {
    init_logs();
    ensure_chromium();
    ensure_browser_modules();
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port().await));
    let url = format!("http://{addr}");
    let screenshot = std::env::var_os("CHAT_SCREENSHOT")
        .map(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/chat/screenshot.png"));

    let first = Chat::start(addr).await;
    let script = Script::start(&url, screenshot.as_ref()).expect("JOINED").await;

    // A typed Rust client joins the pages' room.
    let (rusty, mut events) = Client::builder(url.as_str()).connect().expect("connect");
    let names: Vec<String> = rusty
        .request(ChatClient::join("rusty".into()))
        .await
        .expect("join");
    assert_eq!(names, ["ada", "bob", "rusty"]);
    rusty
        .send(&ChatClient::Say("hello from rust".into()))
        .expect("say");
    wait_for(&mut events, &message("rusty", "hello from rust")).await;
    let script = script.tell("RUST-SAID").await.expect("PAGE-SAID").await;
    wait_for(&mut events, &message("ada", "hi rusty")).await;
    let script = script.expect("READY").await;

    // Restart on the same port.
    let destroyed_at = epoch_ms();
    first.destroy().await;
    rusty.end();
    let stopped_at = epoch_ms();
    let second = Chat::start(addr).await;
    let restarted_at = epoch_ms();
    let (rusty, mut events) = Client::builder(url.as_str()).connect().expect("connect again");
    let names: Vec<String> = rusty
        .request(ChatClient::join("rusty".into()))
        .await
        .expect("join again");
    assert!(names.contains(&"rusty".to_owned()), "{names:?}");
    let script = script.tell("RESTARTED").await;

    wait_for(&mut events, &message("bob", "back again")).await;
    let summary = script.finish().await;
    let members = summary["members"].as_array().expect("members");
    assert!(members.iter().any(|m| m == "ada (you)") && members.iter().any(|m| m == "bob"));

    eprintln!(
        "restart: listener stopped {} ms after destroy, new server up {} ms after destroy",
        stopped_at - destroyed_at,
        restarted_at - destroyed_at
    );
    for page in ["ada", "bob"] {
        let history = &summary["history"][page];
        let reconnects: Vec<String> = history["reconnects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                format!(
                    "{} (attempt {}, {} ms) at +{} ms",
                    r["event"].as_str().unwrap_or("?"),
                    r["attempt"],
                    r["scheduled"],
                    r["at"].as_u64().unwrap_or(0).saturating_sub(destroyed_at)
                )
            })
            .collect();
        let states: Vec<String> = history["states"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "{} at +{} ms",
                    s["state"].as_str().unwrap_or("?"),
                    s["at"].as_u64().unwrap_or(0).saturating_sub(destroyed_at)
                )
            })
            .collect();
        eprintln!(
            "{page}: {}; page state: {}",
            reconnects.join(", "),
            states.join(", ")
        );
    }
    rusty.end();
    second.server.destroy(Destroy::default()).await;
}
