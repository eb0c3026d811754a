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
use primus_client::Client;
use primus_tests::browser::Stepped;
use primus_tests::events::wait_for;
use primus_tests::logs::init_logs;
use primus_tests::server::free_port;
use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long the Rust client may wait for one chat message.
const MESSAGE: Duration = Duration::from_secs(10);

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

fn epoch_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `tests/browser/chat.js` for the chat at `url`, stepped.
async fn chat_script(url: &str, screenshot: Option<&PathBuf>) -> Stepped {
    let mut args = vec![OsString::from(url)];
    if let Some(path) = screenshot {
        args.push("--screenshot".into());
        args.push(path.into());
    }
    Stepped::start("chat.js", args).await
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
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port().await));
    let url = format!("http://{addr}");
    let screenshot = std::env::var_os("CHAT_SCREENSHOT")
        .map(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/chat/screenshot.png"));

    let first = Chat::start(addr).await;
    let script = chat_script(&url, screenshot.as_ref())
        .await
        .expect("JOINED")
        .await;

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
    wait_for(&mut events, &message("rusty", "hello from rust"), MESSAGE).await;
    let script = script.tell("RUST-SAID").await.expect("PAGE-SAID").await;
    wait_for(&mut events, &message("ada", "hi rusty"), MESSAGE).await;
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

    wait_for(&mut events, &message("bob", "back again"), MESSAGE).await;
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

/// Two chat pages over a polling transport: the chat server with
/// `transformer`, the pages opened with `query`; the transports the server
/// saw are returned (engine.io's `transport` query, SockJS' URL segment).
async fn pages_chat_over(
    transformer: Box<dyn primus::transformer::Transformer>,
    query: &str,
    extra: &[&str],
) -> Vec<String> {
    init_logs();
    let server = chat_server::server_over(transformer).expect("chat server");
    let seen = primus_tests::logs::Log::default();
    use primus_tests::transports::{recorder, LAYER, RUNS};
    server
        .middleware()
        .use_layer(LAYER, RUNS, recorder(seen.clone()))
        .expect("add the recording layer");
    let addr = primus_tests::server::serve_app(chat_server::app(&server)).await;
    let mut args = vec![format!("http://{addr}"), query.to_owned()];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let summary = primus_tests::browser::script("chat_pair.js", &args).await;
    assert_eq!(
        summary["members"],
        serde_json::json!(["ada (you)", "bob"]),
        "{summary}"
    );
    primus_tests::transports::used(&seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_chat_over_engine_io_polling_without_websocket() {
    let used = pages_chat_over(
        Box::new(primus::transformer::EngineIo::default()),
        "",
        &["--no-websocket"],
    )
    .await;
    assert_eq!(used, ["polling"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pages_chat_over_sockjs_xhr_streaming() {
    let used = pages_chat_over(
        Box::new(primus::transformer::SockJs::default()),
        "?transports=xhr-streaming",
        &[],
    )
    .await;
    assert_eq!(used, ["xhr_send", "xhr_streaming"]);
}
