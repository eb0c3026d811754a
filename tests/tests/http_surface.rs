//! The plain-HTTP surface of the Rust server (primus-protocol.md §5.2-5.3,
//! §9 and the captured responses of Appendix A.3), spoken over raw TCP with
//! hand-written HTTP/1.1 requests.

use http::StatusCode;
use primus::{AuthError, Cors, Server};
use primus_tests::{contract_builder, contract_server, init_logs, raw, serve, ErrorLog, Running};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Upper bound for every single wait in this file.
const WAIT: Duration = Duration::from_secs(5);
const SPEC_1000: &str = r#"{"pingInterval":1000,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#;
const NO_CACHE: &str = "no-store, no-cache, must-revalidate, max-age=0";
const ORIGIN: &str = "http://example.com";
/// The RFC 6455 sample key and its accept value.
const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
const TRIDENT: &str = "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0)";
const AUTH_REQUIRED: &str = r#"{"error":"Authentication required"}"#;
const CHALLENGE: &str = r#"Basic realm="primus-rs-test""#;

/// A parsed HTTP response; header names are lower-cased.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    /// The only value of header `name`; `None` when absent, panics when repeated.
    fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(values.next().is_none(), "header {name} repeated in {self:#?}");
        first
    }

    fn assert_header(&self, name: &str, expected: &str) {
        assert_eq!(self.header(name), Some(expected), "header {name} in {self:#?}");
    }

    fn assert_no_header(&self, name: &str) {
        assert_eq!(self.header(name), None, "unexpected header {name} in {self:#?}");
    }

    fn assert_status(&self, expected: u16) {
        assert_eq!(self.status, expected, "status of {self:#?}");
    }
}

/// Builds a request with `Host` and `Connection: close` plus `headers`.
fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n"
}

/// A WebSocket handshake request for `path` plus `headers` (it cannot carry
/// `Connection: close`).
fn upgrade_request(path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {WS_KEY}\r\n"
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n"
}

/// Sends `raw_request` on a fresh connection and reads the response: the
/// head only for `101`, otherwise the body up to EOF (or `Content-Length`).
async fn http(addr: SocketAddr, raw_request: &str) -> Reply {
    tokio::time::timeout(WAIT, exchange(addr, raw_request))
        .await
        .unwrap_or_else(|_| panic!("no complete response within 5 s to {raw_request:?}"))
}

async fn exchange(addr: SocketAddr, raw_request: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    stream
        .write_all(raw_request.as_bytes())
        .await
        .expect("write request");
    let mut bytes = Vec::new();
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.expect("read head");
        assert!(
            read > 0,
            "connection closed before the end of the head: {bytes:?}"
        );
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut reply = Reply {
        status,
        headers,
        body: String::new(),
    };
    if status == 101 {
        return reply;
    }
    let mut body = bytes[head_end + 4..].to_vec();
    let length = reply
        .header("content-length")
        .map(|l| l.parse::<usize>().expect("numeric content-length"));
    match length {
        Some(length) => {
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let read = stream.read(&mut chunk).await.expect("read body");
                assert!(read > 0, "body shorter than content-length {length}: {body:?}");
                body.extend_from_slice(&chunk[..read]);
            }
            assert_eq!(body.len(), length, "body longer than content-length");
            // Both `Connection: close` requests and refused upgrades end the
            // connection after the response.
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.expect("read to EOF");
            assert!(rest.is_empty(), "bytes after the response: {rest:?}");
        }
        None => {
            stream.read_to_end(&mut body).await.expect("read body to EOF");
            if reply.header("transfer-encoding") == Some("chunked") {
                body = dechunk(&body);
            }
        }
    }
    reply.body = String::from_utf8(body).expect("UTF-8 body");
    reply
}

/// Decodes a chunked body (no trailers expected).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..line_end]).expect("chunk size");
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).expect("hex size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    http(addr, &request("GET", path, headers)).await
}

/// Serves the contract builder after `configure`.
async fn server_with(configure: impl FnOnce(primus::ServerBuilder) -> primus::ServerBuilder) -> Running {
    init_logs();
    let errors = ErrorLog::default();
    let server = configure(contract_builder(&errors)).build().expect("build");
    serve(server, errors).await
}

/// The 426 every non-upgrade request under the pathname gets (§5.3).
fn assert_upgrade_required(reply: &Reply) {
    reply.assert_status(426);
    reply.assert_header("content-type", "text/plain");
    reply.assert_header("cache-control", NO_CACHE);
    reply.assert_header("pragma", "no-cache");
    assert_eq!(reply.body, "Upgrade Required");
}

/// A server whose authorization hook always answers 403 "Go away!".
async fn forbidding_server() -> Running {
    init_logs();
    let errors = ErrorLog::default();
    let server = Server::builder()
        .authorize(|_request| async {
            Err(AuthError::new("Go away!")
                .with_status(StatusCode::FORBIDDEN)
                .authenticate("x"))
        })
        .build()
        .expect("build");
    serve(server, errors).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_reports_the_configuration() {
    let running = contract_server(Some(Duration::from_millis(1000))).await;
    let reply = get(running.addr, "/primus/spec", &[]).await;
    reply.assert_status(200);
    reply.assert_header("content-type", "application/json");
    reply.assert_no_header("cache-control");
    assert_eq!(reply.body, SPEC_1000);

    // Answered before authorization, and the query is ignored.
    let reply = get(running.addr, "/primus/spec?auth=fail", &[]).await;
    reply.assert_status(200);
    assert_eq!(reply.body, SPEC_1000);

    // Any method; CORS headers when there is an Origin (§9.2).
    let post = request(
        "POST",
        "/primus/spec",
        &[("Origin", ORIGIN), ("Content-Length", "0")],
    );
    let reply = http(running.addr, &post).await;
    reply.assert_status(200);
    reply.assert_header("access-control-allow-origin", ORIGIN);
    assert_eq!(reply.body, SPEC_1000);

    // The path must match exactly.
    assert_upgrade_required(&get(running.addr, "/primus/spec/", &[]).await);

    let no_heartbeat = contract_server(None).await;
    let reply = get(no_heartbeat.addr, "/primus/spec", &[]).await;
    assert_eq!(
        reply.body,
        r#"{"pingInterval":false,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_follows_pathname_and_parser() {
    let realtime = server_with(|b| b.ping_interval(Duration::from_millis(1000)).pathname("/realtime")).await;
    let reply = get(realtime.addr, "/realtime/spec", &[]).await;
    reply.assert_status(200);
    assert_eq!(
        reply.body,
        r#"{"pingInterval":1000,"pathname":"/realtime","version":"8.0.9","parser":"json","transformer":"websockets"}"#
    );
    // The old pathname is not Primus' any more.
    get(realtime.addr, "/primus/spec", &[]).await.assert_status(404);

    let bincode = server_with(|b| {
        b.ping_interval(Duration::from_millis(1000))
            .parser(primus::parser::Bincode)
    })
    .await;
    let reply = get(bincode.addr, "/primus/spec", &[]).await;
    reply.assert_status(200);
    assert_eq!(
        reply.body,
        r#"{"pingInterval":1000,"pathname":"/primus","version":"8.0.9","parser":"bincode","transformer":"websockets"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_get_under_the_pathname_is_426() {
    let running = contract_server(None).await;
    for path in ["/primus", "/primus/anything", "/primus?foo=bar"] {
        let reply = get(running.addr, path, &[]).await;
        assert_upgrade_required(&reply);
        reply.assert_no_header("access-control-allow-origin");
        reply.assert_no_header("x-xss-protection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_with_default_settings() {
    let running = contract_server(None).await;

    let reply = get(running.addr, "/primus", &[("Origin", ORIGIN)]).await;
    assert_upgrade_required(&reply);
    reply.assert_header("access-control-allow-origin", ORIGIN);
    reply.assert_header("vary", "Origin");
    reply.assert_header("access-control-allow-credentials", "true");
    reply.assert_no_header("access-control-max-age");

    // A preflight is answered before authorization (note auth=fail).
    let preflight = request(
        "OPTIONS",
        "/primus?auth=fail",
        &[
            ("Origin", ORIGIN),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "X-Foo"),
        ],
    );
    let reply = http(running.addr, &preflight).await;
    reply.assert_status(200);
    reply.assert_header("content-length", "0");
    assert_eq!(reply.body, "");
    reply.assert_header("access-control-allow-origin", ORIGIN);
    reply.assert_header("vary", "Origin");
    reply.assert_header("access-control-allow-credentials", "true");
    reply.assert_header("access-control-max-age", "2592000");
    reply.assert_header(
        "access-control-allow-methods",
        "GET, HEAD, PUT, POST, DELETE, OPTIONS",
    );
    reply.assert_header("access-control-allow-headers", "X-Foo");
    // Answered before the no-cache layer (§9.8).
    reply.assert_no_header("cache-control");
    reply.assert_no_header("www-authenticate");

    // A method outside the list is refused, also before authorization.
    for path in ["/primus", "/primus?auth=fail"] {
        let reply = http(running.addr, &request("PATCH", path, &[("Origin", ORIGIN)])).await;
        reply.assert_status(403);
        reply.assert_header("content-type", "text/plain");
        assert_eq!(
            reply.body,
            "Invalid HTTP Access Control (CORS) request:\n  Origin: http://example.com\n  Method: PATCH"
        );
    }

    // Origins with `%` or without a scheme are refused; `null` is accepted.
    for origin in ["http://ex%61mple.com", "example.com"] {
        let reply = get(running.addr, "/primus", &[("Origin", origin)]).await;
        reply.assert_status(403);
        assert_eq!(
            reply.body,
            format!("Invalid HTTP Access Control (CORS) request:\n  Origin: {origin}\n  Method: GET")
        );
    }
    let reply = get(running.addr, "/primus", &[("Origin", "null")]).await;
    assert_upgrade_required(&reply);
    reply.assert_header("access-control-allow-origin", "null");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_with_an_origin_list() {
    let running = server_with(|b| {
        b.ping_interval(None)
            .cors(Cors::default().origins(["https://ok.example"]))
    })
    .await;

    let reply = get(running.addr, "/primus", &[("Origin", ORIGIN)]).await;
    reply.assert_status(403);
    reply.assert_header("content-type", "text/plain");
    assert_eq!(
        reply.body,
        "Invalid HTTP Access Control (CORS) request:\n  Origin: http://example.com\n  Method: GET"
    );
    reply.assert_no_header("access-control-allow-origin");

    let reply = get(running.addr, "/primus", &[("Origin", "https://ok.example")]).await;
    assert_upgrade_required(&reply);
    reply.assert_header("access-control-allow-origin", "https://ok.example");
    reply.assert_header("vary", "Origin");
    reply.assert_header("access-control-allow-credentials", "true");

    // CORS is not applied to upgrades (§9.7): any origin may connect.
    let reply = http(running.addr, &upgrade_request("/primus", &[("Origin", ORIGIN)])).await;
    reply.assert_status(101);
    reply.assert_header("sec-websocket-accept", WS_ACCEPT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_on_plain_http() {
    let running = contract_server(None).await;
    let reply = get(running.addr, "/primus?auth=fail", &[]).await;
    reply.assert_status(401);
    reply.assert_header("content-type", "application/json");
    reply.assert_header("www-authenticate", CHALLENGE);
    reply.assert_header("cache-control", NO_CACHE);
    reply.assert_header("pragma", "no-cache");
    reply.assert_header("content-length", &AUTH_REQUIRED.len().to_string());
    assert_eq!(reply.body, AUTH_REQUIRED);

    let forbidding = forbidding_server().await;
    let reply = get(forbidding.addr, "/primus", &[]).await;
    reply.assert_status(403);
    reply.assert_header("content-type", "application/json");
    reply.assert_no_header("www-authenticate");
    reply.assert_header("cache-control", NO_CACHE);
    assert_eq!(reply.body, r#"{"error":"Go away!"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_on_upgrade() {
    let running = contract_server(None).await;

    let reply = http(running.addr, &upgrade_request("/primus?auth=fail", &[])).await;
    reply.assert_status(401);
    reply.assert_header("connection", "close");
    reply.assert_header("content-type", "application/json");
    reply.assert_header("www-authenticate", CHALLENGE);
    reply.assert_no_header("upgrade");
    reply.assert_no_header("sec-websocket-accept");
    reply.assert_no_header("cache-control");
    assert_eq!(reply.body, AUTH_REQUIRED);
    assert_eq!(running.server.connected(), 0);

    // Accepted: no compression unless enabled, no subprotocol (§5.1, A.3).
    let offer = [
        (
            "Sec-WebSocket-Extensions",
            "permessage-deflate; client_max_window_bits",
        ),
        ("Origin", ORIGIN),
    ];
    let reply = http(running.addr, &upgrade_request("/primus", &offer)).await;
    reply.assert_status(101);
    reply.assert_header("sec-websocket-accept", WS_ACCEPT);
    reply.assert_no_header("sec-websocket-extensions");
    reply.assert_no_header("sec-websocket-protocol");
    reply.assert_no_header("access-control-allow-origin");
    assert_eq!(
        reply.header("connection").map(str::to_ascii_lowercase).as_deref(),
        Some("upgrade")
    );
    assert_eq!(
        reply.header("upgrade").map(str::to_ascii_lowercase).as_deref(),
        Some("websocket")
    );

    let forbidding = forbidding_server().await;
    let reply = http(forbidding.addr, &upgrade_request("/primus", &[])).await;
    reply.assert_status(403);
    reply.assert_header("connection", "close");
    reply.assert_header("content-type", "application/json");
    reply.assert_no_header("www-authenticate");
    assert_eq!(reply.body, r#"{"error":"Go away!"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primus_js_serves_the_browser_client() {
    let running = contract_server(Some(Duration::from_millis(1000))).await;
    // Like /spec it is answered before authorization and without no-cache.
    for path in ["/primus/primus.js", "/primus/primus.js?auth=fail"] {
        let reply = get(running.addr, path, &[]).await;
        reply.assert_status(200);
        reply.assert_header("content-type", "text/javascript; charset=utf-8");
        reply.assert_header("content-length", &reply.body.len().to_string());
        reply.assert_no_header("cache-control");
        // The compiled-in values: pathname and pingTimeout = 1000 + round(1000 / 2).
        assert!(
            reply.body.contains(r#"pathname: "/primus","#),
            "pathname not compiled in"
        );
        assert!(
            reply.body.contains("pingTimeout: 1500,"),
            "pingTimeout not compiled in"
        );
        assert!(
            reply.body.contains(r#"parser: "json","#),
            "parser not compiled in"
        );
        assert!(!reply.body.contains("{primus::"), "a placeholder was left");
        assert!(reply.body.contains("module.exports = Primus"));
    }
    // Served the same way every time (rendered once).
    let again = get(running.addr, "/primus/primus.js", &[]).await;
    assert_eq!(again.body, get(running.addr, "/primus/primus.js", &[]).await.body);

    // CORS headers when there is an Origin, like /spec.
    let reply = get(running.addr, "/primus/primus.js", &[("Origin", ORIGIN)]).await;
    reply.assert_status(200);
    reply.assert_header("access-control-allow-origin", ORIGIN);

    // The ES module build and the TypeScript declarations.
    let module = get(running.addr, "/primus/primus.mjs", &[]).await;
    module.assert_status(200);
    module.assert_header("content-type", "text/javascript; charset=utf-8");
    assert!(module.body.contains("pingTimeout: 1500,"));
    assert!(module.body.trim_end().ends_with("export default Primus;"));
    assert!(!module.body.contains("module.exports = Primus"));
    let typings = get(running.addr, "/primus/primus.client.d.ts", &[]).await;
    typings.assert_status(200);
    typings.assert_header("content-type", "application/typescript; charset=utf-8");
    assert!(typings.body.contains("declare class Primus<"));

    // Exact paths only.
    assert_upgrade_required(&get(running.addr, "/primus/primus.js/", &[]).await);
    assert_upgrade_required(&get(running.addr, "/primus/primus.css", &[]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primus_js_follows_pathname_and_heartbeat() {
    let realtime = server_with(|b| b.ping_interval(None).pathname("/realtime")).await;
    let reply = get(realtime.addr, "/realtime/primus.js", &[]).await;
    reply.assert_status(200);
    assert!(
        reply.body.contains(r#"pathname: "/realtime","#),
        "pathname not compiled in"
    );
    assert!(
        reply.body.contains("pingTimeout: false,"),
        "no heartbeat: pingTimeout false"
    );
    get(realtime.addr, "/primus/primus.js", &[])
        .await
        .assert_status(404);

    // 30 s → 45000, as Primus computes it.
    let default = server_with(|b| b).await;
    let reply = get(default.addr, "/primus/primus.js", &[]).await;
    assert!(reply.body.contains("pingTimeout: 45000,"));

    // Another parser: the script is served but throws when loaded.
    let bincode = server_with(|b| b.parser(primus::parser::Bincode)).await;
    let reply = get(bincode.addr, "/primus/primus.js", &[]).await;
    reply.assert_status(200);
    assert!(reply.body.contains(r#"parser: "bincode","#));
    assert!(reply.body.contains("throw new Error("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_xss_protection_only_for_internet_explorer() {
    let running = contract_server(None).await;

    let reply = get(running.addr, "/primus", &[("User-Agent", TRIDENT)]).await;
    assert_upgrade_required(&reply);
    reply.assert_header("x-xss-protection", "0");

    let msie = "Mozilla/4.0 (compatible;MSIE 7.0; Windows NT 6.0)";
    get(running.addr, "/primus", &[("User-Agent", msie)])
        .await
        .assert_header("x-xss-protection", "0");

    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let reply = get(running.addr, "/primus", &[("User-Agent", firefox)]).await;
    assert_upgrade_required(&reply);
    reply.assert_no_header("x-xss-protection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mounted_in_an_axum_router() {
    init_logs();
    let errors = ErrorLog::default();
    let server = contract_builder(&errors)
        .ping_interval(Duration::from_millis(1000))
        .build()
        .expect("build");
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .layer(server.layer());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });

    let reply = get(addr, "/", &[]).await;
    reply.assert_status(200);
    assert_eq!(reply.body, "app");
    get(addr, "/other", &[]).await.assert_status(404);

    let reply = get(addr, "/primus/spec", &[]).await;
    reply.assert_status(200);
    assert_eq!(reply.body, SPEC_1000);
    assert_upgrade_required(&get(addr, "/primus", &[]).await);

    let mut socket = raw::connect(&format!("ws://{addr}/primus"), &[]).await;
    raw::send_text(&mut socket, r#"{"mounted":true}"#).await;
    assert_eq!(raw::next_text(&mut socket, WAIT).await, r#"{"mounted":true}"#);
    assert_eq!(server.connected(), 1);
}
