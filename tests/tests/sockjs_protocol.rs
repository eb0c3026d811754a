//! The `sockjs` transformer on the wire, by hand: `/info` and the greeting,
//! the polling session's life (CLOSING, abandonment) and bad input on each
//! HTTP endpoint, refused with a clear status while the session goes on.

use primus::transformer::SockJs;
use primus_tests::contract;
use primus_tests::memory::assert_flat_over_two_rounds;
use primus_tests::raw::{self, Reply};
use primus_tests::server::Running;
use std::net::SocketAddr;
use std::time::Duration;

/// The contract server (echo, `{"cmd":"end"}`, …) on SockJS.
async fn server(sockjs: SockJs) -> Running {
    contract::server_with(|builder| builder.transformer(sockjs).max_length(1024)).await
}

async fn post(addr: SocketAddr, path: &str, body: &str) -> Reply {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw::http(addr, &request).await
}

/// The next frame of an `xhr` poll of `session`.
async fn poll(addr: SocketAddr, session: &str) -> String {
    let reply = post(addr, &format!("/primus/000/{session}/xhr"), "").await;
    reply.assert_status(200);
    reply.assert_header("content-type", "application/javascript; charset=UTF-8");
    reply.body
}

/// Sends the messages (Primus JSON texts) of `session` with `xhr_send`.
async fn send(addr: SocketAddr, session: &str, messages: &[&str]) -> Reply {
    let body = serde_json::to_string(messages).unwrap();
    post(addr, &format!("/primus/000/{session}/xhr_send"), &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_and_the_greeting_are_served_as_sockjs_node_does() {
    let running = server(SockJs::default()).await;
    let info = raw::get(running.addr, "/primus/info?foo=bar", &[]).await;
    info.assert_status(200);
    info.assert_header("content-type", "application/json; charset=UTF-8");
    info.assert_header(
        "cache-control",
        "no-store, no-cache, no-transform, must-revalidate, max-age=0",
    );
    info.assert_header("access-control-allow-origin", "*");
    let body: serde_json::Value = serde_json::from_str(&info.body).unwrap();
    assert_eq!(body["websocket"], true, "{body}");
    assert_eq!(body["origins"], serde_json::json!(["*:*"]), "{body}");
    assert_eq!(body["cookie_needed"], false, "{body}");
    assert!(body["entropy"].is_u64(), "{body}");

    let welcome = raw::get(running.addr, "/primus", &[]).await;
    welcome.assert_status(200);
    assert_eq!(welcome.body, "Welcome to SockJS!\n");

    // Primus' own routes stay, and /spec names the transformer.
    let spec = raw::get(running.addr, "/primus/spec", &[]).await;
    spec.assert_status(200);
    assert!(spec.body.contains(r#""transformer":"sockjs""#), "{}", spec.body);

    // Not a SockJS URL.
    let other = raw::get(running.addr, "/primus/a/b/c/d", &[]).await;
    assert_ne!(other.status, 200, "{other:#?}");
    let dotted = post(running.addr, "/primus/000/a.b/xhr", "").await;
    assert_ne!(dotted.status, 200, "{dotted:#?}");

    let without = raw::get(running.addr, "/primus/info", &[]).await;
    let disabled = server(SockJs::default().websocket(false)).await;
    let info = raw::get(disabled.addr, "/primus/info", &[]).await;
    assert!(info.body.contains(r#""websocket":false"#), "{}", info.body);
    assert!(without.body.contains(r#""websocket":true"#), "{}", without.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_session_opens_echoes_and_closes_with_closing_state() {
    let running = server(SockJs::default().disconnect_delay(Duration::from_millis(500))).await;
    let addr = running.addr;
    assert_eq!(poll(addr, "s1").await, "o\n");
    send(addr, "s1", &[r#""hello""#, r#"{"a":1}"#])
        .await
        .assert_status(204);
    let echoed = poll(addr, "s1").await;
    assert_eq!(echoed, "a[\"\\\"hello\\\"\",\"{\\\"a\\\":1}\"]\n");

    // The server ends the session: what was queued, the announcement, then
    // the close frame, each to the next poll, and the close frame again to
    // polls after it while the session is CLOSING.
    send(addr, "s1", &[r#"{"cmd":"end"}"#]).await.assert_status(204);
    let mut frames = Vec::new();
    while frames.len() < 4 {
        frames.push(poll(addr, "s1").await);
    }
    assert_eq!(
        frames,
        [
            "a[\"\\\"primus::server::close\\\"\"]\n",
            "c[1000,\"Normal closure\"]\n",
            "c[1000,\"Normal closure\"]\n",
            "c[1000,\"Normal closure\"]\n",
        ]
    );
    // Nothing more is taken from a closing session.
    let refused = send(addr, "s1", &[r#""late""#]).await;
    refused.assert_status(404);
    // `disconnect_delay` after the last poll the id is forgotten: a poll
    // with it opens a new session.
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert_eq!(poll(addr, "s1").await, "o\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_on_xhr_send_is_refused_and_the_session_goes_on() {
    let running = server(SockJs::default()).await;
    let addr = running.addr;

    let unknown = send(addr, "nobody", &[r#""hi""#]).await;
    unknown.assert_status(404);

    assert_eq!(poll(addr, "s2").await, "o\n");
    let empty = post(addr, "/primus/000/s2/xhr_send", "").await;
    empty.assert_status(500);
    assert_eq!(empty.body, "Payload expected.");
    let broken = post(addr, "/primus/000/s2/xhr_send", "[\"unterminated").await;
    broken.assert_status(500);
    assert_eq!(broken.body, "Broken JSON encoding.");
    let not_strings = post(addr, "/primus/000/s2/xhr_send", "[1,2]").await;
    not_strings.assert_status(500);
    assert_eq!(not_strings.body, "Broken JSON encoding.");
    // max_length is 1024: one message over it, and a body over the limit.
    let long = format!("\"{}\"", "x".repeat(1100));
    let over = send(addr, "s2", &[&long]).await;
    over.assert_status(413);
    let huge = post(addr, "/primus/000/s2/xhr_send", &"y".repeat(4096)).await;
    huge.assert_status(413);
    // A message of invalid Primus JSON reaches the pipeline, which drops it
    // with an `error`.
    send(addr, "s2", &["{not json"]).await.assert_status(204);

    // The session still works.
    send(addr, "s2", &[r#""still here""#]).await.assert_status(204);
    assert_eq!(poll(addr, "s2").await, "a[\"\\\"still here\\\"\"]\n");
    let errors = running.errors.entries();
    assert!(errors.iter().any(|e| e.contains("decode")), "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_concurrent_receiver_is_refused_and_the_first_one_is_served() {
    let running = server(SockJs::default()).await;
    let addr = running.addr;
    assert_eq!(poll(addr, "s3").await, "o\n");
    let waiting = tokio::spawn(poll(addr, "s3"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        poll(addr, "s3").await,
        "c[2010,\"Another connection still open\"]\n"
    );
    let streaming = post(addr, "/primus/000/s3/xhr_streaming", "").await;
    assert_eq!(streaming.body, "c[2010,\"Another connection still open\"]\n");
    send(addr, "s3", &[r#""for the first""#]).await.assert_status(204);
    assert_eq!(waiting.await.unwrap(), "a[\"\\\"for the first\\\"\"]\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_frame_answers_a_poll_after_heartbeat_delay() {
    let running = server(SockJs::default().heartbeat_delay(Duration::from_millis(200))).await;
    assert_eq!(poll(running.addr, "s4").await, "o\n");
    assert_eq!(poll(running.addr, "s4").await, "h\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xhr_streaming_and_eventsource_end_after_the_response_limit() {
    let running = server(SockJs::default().response_limit(64)).await;
    let addr = running.addr;
    // Queue enough for the limit, then stream: prelude, `o`, then frames
    // until 64 bytes went out after the prelude.
    assert_eq!(poll(addr, "s5").await, "o\n");
    let chunk = "z".repeat(80);
    send(addr, "s5", &[&format!("\"{chunk}\"")])
        .await
        .assert_status(204);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let streamed = post(addr, "/primus/000/s5/xhr_streaming", "").await;
    streamed.assert_status(200);
    let (prelude, rest) = streamed.body.split_at(2049);
    assert_eq!(prelude, format!("{}\n", "h".repeat(2048)));
    assert_eq!(rest, format!("a[\"\\\"{chunk}\\\"\"]\n"));

    send(addr, "s5", &[&format!("\"{chunk}\"")])
        .await
        .assert_status(204);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events = raw::get(addr, "/primus/000/s5/eventsource", &[]).await;
    events.assert_header("content-type", "text/event-stream; charset=UTF-8");
    assert_eq!(events.body, format!("\r\ndata: a[\"\\\"{chunk}\\\"\"]\r\n\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_session_ends_its_spark_after_disconnect_delay() {
    let sockjs = SockJs::default().disconnect_delay(Duration::from_millis(300));
    let running = server(sockjs.clone()).await;
    assert_eq!(poll(running.addr, "s6").await, "o\n");
    assert_eq!(sockjs.session_count(), 1);
    assert_eq!(running.server.connected(), 1);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(sockjs.session_count(), 0);
    assert_eq!(running.server.connected(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_for_one_session_open_one_spark() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let running = contract::server_with(move |builder| {
        let counted = counted.clone();
        builder
            .transformer(SockJs::default().heartbeat_delay(Duration::from_millis(200)))
            .on_connection(move |_spark| {
                counted.fetch_add(1, Ordering::SeqCst);
                async {}
            })
    })
    .await;
    let addr = running.addr;
    for round in 0..20 {
        let path = format!("/primus/000/race{round}/xhr");
        let answers = futures_util::future::join_all((0..8).map(|_| post(addr, &path, ""))).await;
        // One request opened the session and took the opening frame; the
        // others were a second receiver, a poll answered by a heartbeat, or
        // (while it was being opened) "not found". None opened a spark.
        let opened = answers.iter().filter(|answer| answer.body == "o\n").count();
        assert_eq!(opened, 1, "{answers:?}");
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        20,
        "a spark per session, no more"
    );
    assert_eq!(running.server.connected(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_session() {
    let sockjs = SockJs::default()
        .disconnect_delay(Duration::from_millis(300))
        .max_sessions_per_address(2);
    let running = server(sockjs.clone()).await;
    let addr = running.addr;
    assert_eq!(poll(addr, "p1").await, "o\n");
    assert_eq!(poll(addr, "p2").await, "o\n");
    let third = post(addr, "/primus/000/p3/xhr", "").await;
    third.assert_status(429);
    assert_eq!(third.body, "Too many sessions from this address");
    assert_eq!(sockjs.session_count(), 2);
    assert_eq!(running.server.connected(), 2, "no spark for the refused one");
    // Once they are abandoned and collected, the address may open again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sockjs.session_count(), 0);
    assert_eq!(poll(addr, "p4").await, "o\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_abandoned_sessions_leave_memory_where_it_was() {
    use futures_util::StreamExt;
    // Long enough that the sessions of a round are all alive when it has
    // opened them, also on a busy machine.
    let delay = Duration::from_secs(8);
    // Every session comes from 127.0.0.1: past the per-address cap.
    let sockjs = SockJs::default()
        .disconnect_delay(delay)
        .max_sessions_per_address(20_000);
    let running = server(sockjs.clone()).await;
    let addr = running.addr;
    let open = |range: std::ops::Range<u32>| {
        futures_util::stream::iter(range)
            .map(move |i| async move { poll(addr, &format!("a{i}")).await })
            .buffer_unordered(32)
            .collect::<Vec<_>>()
    };
    let (sockjs, running) = (&sockjs, &running);
    assert_flat_over_two_rounds(8 * 1024, |round| {
        let open = &open;
        async move {
            let first = 1000 + round * 10_000;
            let opened = open(first..first + 10_000).await;
            assert!(opened.iter().all(|frame| frame == "o\n"));
            let peak_sessions = sockjs.session_count();
            // Many at once (every one of the 10,000 is counted when it is
            // cleaned up: leaks add up whatever the peak was).
            assert!(
                peak_sessions > 1000,
                "{peak_sessions} sessions alive right after opening"
            );
            tokio::time::sleep(delay + Duration::from_secs(1)).await;
            assert_eq!(sockjs.session_count(), 0);
            assert_eq!(running.server.connected(), 0);
            peak_sessions
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_origins_are_refused_on_every_request_by_default() {
    use primus::server::Origins;
    let running = contract::server_with(|builder| {
        builder
            .transformer(SockJs::default())
            .origins(Origins::same_origin())
    })
    .await;
    let addr = running.addr;
    let foreign = [("Origin", "http://evil.example")];
    raw::get(addr, "/primus/info", &foreign).await.assert_status(403);
    let request = |origin: &str| {
        format!(
            "POST /primus/000/o1/xhr HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nOrigin: {origin}\r\nContent-Length: 0\r\n\r\n"
        )
    };
    raw::http(addr, &request("http://evil.example"))
        .await
        .assert_status(403);
    assert_eq!(running.server.connected(), 0);
    // `raw` sends `Host: 127.0.0.1`: this origin is the same.
    let same = raw::http(addr, &request("http://127.0.0.1")).await;
    same.assert_status(200);
    same.assert_header("access-control-allow-origin", "http://127.0.0.1");
    assert_eq!(same.body, "o\n");
}
