//! The browser client served at `/primus/primus.js` (and `primus.mjs`),
//! running in headless Chromium against a primus-rs server: open and echo,
//! `id()`, heartbeats, server-side ends with and without reconnect, odd
//! protocol frames, the typed layer, backoff against a closed port, the
//! client's ping timeout and the load-time error of a non-JSON server.
//!
//! Each test starts its own server (an axum app with a test page, Primus
//! mounted with `server.layer()`) and runs one scenario of
//! `tests/browser/client.js`, which holds the browser-side assertions.
//! Untyped on purpose: the `#[primus::on]` registry is per test binary, so
//! the typed server side is tested with the chat example (`browser_chat.rs`).

use axum::response::Html;
use axum::routing::get;
use primus::parser::Bincode;
use primus::{Frame, Message, Server, ServerBuilder, Spark};
use primus_tests::logs::Log;
use primus_tests::server::{free_port, serve_app};
use primus_tests::{browser, contract};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;

/// The test page: loads the client as a classic script.
const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>primus-rs browser test</title>
<script src="/primus/primus.js"></script></head>
<body><p>primus-rs browser test page</p></body></html>"#;

/// A page without the client (the ES module scenario imports it itself).
const EMPTY: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>primus-rs browser test</title></head>
<body><p>empty</p></body></html>"#;

/// A running test server: its handle, address and the ids of every spark
/// that connected, in order.
struct TestServer {
    _server: Server,
    addr: SocketAddr,
    sparks: Log,
}

impl TestServer {
    async fn start(builder: ServerBuilder) -> TestServer {
        TestServer::start_wrapped(builder, |app| app).await
    }

    /// [`start`](Self::start) with the app changed by `wrap` (an outer layer).
    async fn start_wrapped(
        builder: ServerBuilder,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> TestServer {
        let sparks = Log::default();
        let seen = sparks.clone();
        let server = builder
            .on_connection(move |spark: Spark| {
                let seen = seen.clone();
                async move {
                    seen.push(spark.id());
                }
            })
            .on_data(|spark, message| async move { reply(&spark, message) })
            .build()
            .expect("build the test server");
        let app = axum::Router::new()
            .route("/", get(|| async { Html(PAGE) }))
            .route("/empty", get(|| async { Html(EMPTY) }))
            .layer(server.layer());
        let addr = serve_app(wrap(app)).await;
        TestServer {
            _server: server,
            addr,
            sparks,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn sparks(&self) -> Vec<String> {
        self.sparks.entries()
    }

    async fn run(&self, scenario: &str) -> Value {
        let summary = browser::script("client.js", &[&self.url(), scenario]).await;
        assert_eq!(summary["scenario"], scenario, "summary: {summary}");
        summary
    }
}

/// The echo contract ([`contract::reply`]), plus the requests and commands
/// described in `client.js`.
fn reply(spark: &Spark, message: Message) {
    let Ok(value) = message.decode::<Value>() else {
        return contract::reply(spark, message);
    };
    if let Some(id) = value.get("request").and_then(Value::as_u64) {
        let answer = match value["event"].as_str() {
            Some("double") => json!({ "reply": id, "data": value["data"].as_i64().unwrap_or(0) * 2 }),
            Some("fail") => json!({ "reply": id, "error": "no way" }),
            _ => return, // "slow": never answered
        };
        let _ = spark.write(&answer);
        return;
    }
    match value.get("cmd").and_then(Value::as_str) {
        Some("ask") => {
            let spark = spark.clone();
            tokio::spawn(async move {
                let outcome = |result: Result<Value, primus::spark::RequestError>| match result {
                    Ok(value) => json!({ "ok": value }),
                    Err(error) => json!({ "error": error.to_string() }),
                };
                let confirm = spark
                    .request(Asks::confirm("ready?".into()))
                    .await
                    .map(Value::from);
                let pick = spark.request(Asks::pick(9)).await.map(Value::from);
                let refuse = spark.request(Asks::refuse()).await.map(Value::from);
                let unanswered = spark.request(Asks::unanswered()).await.map(Value::from);
                let _ = spark.write(&json!({ "asked": {
                    "confirm": outcome(confirm),
                    "pick": outcome(pick),
                    "refuse": outcome(refuse),
                    "unanswered": outcome(unanswered),
                }}));
            });
        }
        Some("junk") => {
            for frame in [
                Frame::text(r#""primus::foo::bar""#),
                Frame::text(r#""primus::server::nope""#),
                Frame::text("not json"),
                Frame::binary(vec![0xde, 0xad, 0xbe, 0xef]),
                Frame::text(r#""primus::ping::notanumber""#),
                Frame::text(r#"{"done":true}"#),
            ] {
                let _ = spark.write_frame(frame);
            }
        }
        Some("typed") => {
            for value in [
                json!({ "event": "news", "data": { "n": 1 } }),
                json!({ "event": "open", "data": 1 }),
                json!({ "reply": 999, "data": "not ours" }),
                // Request 1 was answered already; not the shape of a reply either way.
                json!({ "reply": 1, "score": 10 }),
                json!({ "reply": 2, "data": "x", "from": "the app" }),
                json!({ "done": "typed" }),
            ] {
                let _ = spark.write(&value);
            }
        }
        _ => contract::reply(spark, message),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_queue_and_echo() {
    let server = TestServer::start(Server::builder()).await;
    let summary = server.run("echo").await;
    assert_eq!(summary["echoed"], 9);
    assert_eq!(server.sparks().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es_module_build() {
    let server = TestServer::start(Server::builder()).await;
    server.run("module").await;
    assert_eq!(server.sparks().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_is_the_spark_id() {
    let server = TestServer::start(Server::builder()).await;
    let summary = server.run("id").await;
    assert_eq!(server.sparks(), [summary["id"].as_str().expect("id in summary")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_are_answered() {
    let server = TestServer::start(Server::builder().ping_interval(Duration::from_millis(200))).await;
    let summary = server.run("heartbeat").await;
    // The server closes a spark that misses a pong at its next tick: one
    // spark for the whole run proves every ping was answered.
    assert_eq!(server.sparks(), [summary["id"].as_str().expect("id in summary")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_end_is_final() {
    let server = TestServer::start(Server::builder()).await;
    server.run("server-end").await;
    assert_eq!(server.sparks().len(), 1, "the client must not reconnect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_end_reconnect_reconnects() {
    let server = TestServer::start(Server::builder()).await;
    let summary = server.run("server-end-reconnect").await;
    let sparks = server.sparks();
    assert_eq!(
        sparks,
        [
            summary["before"].as_str().expect("before"),
            summary["after"].as_str().expect("after")
        ]
    );
    eprintln!(
        "reconnect timings (ms after the end-reconnect command): close and `reconnect scheduled` at {}, reconnect at {}, reconnected at {}, open at {}",
        summary["closedAt"], summary["reconnectAt"], summary["reconnectedAt"], summary["openAt"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_protocol_frames() {
    let server = TestServer::start(Server::builder()).await;
    server.run("protocol").await;
    assert_eq!(server.sparks().len(), 1, "the connection must survive the junk");
}

/// Requests the server sends to the page (`spark.request`).
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Asks {
    #[primus(reply = bool)]
    Confirm(String),
    #[primus(reply = u32)]
    Pick { max: u32 },
    #[primus(reply = String)]
    Refuse,
    #[primus(reply = String)]
    Unanswered,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_answers_requests_from_the_server() {
    let server = TestServer::start(Server::builder()).await;
    server.run("answers").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_layer_over_untyped_handlers() {
    let server = TestServer::start(Server::builder()).await;
    server.run("typed").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_against_a_closed_port() {
    let server = TestServer::start(Server::builder()).await;
    let closed = free_port().await;
    let summary = browser::script("client.js", &[&server.url(), "unreachable", &closed.to_string()]).await;
    eprintln!("backoff delays: {}", summary["scheduled"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_ping_timeout_goes_offline_and_reconnects() {
    let server = TestServer::start(Server::builder().ping_interval(None)).await;
    server.run("ping-timeout").await;
    assert!(server.sparks().len() >= 2, "reconnected: {:?}", server.sparks());
}

/// The served client with the MessagePack parser: binary frames both ways,
/// the same scenarios as with JSON (echo of every JSON kind, the spark id,
/// the heartbeat, the typed layer, requests from the server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_client_speaks_msgpack() {
    for scenario in ["echo", "id", "typed", "answers"] {
        let server = TestServer::start(Server::builder().parser(primus::parser::MsgPack)).await;
        server.run(scenario).await;
    }
    let server = TestServer::start(
        Server::builder()
            .parser(primus::parser::MsgPack)
            .ping_interval(Duration::from_millis(200)),
    )
    .await;
    server.run("heartbeat").await;
    assert_eq!(server.sparks().len(), 1, "every ping answered over msgpack");
}

/// The served client with the EJSON parser: dates, bytes, non-finite
/// numbers and an escaped object round trip through the server; the usual
/// scenarios work as with JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_client_speaks_ejson() {
    for scenario in ["ejson", "id", "typed", "answers"] {
        let server = TestServer::start(Server::builder().parser(primus::parser::Ejson)).await;
        server.run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_json_server_serves_a_client_that_refuses_to_load() {
    let server = TestServer::start(Server::builder().parser(Bincode)).await;
    server.run("wrong-parser").await;
    assert!(server.sparks().is_empty());
}

/// The served client over engine.io and SockJS: `transport` scenario with
/// the client options given, and the transports the server saw (the query's
/// `transport` for engine.io, the URL's last segment for SockJS).
async fn over_transport(
    transformer: Box<dyn FnOnce(ServerBuilder) -> ServerBuilder>,
    options: Value,
) -> Vec<String> {
    let (builder, seen) = primus_tests::transports::recording(transformer(Server::builder()));
    let server = TestServer::start(builder).await;
    let summary = browser::script("client.js", &[&server.url(), "transport", &options.to_string()]).await;
    assert_eq!(
        summary["id"].as_str(),
        server.sparks().first().map(String::as_str),
        "{summary}"
    );
    primus_tests::transports::used(&seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_polling_only_in_a_page_without_websocket() {
    let used = over_transport(
        Box::new(|b| b.transformer(primus::transformer::EngineIo::default())),
        json!({ "noWebSocket": true }),
    )
    .await;
    assert_eq!(used, ["polling"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_upgrades_to_websocket() {
    let used = over_transport(
        Box::new(|b| b.transformer(primus::transformer::EngineIo::default())),
        json!({}),
    )
    .await;
    assert_eq!(used, ["polling", "websocket"]);
}

/// engine.io's upgrade keeps order even when a poll that carries messages
/// is slow to arrive: every poll of a session is answered 300 ms late, so
/// the WebSocket is ready long before the poll in flight is back. The
/// client must not complete the upgrade (`5`) before that poll returned,
/// or what the server sends over the WebSocket overtakes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_io_upgrade_keeps_order_when_a_poll_is_slow() {
    async fn late_polls(
        request: axum::extract::Request,
        next: axum::middleware::Next,
    ) -> axum::response::Response {
        let query = request.uri().query().unwrap_or_default().to_owned();
        let slow = request.method() == http::Method::GET
            && query.contains("transport=polling")
            && query.contains("sid=");
        let response = next.run(request).await;
        if slow {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        response
    }
    let (builder, seen) = primus_tests::transports::recording(
        Server::builder().transformer(primus::transformer::EngineIo::default()),
    );
    let server =
        TestServer::start_wrapped(builder, |app| app.layer(axum::middleware::from_fn(late_polls))).await;
    let summary = browser::script("client.js", &[&server.url(), "transport", "{}"]).await;
    assert_eq!(summary["received"], 207, "{summary}");
    assert_eq!(primus_tests::transports::used(&seen), ["polling", "websocket"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockjs_over_xhr_streaming() {
    let used = over_transport(
        Box::new(|b| b.transformer(primus::transformer::SockJs::default())),
        json!({ "transport": { "transports": ["xhr-streaming"] } }),
    )
    .await;
    assert_eq!(used, ["xhr_send", "xhr_streaming"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockjs_over_xhr_polling() {
    let used = over_transport(
        Box::new(|b| b.transformer(primus::transformer::SockJs::default())),
        json!({ "transport": { "transports": ["xhr-polling"] } }),
    )
    .await;
    assert_eq!(used, ["xhr", "xhr_send"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockjs_over_websocket() {
    let used = over_transport(
        Box::new(|b| b.transformer(primus::transformer::SockJs::default())),
        json!({}),
    )
    .await;
    assert_eq!(used, ["websocket"]);
}
