//! The plain-HTTP surface of the Rust server (primus-protocol.md §5.2-5.3,
//! §9 and the captured responses of Appendix A.3), spoken over raw TCP with
//! hand-written HTTP/1.1 requests.

use http::StatusCode;
use primus::server::Origins;
use primus::{AuthError, Server};
use primus_tests::contract;
use primus_tests::logs::Log;
use primus_tests::raw::{self, get, http, request, upgrade_request, Reply, WS_ACCEPT};
use primus_tests::server::{serve, serve_app, Running};
use primus_tests::wait::WAIT;
use std::time::Duration;

const SPEC_1000: &str = r#"{"pingInterval":1000,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#;
const NO_CACHE: &str = "no-store, no-cache, must-revalidate, max-age=0";
const ORIGIN: &str = "http://example.com";
const TRIDENT: &str = "Mozilla/5.0 (Windows NT 10.0; Trident/7.0; rv:11.0)";
const AUTH_REQUIRED: &str = r#"{"error":"Authentication required"}"#;
const CHALLENGE: &str = r#"Basic realm="primus-rs-test""#;

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
    let server = Server::builder()
        .authorize(|_request| async {
            Err(AuthError::new("Go away!")
                .with_status(StatusCode::FORBIDDEN)
                .authenticate("x"))
        })
        .build()
        .expect("build");
    serve(server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_reports_the_configuration() {
    let running = contract::server(Some(Duration::from_millis(1000))).await;
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

    let no_heartbeat = contract::server(None).await;
    let reply = get(no_heartbeat.addr, "/primus/spec", &[]).await;
    assert_eq!(
        reply.body,
        r#"{"pingInterval":false,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"websockets"}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_follows_pathname_and_parser() {
    let realtime =
        contract::server_with(|b| b.ping_interval(Duration::from_millis(1000)).pathname("/realtime")).await;
    let reply = get(realtime.addr, "/realtime/spec", &[]).await;
    reply.assert_status(200);
    assert_eq!(
        reply.body,
        r#"{"pingInterval":1000,"pathname":"/realtime","version":"8.0.9","parser":"json","transformer":"websockets"}"#
    );
    // The old pathname is not Primus' any more.
    get(realtime.addr, "/primus/spec", &[]).await.assert_status(404);

    let bincode = contract::server_with(|b| {
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
    let running = contract::server(None).await;
    for path in ["/primus", "/primus/anything", "/primus?foo=bar"] {
        let reply = get(running.addr, path, &[]).await;
        assert_upgrade_required(&reply);
        reply.assert_no_header("access-control-allow-origin");
        reply.assert_no_header("x-xss-protection");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_with_default_settings() {
    let running = contract::server(None).await;

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
    let running = contract::server_with(|b| {
        b.ping_interval(None)
            .origins(Origins::allow(["https://ok.example"]))
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

    // CORS is not applied to upgrades (§9.7); the `origin` layer is, with
    // the same list: a listed origin may connect, another may not.
    let reply = http(
        running.addr,
        &upgrade_request("/primus", &[("Origin", "https://ok.example")]),
    )
    .await;
    reply.assert_status(101);
    reply.assert_header("sec-websocket-accept", WS_ACCEPT);
    let reply = http(running.addr, &upgrade_request("/primus", &[("Origin", ORIGIN)])).await;
    reply.assert_status(403);
    assert_eq!(reply.body, "Origin not allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_on_plain_http() {
    let running = contract::server(None).await;
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
    let running = contract::server(None).await;

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
    let running = contract::server(Some(Duration::from_millis(1000))).await;
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
    let realtime = contract::server_with(|b| b.ping_interval(None).pathname("/realtime")).await;
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
    let default = contract::server_with(|b| b).await;
    let reply = get(default.addr, "/primus/primus.js", &[]).await;
    assert!(reply.body.contains("pingTimeout: 45000,"));

    // Another parser: the script is served but throws when loaded.
    let bincode = contract::server_with(|b| b.parser(primus::parser::Bincode)).await;
    let reply = get(bincode.addr, "/primus/primus.js", &[]).await;
    reply.assert_status(200);
    assert!(reply.body.contains(r#"parser: "bincode","#));
    assert!(reply.body.contains("throw new Error("));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_xss_protection_only_for_internet_explorer() {
    let running = contract::server(None).await;

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
    let server = contract::builder(&Log::default())
        .ping_interval(Duration::from_millis(1000))
        .build()
        .expect("build");
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "app" }))
        .layer(server.layer());
    let addr = serve_app(app).await;

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
