//! The middleware stack: registered layers, the built-ins as named layers,
//! and run-time use / insert / remove / disable / enable.

use http::{HeaderMap, HeaderValue, StatusCode};
use primus::middleware::{HttpRequest, Outcome, Runs};
use primus::Server;
use primus_tests::logs::Log;
use primus_tests::raw::{self, get, http, upgrade_request};
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_middleware_runs_for_its_kind_of_request() {
    let running = serve(Server::builder().handlers_from_registry().build().expect("build")).await;
    assert_eq!(
        running.server.middleware().names(),
        [
            "origin",
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
        let reply = get(running.addr, "/primus", &[]).await;
        assert_eq!(reply.status, 426);
        assert_eq!(reply.header("x-stamp"), Some("1"));
    }
    // Upgrades: three go through, the fourth is refused before the handshake.
    for _ in 0..3 {
        let reply = http(running.addr, &upgrade_request("/primus", &[])).await;
        assert_eq!(reply.status, 101);
        assert!(reply.header("x-stamp").is_none(), "stamp is HTTP only");
    }
    let reply = http(running.addr, &upgrade_request("/primus", &[])).await;
    assert_eq!((reply.status, reply.body.as_str()), (429, "slow down"));
    assert_eq!(reply.header("connection"), Some("close"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_ins_can_be_disabled_removed_and_replaced_at_run_time() {
    let running = serve(Server::builder().build().expect("build")).await;
    let stack = running.server.middleware();

    assert!(get(running.addr, "/primus", &[])
        .await
        .header("cache-control")
        .is_some());
    stack.disable("no-cache").expect("disable");
    assert!(!stack.is_enabled("no-cache"));
    let reply = get(running.addr, "/primus", &[]).await;
    assert_eq!(reply.status, 426);
    assert!(reply.header("cache-control").is_none(), "no-cache is disabled");
    stack.enable("no-cache").expect("enable");
    assert!(get(running.addr, "/primus", &[])
        .await
        .header("cache-control")
        .is_some());

    stack.remove("spec").expect("remove");
    assert_eq!(
        get(running.addr, "/primus/spec", &[]).await.status,
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
    assert_eq!(get(running.addr, "/primus/spec", &[]).await.body, "custom spec");
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
    assert_eq!(get(running.addr, "/primus", &[]).await.status, 503);
    assert_eq!(
        http(running.addr, &upgrade_request("/primus", &[])).await.status,
        503
    );
    stack.remove("closed").expect("remove");
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut socket, "\"primus::id::\"").await;
    assert!(raw::next_text(&mut socket, WAIT)
        .await
        .starts_with("\"primus::id::"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_middleware_sees_the_request_and_layers_run_in_order() {
    let seen = Log::default();
    let (first, second) = (seen.clone(), seen.clone());
    let server = Server::builder()
        .middleware("first", Runs::default(), move |request: HttpRequest| {
            let seen = first.clone();
            async move {
                seen.push(format!("first {} upgrade={}", request.uri, request.upgrade));
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
                    seen.push(format!("second {}", request.query.get("q").unwrap_or("")));
                    Outcome::Continue
                }
            },
        )
        .build()
        .expect("build");
    let running = serve(server).await;
    get(running.addr, "/primus?q=hello", &[]).await;
    http(running.addr, &upgrade_request("/primus", &[])).await;
    assert_eq!(
        seen.entries(),
        [
            "first /primus?q=hello upgrade=false",
            "second hello",
            "first /primus upgrade=true"
        ]
    );
    // Requests outside the pathname never reach the stack.
    get(running.addr, "/elsewhere", &[]).await;
    assert_eq!(seen.entries().len(), 3);
}
