//! permessage-deflate (`WebSockets::default().compression(true)`, Primus'
//! `compression: true`): negotiated with the real Primus Node client (npm
//! `ws` behind it) and with headless Chromium, with fewer bytes on the wire
//! for a repetitive 64 KiB message both ways (counted by a proxy); declined
//! when not turned on; and hostile compressed frames (a zip bomb, corrupt
//! data, RFC 7692 violations) closing only their own connection. Our Rust
//! client with `compression(true)` inflates what our server and the real
//! Node Primus server (`compression: true`) send compressed.

use axum::response::Html;
use axum::routing::get;
use primus::deflate::{deflate, inflate};
use primus::transformer::WebSockets;
use primus::Server;
use primus_client::Client;
use primus_tests::counting_proxy::{CountingProxy, WebSocketBytes};
use primus_tests::events::{expect_open, next_value};
use primus_tests::logs::{init_logs, Log};
use primus_tests::raw;
use primus_tests::server::serve_app;
use primus_tests::wait::WAIT;
use primus_tests::{browser, contract, node};
use serde_json::json;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What Chromium and Node's `ws` offer.
const OFFER: (&str, &str) = (
    "Sec-WebSocket-Extensions",
    "permessage-deflate; client_max_window_bits",
);

/// The 64 KiB the scenarios send (the same string as theirs).
fn sixty_four_kib() -> usize {
    "primus-rs compresses this line. ".len() * 2048
}

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>compression</title>
<script src="/primus/primus.js"></script></head><body></body></html>"#;

/// The echo-contract server with compression on or off, a test page at
/// `/`, and a counting proxy in front.
async fn echo_server(compression: bool, max_length: usize) -> (Server, SocketAddr, Log) {
    let errors = Log::default();
    let server = contract::builder(&errors)
        .transformer(WebSockets::default().compression(compression))
        .max_length(max_length)
        .build()
        .expect("build the server");
    let app = axum::Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .layer(server.layer());
    let addr = serve_app(app).await;
    (server, addr, errors)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_node_client_negotiates_compression_and_sends_fewer_bytes() {
    let (_server, addr, errors) = echo_server(true, 10 * 1024 * 1024).await;
    let proxy = CountingProxy::start(addr).await;
    let summary = node::scenario(&proxy.url(), "compression", None).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
    let extensions = summary["extensions"].as_str().unwrap_or_default();
    assert!(extensions.contains("permessage-deflate"), "negotiated: {summary}");
    let bytes = proxy.websocket_bytes();
    assert_eq!(bytes.connections, 1, "{bytes:?}");
    // 64 KiB each way, compressed to a few KiB (handshake included).
    assert!(bytes.to_server < 8 * 1024, "client to server: {bytes:?}");
    assert!(bytes.to_client < 8 * 1024, "server to client: {bytes:?}");
    // Every other scenario of the contract, compressed: unicode, a 1 MB
    // string, order, ids, the server's end.
    for scenario in ["echo", "order", "id", "end", "end-reconnect"] {
        let summary = node::scenario(&proxy.url(), scenario, None).await;
        assert_eq!(summary["ok"], json!(true), "{scenario}: {summary}");
    }
    assert!(errors.entries().is_empty(), "{:?}", errors.entries());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_compression_the_offer_is_declined_and_messages_go_plain() {
    let (_server, addr, _errors) = echo_server(false, 10 * 1024 * 1024).await;
    let proxy = CountingProxy::start(addr).await;
    let summary = node::scenario(&proxy.url(), "compression", None).await;
    assert_eq!(summary["extensions"], json!(""), "{summary}");
    let bytes = proxy.websocket_bytes();
    assert!(bytes.to_server as usize > sixty_four_kib(), "{bytes:?}");
    assert!(bytes.to_client as usize > sixty_four_kib(), "{bytes:?}");
    // By hand: no extension in the answer, and a compressed frame is a
    // protocol error (RSV1 without the extension): closed with 1002.
    let mut socket = raw::upgraded(addr, "/primus", &[OFFER]).await;
    let compressed = deflate("x".repeat(2000).as_bytes()).expect("compress");
    socket
        .write_all(&raw::client_frame(0xc1, &compressed))
        .await
        .expect("send");
    assert_eq!(close_code(&mut socket).await, Some(1002));
    let answer = raw::upgraded_answer(addr, "/primus", &[OFFER]).await;
    assert!(
        !answer.to_ascii_lowercase().contains("sec-websocket-extensions"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_negotiates_compression_and_sends_fewer_bytes() {
    browser::ensure_chromium();
    for compression in [true, false] {
        let (_server, addr, errors) = echo_server(compression, 10 * 1024 * 1024).await;
        let proxy = CountingProxy::start(addr).await;
        let summary = browser::script("client.js", &[&proxy.url(), "compression"]).await;
        assert_eq!(summary["length"], json!(sixty_four_kib()), "{summary}");
        let extensions = summary["extensions"].as_str().unwrap_or_default().to_owned();
        let bytes = proxy.websocket_bytes();
        assert_eq!(bytes.connections, 1, "{bytes:?}");
        if compression {
            assert!(extensions.contains("permessage-deflate"), "{summary}");
            assert!(bytes.to_server < 8 * 1024, "client to server: {bytes:?}");
            assert!(bytes.to_client < 8 * 1024, "server to client: {bytes:?}");
        } else {
            assert_eq!(extensions, "", "{summary}");
            assert!(bytes.to_client as usize > sixty_four_kib(), "{bytes:?}");
        }
        assert!(errors.entries().is_empty(), "{:?}", errors.entries());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_echo_by_hand_comes_back_compressed() {
    let (_server, addr, _errors) = echo_server(true, 1024 * 1024).await;
    let answer = raw::upgraded_answer(addr, "/primus", &[OFFER]).await;
    assert!(
        answer.contains(
            "sec-websocket-extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "{answer}"
    );
    let mut socket = raw::upgraded(addr, "/primus", &[OFFER]).await;
    let text = serde_json::to_string(&"compressed both ways ".repeat(200)).expect("json");
    let compressed = deflate(text.as_bytes()).expect("compress");
    // In two fragments, the second a continuation without RSV1.
    let (first, second) = compressed.split_at(compressed.len() / 2);
    let mut wire = raw::client_frame(0x41, first);
    wire.extend(raw::client_frame(0x80, second));
    // And a short one, uncompressed.
    wire.extend(raw::client_frame(0x81, b"\"short\""));
    socket.write_all(&wire).await.expect("send");
    let (first_byte, payload) = read_frame(&mut socket).await.expect("the echo");
    assert_eq!(first_byte, 0xc1, "FIN + RSV1 + text");
    assert_eq!(inflate(&payload, 1 << 20).expect("inflate"), text.as_bytes());
    let (first_byte, payload) = read_frame(&mut socket).await.expect("the short echo");
    assert_eq!((first_byte, &payload[..]), (0x81, &b"\"short\""[..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_compressed_frames_close_only_their_own_connection() {
    let max_length = 1024 * 1024;
    let (_server, addr, errors) = echo_server(true, max_length).await;
    let mut bystander = raw::upgraded(addr, "/primus", &[OFFER]).await;
    // A zip bomb: 512 MiB of zeros in about half a megabyte... kept under
    // maxLength compressed: 200 MiB of zeros is ~200 KiB.
    let bomb = deflate(&vec![0u8; 200 * 1024 * 1024]).expect("compress");
    assert!(bomb.len() < max_length, "{}", bomb.len());
    let corrupt = vec![0xffu8; 64];
    let valid = deflate(b"\"fine\"").expect("compress");
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("zip bomb", raw::client_frame(0xc1, &bomb), 1009),
        ("corrupt data", raw::client_frame(0xc1, &corrupt), 1007),
        (
            "compressed continuation",
            [
                raw::client_frame(0x41, &valid[..2]),
                raw::client_frame(0xc0, &valid[2..]),
            ]
            .concat(),
            1002,
        ),
        ("compressed ping", raw::client_frame(0xc9, b"hi"), 1002),
        (
            "new message inside a compressed one",
            [
                raw::client_frame(0x41, &valid[..2]),
                raw::client_frame(0x81, b"1"),
            ]
            .concat(),
            1002,
        ),
    ];
    for (what, wire, code) in cases {
        let mut socket = raw::upgraded(addr, "/primus", &[OFFER]).await;
        socket.write_all(&wire).await.expect("send");
        assert_eq!(close_code(&mut socket).await, Some(code), "{what}");
        // The bystander is still served.
        bystander
            .write_all(&raw::client_frame(0x81, b"\"still here\""))
            .await
            .expect("send");
        let (first_byte, payload) = read_frame(&mut bystander).await.expect("the bystander's echo");
        assert_eq!(
            (first_byte, &payload[..]),
            (0x81, &b"\"still here\""[..]),
            "after {what}"
        );
    }
    let errors = errors.entries();
    assert!(
        errors.iter().any(|e| e.contains("invalid compressed data")),
        "{errors:?}"
    );
    assert!(errors.iter().all(|e| !e.contains("InflateError")), "{errors:?}");
}

/// Reads one server frame (unmasked): its first byte and payload; `None`
/// when the socket closes first. Panics after [`WAIT`].
async fn read_frame(socket: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    tokio::time::timeout(WAIT, async {
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).await.ok()?;
        let len = match head[1] & 0x7f {
            126 => {
                let mut ext = [0u8; 2];
                socket.read_exact(&mut ext).await.ok()?;
                usize::from(u16::from_be_bytes(ext))
            }
            127 => {
                let mut ext = [0u8; 8];
                socket.read_exact(&mut ext).await.ok()?;
                usize::try_from(u64::from_be_bytes(ext)).ok()?
            }
            short => usize::from(short),
        };
        let mut payload = vec![0u8; len];
        socket.read_exact(&mut payload).await.ok()?;
        Some((head[0], payload))
    })
    .await
    .expect("no frame within WAIT")
}

/// The code of the close frame the server sends next (skipping data
/// frames); `None` for a close without a code or no close frame at all.
async fn close_code(socket: &mut TcpStream) -> Option<u16> {
    while let Some((first_byte, payload)) = read_frame(socket).await {
        if first_byte & 0x0f == 0x8 {
            return (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
        }
    }
    None
}

/// Our Rust client with `compression(true)`: the 64 KiB message comes back
/// compressed (few bytes towards the client), and the client still sends
/// its own uncompressed.
async fn rust_client_round_trip(target: SocketAddr, compression: bool) -> WebSocketBytes {
    let proxy = CountingProxy::start(target).await;
    let (client, mut events) = Client::builder(proxy.url())
        .compression(compression)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let text = "primus-rs compresses this line. ".repeat(2048);
    client.write(&text).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!(text));
    client.end();
    proxy.websocket_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_inflates_what_our_server_compresses() {
    init_logs();
    let (_server, addr, errors) = echo_server(true, 10 * 1024 * 1024).await;
    let bytes = rust_client_round_trip(addr, true).await;
    assert!(bytes.to_client < 8 * 1024, "server to client: {bytes:?}");
    assert!(
        bytes.to_server as usize > sixty_four_kib(),
        "the client sends plain: {bytes:?}"
    );
    let bytes = rust_client_round_trip(addr, false).await;
    assert!(
        bytes.to_client as usize > sixty_four_kib(),
        "not offered: {bytes:?}"
    );
    assert!(errors.entries().is_empty(), "{:?}", errors.entries());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_inflates_what_node_primus_compresses() {
    init_logs();
    let server = node::start_server_compressed(0, 30_000).await;
    let target: SocketAddr = ([127, 0, 0, 1], server.port).into();
    let bytes = rust_client_round_trip(target, true).await;
    assert!(bytes.to_client < 8 * 1024, "server to client: {bytes:?}");
    let bytes = rust_client_round_trip(target, false).await;
    assert!(
        bytes.to_client as usize > sixty_four_kib(),
        "not offered: {bytes:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_builder_option_turns_compression_on_for_the_default_transformer() {
    let running = contract::server_with(|builder| builder.compression(true)).await;
    let answer = raw::upgraded_answer(running.addr, "/primus", &[OFFER]).await;
    assert!(
        answer.contains("sec-websocket-extensions: permessage-deflate"),
        "{answer}"
    );
    let plain = contract::server_with(|builder| builder).await;
    let answer = raw::upgraded_answer(plain.addr, "/primus", &[OFFER]).await;
    assert!(
        !answer.contains("sec-websocket-extensions"),
        "off by default: {answer}"
    );
    // With a chosen transformer the option is refused, not ignored.
    let refused = Server::builder()
        .transformer(primus::transformer::SockJs::default())
        .compression(true)
        .build();
    assert!(matches!(
        refused,
        Err(primus::BuildError::CompressionWithTransformer)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_welcome_right_after_the_answer_reaches_the_rust_client() {
    init_logs();
    let welcome = "welcome to the compressed side ".repeat(100);
    let sent = welcome.clone();
    let running = contract::server_with(move |builder| {
        builder
            .compression(true)
            .on_connection(move |spark: primus::Spark| {
                let welcome = sent.clone();
                async move {
                    let _ = spark.write(&welcome);
                }
            })
    })
    .await;
    // Written as soon as the spark opens: often in the same read as the
    // handshake's answer, which the client's WebSocket reader keeps.
    for _ in 0..5 {
        let (client, mut events) = Client::builder(running.url())
            .compression(true)
            .connect()
            .expect("connect");
        expect_open(&mut events, WAIT).await;
        assert_eq!(next_value(&mut events, WAIT).await, json!(welcome));
        client.end();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inflated_bytes_count_against_the_budget_for_messages_being_received() {
    // 4 MiB messages are allowed, but the server holds at most 1 MiB of
    // messages being received: a compressed message that inflates to
    // 2 MiB (a few KiB on the wire) is refused like an uncompressed
    // 2 MiB one would be, with 1009; a 32 KiB one passes.
    let errors = Log::default();
    let server = contract::builder(&errors)
        .compression(true)
        .max_length(4 * 1024 * 1024)
        .partial_messages_budget(1024 * 1024)
        .build()
        .expect("build the server");
    let running = primus_tests::server::serve_with_errors(server, errors).await;
    let addr = running.addr;
    let mut socket = raw::upgraded(addr, "/primus", &[OFFER]).await;
    let small = serde_json::to_string(&"y".repeat(32 * 1024)).expect("json");
    let compressed = deflate(small.as_bytes()).expect("compress");
    socket
        .write_all(&raw::client_frame(0xc1, &compressed))
        .await
        .expect("send");
    let (_, payload) = read_frame(&mut socket).await.expect("the echo");
    assert_eq!(inflate(&payload, 1 << 20).expect("inflate"), small.as_bytes());
    let big = serde_json::to_string(&"z".repeat(2 * 1024 * 1024)).expect("json");
    let bomb = deflate(big.as_bytes()).expect("compress");
    assert!(bomb.len() < 16 * 1024, "{}", bomb.len());
    socket
        .write_all(&raw::client_frame(0xc1, &bomb))
        .await
        .expect("send");
    assert_eq!(close_code(&mut socket).await, Some(1009));
    let errors = running.errors.entries();
    assert!(
        errors.iter().any(|e| e.contains("budget")),
        "the spark's error names the budget: {errors:?}"
    );
}
