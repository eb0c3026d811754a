//! Bad or hostile input against the Rust server, over raw WebSockets and raw
//! HTTP. Every case checks the documented outcome (primus-protocol.md §3,
//! §5.2-5.4, Appendix A.2/A.3) and that the server keeps serving afterwards.

use futures_util::SinkExt;
use primus_tests::contract;
use primus_tests::logs::Log;
use primus_tests::raw;
use primus_tests::server::Running;
use primus_tests::wait::WAIT;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// What the JSON parser's decode errors start with (Primus' wording).
const DECODE_ERROR: &str = "Failed to decode incoming data: ";

/// The contract server without heartbeats, so no ping frames interleave.
async fn quiet_server() -> Running {
    contract::server(None).await
}

/// The very next frame, which must be text. Unlike `raw::next_text` this
/// does not skip `"primus::ping::…"` texts: the servers here send no
/// heartbeats, so such a frame can only be an echo.
async fn next_text(socket: &mut raw::Socket) -> String {
    match raw::next_any(socket, WAIT).await {
        Some(Message::Text(text)) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Sends `text` and asserts that the next frame is the text `expected`.
async fn assert_echo(socket: &mut raw::Socket, text: &str, expected: &str) {
    raw::send_text(socket, text).await;
    assert_eq!(next_text(socket).await, expected, "reply to {text}");
}

/// A fresh client gets an echo: the server still serves.
async fn assert_still_serving(running: &Running) {
    let mut fresh = raw::connect(&running.ws_url(), &[]).await;
    assert_echo(&mut fresh, r#""still serving""#, r#""still serving""#).await;
}

/// Error-log entries produced by the JSON parser.
fn decode_errors(errors: &Log) -> Vec<String> {
    errors
        .entries()
        .into_iter()
        .filter(|e| e.starts_with(DECODE_ERROR))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_json_is_reported_and_the_connection_survives() {
    let running = quiet_server().await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;

    raw::send_text(&mut socket, "not json at all").await;
    // Nothing comes back for the bad frame: the next reply is the echo.
    assert_echo(&mut socket, r#""after""#, r#""after""#).await;

    let decode = decode_errors(&running.errors);
    assert_eq!(
        decode.len(),
        1,
        "one decode error expected, log: {:?}",
        running.errors.entries()
    );
    assert!(
        decode[0].len() > DECODE_ERROR.len(),
        "error without details: {:?}",
        decode[0]
    );
    assert_still_serving(&running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_frame_is_data_and_echoed_as_binary() {
    let running = quiet_server().await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;

    socket
        .send(Message::binary(vec![1u8, 2, 3]))
        .await
        .expect("send binary");
    match raw::next_any(&mut socket, WAIT).await {
        Some(Message::Binary(bytes)) => assert_eq!(&bytes[..], &[1, 2, 3]),
        other => panic!("expected the binary echo, got {other:?}"),
    }
    assert!(
        running.errors.entries().is_empty(),
        "errors: {:?}",
        running.errors.entries()
    );
    assert_echo(&mut socket, r#""after""#, r#""after""#).await;
    assert_still_serving(&running).await;
}

/// The contract server with `max_length(1024)` and no heartbeats.
async fn limited_server() -> Running {
    contract::server_with(|builder| builder.ping_interval(None).max_length(1024)).await
}

/// The next frame is a close with 1009 and the error was reported (§5.4).
async fn assert_closed_as_too_big(socket: &mut raw::Socket, running: &Running) {
    match raw::next_any(socket, WAIT).await {
        Some(Message::Close(Some(frame))) => {
            assert_eq!(frame.code, CloseCode::Size, "close frame {frame:?}")
        }
        other => panic!("expected a close frame with 1009, got {other:?}"),
    }
    let entries = running.errors.entries();
    assert!(
        entries.iter().any(|e| e.contains("Max payload size exceeded")),
        "error log: {entries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frame_closes_with_1009() {
    let running = limited_server().await;

    // Exactly max_length bytes on the wire is still accepted.
    let exact = format!("\"{}\"", "a".repeat(1022));
    assert_eq!(exact.len(), 1024);
    let mut socket = raw::connect(&running.ws_url(), &[]).await;
    assert_echo(&mut socket, &exact, &exact).await;

    // Twice the limit: closed with 1009.
    let oversize = format!("\"{}\"", "b".repeat(2046));
    assert_eq!(oversize.len(), 2048);
    raw::send_text(&mut socket, &oversize).await;
    assert_closed_as_too_big(&mut socket, &running).await;
    assert_still_serving(&running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_fragmented_message_closes_with_1009() {
    let running = limited_server().await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;

    // Four 512-byte fragments: each fits, the message (2048 bytes) does not.
    let text = format!("\"{}\"", "c".repeat(2046));
    let chunks: Vec<&[u8]> = text.as_bytes().chunks(512).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 {
            OpCode::Data(Data::Text)
        } else {
            OpCode::Data(Data::Continue)
        };
        let frame = Frame::message(chunk.to_vec(), opcode, i == chunks.len() - 1);
        // The server may close before the last fragments are written.
        if socket.send(Message::Frame(frame)).await.is_err() {
            break;
        }
    }
    assert_closed_as_too_big(&mut socket, &running).await;
    assert_still_serving(&running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoofed_primus_messages_are_data_except_pong_and_id() {
    let running = quiet_server().await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;

    // §3.2: types other than pong and id are ordinary data.
    for spoof in [
        r#""primus::server::close""#,
        r#""primus::ping::123""#,
        r#""primus::foo::bar""#,
    ] {
        assert_echo(&mut socket, spoof, spoof).await;
    }

    // A pong is consumed: the next thing received is the following echo.
    raw::send_text(&mut socket, r#""primus::pong::abc""#).await;
    assert_echo(&mut socket, r#""after pong""#, r#""after pong""#).await;

    // An id request is answered with the spark id (the contract's own id
    // command must agree).
    raw::send_text(&mut socket, r#""primus::id::""#).await;
    let reply: String = serde_json::from_str(&next_text(&mut socket).await).expect("JSON string");
    let id = reply
        .strip_prefix("primus::id::")
        .unwrap_or_else(|| panic!("unexpected id reply {reply:?}"));
    assert_eq!(id.len(), 21, "spark id {id:?}");
    raw::send_text(&mut socket, r#"{"cmd":"id"}"#).await;
    let contract: serde_json::Value =
        serde_json::from_str(&next_text(&mut socket).await).expect("JSON object");
    assert_eq!(contract["id"], id);

    // Only a bare string is a control message: an array is data.
    assert_echo(&mut socket, r#"["primus::id::"]"#, r#"["primus::id::"]"#).await;

    assert!(
        running.errors.entries().is_empty(),
        "errors: {:?}",
        running.errors.entries()
    );
    assert_still_serving(&running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_are_not_primus_but_prefixes_are() {
    let running = quiet_server().await;

    let reply = raw::get(running.addr, "/other", &[]).await;
    assert_eq!(reply.status, 404, "GET /other");

    match raw::try_connect(&format!("ws://{}/other", running.addr), &[]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404, "upgrade to /other"),
        Err(other) => panic!("expected an HTTP error for /other, got {other}"),
        Ok((_, response)) => panic!("upgrade to /other succeeded: {}", response.status()),
    }

    // Primus matches by prefix, so /primusXYZ is Primus' (§5.2).
    let reply = raw::get(running.addr, "/primusXYZ", &[]).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (426, "Upgrade Required"),
        "GET /primusXYZ"
    );
    // ... and so is an upgrade there (§14.8).
    let mut prefixed = raw::connect(&format!("ws://{}/primusXYZ", running.addr), &[]).await;
    assert_echo(&mut prefixed, r#""prefix""#, r#""prefix""#).await;

    assert_still_serving(&running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_without_key_is_a_bad_request() {
    let running = quiet_server().await;
    let request = "GET /primus HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\n\
                   Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n";

    let reply = raw::http(running.addr, request).await;
    let head = reply.head.to_ascii_lowercase();
    assert_eq!(reply.status, 400, "response head: {head}");
    assert_eq!(reply.body, "Missing or invalid Sec-WebSocket-Key header");
    assert!(head.contains("\r\nconnection: close"), "response head: {head}");
    assert!(
        head.contains("\r\ncontent-type: text/html"),
        "response head: {head}"
    );
    assert_eq!(running.server.connected(), 0);

    assert_still_serving(&running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_malformed_frames_does_not_disconnect() {
    // Just under `max_invalid_frames` (default 100); past it the connection
    // is closed (tests/hardening.rs).
    const BAD: usize = primus::server::DEFAULT_MAX_INVALID_FRAMES as usize - 1;
    let running = quiet_server().await;
    let mut socket = raw::connect(&running.ws_url(), &[]).await;

    for i in 0..BAD {
        let garbage = match i % 4 {
            0 => format!("garbage {i}"),
            1 => format!("{{\"unterminated\": {i}"),
            2 => format!("\"two\" \"values {i}\""),
            _ => format!("[{i},]"),
        };
        socket.feed(Message::text(garbage)).await.expect("feed garbage");
    }
    socket.flush().await.expect("flush garbage");

    assert_echo(&mut socket, r#"{"still":"here"}"#, r#"{"still":"here"}"#).await;
    let decode = decode_errors(&running.errors);
    assert_eq!(decode.len(), BAD, "log: {:?}", running.errors.entries());
    assert_eq!(running.server.connected(), 1);

    assert_still_serving(&running).await;
}
