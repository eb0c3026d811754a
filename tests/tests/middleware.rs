//! The middleware stack: registered layers, the built-ins as named layers,
//! and run-time use / insert / remove / disable / enable.

use http::{HeaderMap, HeaderValue, StatusCode};
use primus::middleware::{HttpRequest, Outcome, Runs};
use primus::Server;
use primus_tests::{init_logs, raw, serve, ErrorLog, Running};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Upgrades from the same IP beyond three are refused (a tiny rate limit).
#[primus::middleware(name = "rate-limit", http = false, upgrade = true)]
async fn rate_limit(request: HttpRequest) -> Outcome {
    static SEEN: OnceLock<Mutex<HashMap<Option<IpAddr>, u32>>> = OnceLock::new();
    let count = {
        let mut seen = SEEN.get_or_init(Default::default).lock().expect("lock");
        let count = seen.entry(request.address.ip).or_default();
        *count += 1;
        *count
    };
    match count {
        1..=3 => Outcome::Continue,
        _ => Outcome::respond(StatusCode::TOO_MANY_REQUESTS, "slow down"),
    }
}

/// Marks plain HTTP responses, to show registered layers run in order.
#[primus::middleware(name = "stamp", upgrade = false, order = -1)]
async fn stamp(_request: HttpRequest) -> Outcome {
    let mut headers = HeaderMap::new();
    headers.insert("x-stamp", HeaderValue::from_static("1"));
    Outcome::ContinueWith(headers)
}

/// `(status, lower-cased headers, body)` of a raw HTTP/1.1 request.
async fn http(running: &Running, request: &str) -> (u16, HashMap<String, String>, String) {
    let mut stream = tokio::net::TcpStream::connect(running.addr)
        .await
        .expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    // Read the head; a 101 keeps the connection open, anything else ends it.
    let mut response = Vec::new();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let read = stream.read(&mut chunk).await.expect("read");
            response.extend_from_slice(&chunk[..read]);
            let head_done = response.windows(4).any(|w| w == b"\r\n\r\n");
            if read == 0 || (head_done && response.starts_with(b"HTTP/1.1 101")) {
                break;
            }
        }
    })
    .await
    .expect("response in time");
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
}

const UPGRADE: &str =
    "GET /primus HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

async fn start(server: Server) -> Running {
    init_logs();
    serve(server, ErrorLog::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_middleware_runs_for_its_kind_of_request() {
    let running = start(Server::builder().handlers_from_registry().build().expect("build")).await;
    assert_eq!(
        running.server.middleware().names(),
        [
            "cors",
            "primus.js",
            "spec",
            "x-xss",
            "no-cache",
            "authorization",
            "stamp",
            "rate-limit"
        ]
    );
    // HTTP: stamped, never rate limited.
    for _ in 0..5 {
        let (status, headers, _) = http(&running, &get("/primus")).await;
        assert_eq!(status, 426);
        assert_eq!(headers.get("x-stamp").map(String::as_str), Some("1"));
    }
    // Upgrades: three go through, the fourth is refused before the handshake.
    for _ in 0..3 {
        let (status, headers, _) = http(&running, UPGRADE).await;
        assert_eq!(status, 101);
        assert!(!headers.contains_key("x-stamp"), "stamp is HTTP only");
    }
    let (status, headers, body) = http(&running, UPGRADE).await;
    assert_eq!((status, body.as_str()), (429, "slow down"));
    assert_eq!(headers.get("connection").map(String::as_str), Some("close"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_ins_can_be_disabled_removed_and_replaced_at_run_time() {
    let running = start(Server::builder().build().expect("build")).await;
    let stack = running.server.middleware();

    let (_, headers, _) = http(&running, &get("/primus")).await;
    assert!(headers.contains_key("cache-control"));
    stack.disable("no-cache").expect("disable");
    assert!(!stack.is_enabled("no-cache"));
    let (status, headers, _) = http(&running, &get("/primus")).await;
    assert_eq!(status, 426);
    assert!(!headers.contains_key("cache-control"), "no-cache is disabled");
    stack.enable("no-cache").expect("enable");
    let (_, headers, _) = http(&running, &get("/primus")).await;
    assert!(headers.contains_key("cache-control"));

    stack.remove("spec").expect("remove");
    assert_eq!(
        http(&running, &get("/primus/spec")).await.0,
        426,
        "no spec layer, no spec"
    );
    assert!(stack.remove("spec").is_err(), "already gone");

    // Replace the spec with our own, first in the stack.
    stack
        .insert(
            0,
            "spec",
            Runs {
                http: true,
                upgrade: false,
            },
            |request: HttpRequest| async move {
                match request.uri.path() {
                    "/primus/spec" => Outcome::respond(StatusCode::OK, "custom spec"),
                    _ => Outcome::Continue,
                }
            },
        )
        .expect("insert");
    assert_eq!(stack.names()[0], "spec");
    assert_eq!(http(&running, &get("/primus/spec")).await.2, "custom spec");
    assert!(
        stack
            .use_layer("spec", Runs::default(), |_request: HttpRequest| async {
                Outcome::Continue
            })
            .is_err(),
        "names are unique"
    );
    // A layer appended at run time answers plain HTTP and upgrades alike.
    stack
        .use_layer("closed", Runs::default(), |_request: HttpRequest| async {
            Err::<(), _>(Outcome::respond(StatusCode::SERVICE_UNAVAILABLE, "maintenance")).map_err(
                |outcome| match outcome {
                    Outcome::Respond(response) => response,
                    _ => unreachable!("built as a response"),
                },
            )
        })
        .expect("use");
    assert_eq!(http(&running, &get("/primus")).await.0, 503);
    assert_eq!(http(&running, UPGRADE).await.0, 503);
    stack.remove("closed").expect("remove");
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut socket, "\"primus::id::\"").await;
    assert!(raw::next_text(&mut socket, Duration::from_secs(5))
        .await
        .starts_with("\"primus::id::"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_middleware_sees_the_request_and_layers_run_in_order() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let (first, second) = (seen.clone(), seen.clone());
    let server = Server::builder()
        .middleware("first", Runs::default(), move |request: HttpRequest| {
            let seen = first.clone();
            async move {
                seen.lock()
                    .expect("lock")
                    .push(format!("first {} upgrade={}", request.uri, request.upgrade));
                Outcome::Continue
            }
        })
        .middleware(
            "second",
            Runs {
                http: true,
                upgrade: false,
            },
            move |request: HttpRequest| {
                let seen = second.clone();
                async move {
                    seen.lock()
                        .expect("lock")
                        .push(format!("second {}", request.query.get("q").unwrap_or("")));
                    Outcome::Continue
                }
            },
        )
        .build()
        .expect("build");
    let running = start(server).await;
    http(&running, &get("/primus?q=hello")).await;
    http(&running, UPGRADE).await;
    assert_eq!(
        *seen.lock().expect("lock"),
        [
            "first /primus?q=hello upgrade=false",
            "second hello",
            "first /primus upgrade=true"
        ]
    );
    // Requests outside the pathname never reach the stack.
    http(&running, &get("/elsewhere")).await;
    assert_eq!(seen.lock().expect("lock").len(), 3);
}
