//! The `engine.io` transformer on the wire, by hand: the handshake, long
//! polling, the close over polling (what was queued, the announcement and
//! the close packet all arrive), and bad input answered with engine.io's
//! errors while the session goes on.

use primus::transformer::EngineIo;
use primus_tests::contract;
use primus_tests::memory::assert_flat_over_two_rounds;
use primus_tests::raw::{self, Reply};
use primus_tests::server::Running;
use std::net::SocketAddr;
use std::time::Duration;

async fn server(engine_io: EngineIo) -> Running {
    contract::server_with(|builder| builder.transformer(engine_io).max_length(1024)).await
}

async fn post(addr: SocketAddr, query: &str, body: &str) -> Reply {
    let request = format!(
        "POST /primus/?EIO=4&transport=polling&{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw::http(addr, &request).await
}

/// The handshake: the session id from the open packet.
async fn handshake(addr: SocketAddr) -> String {
    let reply = raw::get(addr, "/primus/?EIO=4&transport=polling&t=abc", &[]).await;
    reply.assert_status(200);
    let open = reply.body.strip_prefix('0').expect("an open packet");
    let open: serde_json::Value = serde_json::from_str(open).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

async fn poll(addr: SocketAddr, sid: &str) -> String {
    let reply = raw::get(addr, &format!("/primus/?EIO=4&transport=polling&sid={sid}"), &[]).await;
    reply.assert_status(200);
    reply.body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_names_the_spark_and_the_settings() {
    let running = server(EngineIo::default().ping_interval(Duration::from_millis(300))).await;
    let reply = raw::get(running.addr, "/primus/?EIO=4&transport=polling", &[]).await;
    reply.assert_status(200);
    let open: serde_json::Value = serde_json::from_str(reply.body.strip_prefix('0').unwrap()).unwrap();
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]), "{open}");
    assert_eq!(open["pingInterval"], 300, "{open}");
    assert_eq!(open["pingTimeout"], 20000, "{open}");
    assert_eq!(open["maxPayload"], 1024 + 64, "{open}");
    // The sid is the spark's id.
    let sid = open["sid"].as_str().unwrap();
    assert!(running.server.spark(sid).is_some(), "no spark {sid}");
    // The server pings within pingInterval.
    assert_eq!(poll(running.addr, sid).await, "2");

    let spec = raw::get(running.addr, "/primus/spec", &[]).await;
    assert!(
        spec.body.contains(r#""transformer":"engine.io""#),
        "{}",
        spec.body
    );
    let polling_only = server(EngineIo::default().websocket(false)).await;
    let reply = raw::get(polling_only.addr, "/primus/?EIO=4&transport=polling", &[]).await;
    assert!(reply.body.contains(r#""upgrades":[]"#), "{}", reply.body);
    let ws = raw::get(polling_only.addr, "/primus/?EIO=4&transport=websocket", &[]).await;
    ws.assert_status(400);
    assert_eq!(ws.body, r#"{"code":0,"message":"Transport unknown"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_go_both_ways_and_a_server_close_arrives_whole_over_polling() {
    let running = server(EngineIo::default()).await;
    let addr = running.addr;
    let sid = handshake(addr).await;
    let sent = post(addr, &format!("sid={sid}"), "4\"hello\"\u{1e}4{\"a\":1}").await;
    sent.assert_status(200);
    assert_eq!(sent.body, "ok");
    assert_eq!(poll(addr, &sid).await, "4\"hello\"\u{1e}4{\"a\":1}");
    // The server ends the spark: the queued reply, the announcement and the
    // close packet all reach the client's next polls.
    post(addr, &format!("sid={sid}"), "4\"last\"\u{1e}4{\"cmd\":\"end\"}")
        .await
        .assert_status(200);
    let mut polls = Vec::new();
    while polls.last().map(String::as_str) != Some("1") {
        polls.push(poll(addr, &sid).await);
    }
    let joined = polls.join("\u{1e}");
    let packets: Vec<&str> = joined.split('\u{1e}').collect();
    assert_eq!(
        packets,
        ["4\"last\"", "4\"primus::server::close\"", "1"],
        "{polls:?}"
    );
    assert!(running.server.spark(&sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_engine_io_errors_and_the_session_goes_on() {
    let running = server(EngineIo::default()).await;
    let addr = running.addr;

    let unknown = raw::get(addr, "/primus/?EIO=4&transport=polling&sid=nobody", &[]).await;
    unknown.assert_status(400);
    assert_eq!(unknown.body, r#"{"code":1,"message":"Session ID unknown"}"#);
    let version = raw::get(addr, "/primus/?EIO=3&transport=polling", &[]).await;
    version.assert_status(400);
    assert_eq!(
        version.body,
        r#"{"code":5,"message":"Unsupported protocol version"}"#
    );
    let transport = raw::get(addr, "/primus/?EIO=4&transport=carrier-pigeon", &[]).await;
    transport.assert_status(400);
    assert_eq!(transport.body, r#"{"code":0,"message":"Transport unknown"}"#);
    let method = raw::http(
        addr,
        &raw::request("PUT", "/primus/?EIO=4&transport=polling", &[]),
    )
    .await;
    method.assert_status(400);
    assert_eq!(method.body, r#"{"code":2,"message":"Bad handshake method"}"#);

    let sid = handshake(addr).await;
    let post_unknown = post(addr, "sid=nobody", "4\"x\"").await;
    post_unknown.assert_status(400);
    let broken = post(addr, &format!("sid={sid}"), "9what").await;
    broken.assert_status(400);
    assert_eq!(broken.body, r#"{"code":3,"message":"Bad request"}"#);
    let empty = post(addr, &format!("sid={sid}"), "").await;
    empty.assert_status(400);
    // max_length is 1024: one message over it, and a body over maxPayload.
    let over = post(addr, &format!("sid={sid}"), &format!("4\"{}\"", "x".repeat(1100))).await;
    over.assert_status(413);
    let huge = post(addr, &format!("sid={sid}"), &"4".repeat(4096)).await;
    huge.assert_status(413);
    // A second concurrent poll is refused; the first one is served.
    let waiting = {
        let sid = sid.clone();
        tokio::spawn(async move { poll(addr, &sid).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = raw::get(addr, &format!("/primus/?EIO=4&transport=polling&sid={sid}"), &[]).await;
    second.assert_status(400);
    assert_eq!(second.body, r#"{"code":3,"message":"Bad request"}"#);
    post(addr, &format!("sid={sid}"), "4\"still here\"")
        .await
        .assert_status(200);
    assert_eq!(waiting.await.unwrap(), "4\"still here\"");
    // A client's close packet ends the session; its id is then unknown.
    post(addr, &format!("sid={sid}"), "1").await.assert_status(200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let reused = raw::get(addr, &format!("/primus/?EIO=4&transport=polling&sid={sid}"), &[]).await;
    reused.assert_status(400);
    assert_eq!(reused.body, r#"{"code":1,"message":"Session ID unknown"}"#);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_session_ends_after_ping_interval_and_timeout() {
    let engine_io = EngineIo::default()
        .ping_interval(Duration::from_millis(200))
        .ping_timeout(Duration::from_millis(200));
    let running = server(engine_io.clone()).await;
    let sid = handshake(running.addr).await;
    assert_eq!(engine_io.session_count(), 1);
    assert!(running.server.spark(&sid).is_some());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(engine_io.session_count(), 0);
    assert!(running.server.spark(&sid).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_take_every_session() {
    let engine_io = EngineIo::default()
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(300))
        .max_sessions_per_address(3);
    let running = server(engine_io.clone()).await;
    let addr = running.addr;
    let mut sids = Vec::new();
    for _ in 0..3 {
        sids.push(handshake(addr).await);
    }
    let fourth = raw::get(addr, "/primus/?EIO=4&transport=polling", &[]).await;
    fourth.assert_status(429);
    assert_eq!(fourth.body, "Too many sessions from this address");
    assert_eq!(engine_io.session_count(), 3);
    assert_eq!(running.server.connected(), 3, "no spark for the refused one");
    // The sessions held go on.
    let sent = post(addr, &format!("sid={}", sids[0]), "4\"still here\"").await;
    sent.assert_status(200);
    assert_eq!(poll(addr, &sids[0]).await, "4\"still here\"");
    // Once they are abandoned and collected, the address may open again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(engine_io.session_count(), 0);
    for _ in 0..3 {
        handshake(addr).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_abandoned_sessions_leave_memory_where_it_was() {
    use futures_util::StreamExt;
    // Long enough that the sessions of a round are all alive when it has
    // opened them, also on a busy machine.
    // Every session comes from 127.0.0.1: past the per-address cap.
    let engine_io = EngineIo::default()
        .ping_interval(Duration::from_secs(5))
        .ping_timeout(Duration::from_secs(5))
        .max_sessions_per_address(20_000);
    let running = server(engine_io.clone()).await;
    let addr = running.addr;
    let open = |count: usize| {
        futures_util::stream::iter(0..count)
            .map(move |_| handshake(addr))
            .buffer_unordered(32)
            .collect::<Vec<_>>()
    };
    let (engine_io, running) = (&engine_io, &running);
    assert_flat_over_two_rounds(8 * 1024, |_| {
        let open = &open;
        async move {
            let sids = open(10_000).await;
            assert_eq!(sids.len(), 10_000);
            let peak_sessions = engine_io.session_count();
            // Many at once (every one of the 10,000 is counted when it is
            // cleaned up: leaks add up whatever the peak was).
            assert!(
                peak_sessions > 1000,
                "{peak_sessions} sessions alive right after opening"
            );
            tokio::time::sleep(Duration::from_secs(11)).await;
            assert_eq!(engine_io.session_count(), 0);
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
            .transformer(EngineIo::default())
            .origins(Origins::same_origin())
    })
    .await;
    let addr = running.addr;
    let foreign = [("Origin", "http://evil.example")];
    let refused = raw::get(addr, "/primus/?EIO=4&transport=polling", &foreign).await;
    refused.assert_status(403);
    // `raw` sends `Host: 127.0.0.1`: this origin is the same.
    let same = "http://127.0.0.1";
    let sid = {
        let reply = raw::get(addr, "/primus/?EIO=4&transport=polling", &[("Origin", same)]).await;
        reply.assert_status(200);
        let open: serde_json::Value = serde_json::from_str(reply.body.strip_prefix('0').unwrap()).unwrap();
        open["sid"].as_str().unwrap().to_owned()
    };
    let poll = raw::get(
        addr,
        &format!("/primus/?EIO=4&transport=polling&sid={sid}"),
        &foreign,
    )
    .await;
    poll.assert_status(403);
    assert_eq!(running.server.connected(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_is_wrapped_once_for_every_session() {
    let engine_io = EngineIo::default();
    let running = server(engine_io.clone()).await;
    let mut sids = Vec::new();
    for _ in 0..20 {
        sids.push(handshake(running.addr).await);
    }
    let before = engine_io.packets_encoded();
    assert_eq!(running.server.write(&"to everyone").expect("broadcast"), 20);
    for sid in &sids {
        assert_eq!(poll(running.addr, sid).await, "4\"to everyone\"");
    }
    assert_eq!(engine_io.packets_encoded() - before, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_messages_in_one_post_are_all_handled_and_too_many_are_refused() {
    // The default max_length (10 MiB): the bodies here are ~60 KB.
    let running = contract::server_with(|builder| builder.transformer(EngineIo::default())).await;
    let addr = running.addr;
    let sid = handshake(addr).await;
    // 10,000 messages in one POST: handed to the pipeline as it can take
    // them (not all at once), and every one is echoed, in order.
    let body: Vec<String> = (0..10_000).map(|n| format!("4{n}")).collect();
    post(addr, &format!("sid={sid}"), &body.join("\u{1e}"))
        .await
        .assert_status(200);
    let mut echoed: Vec<String> = Vec::new();
    while echoed.len() < 10_000 {
        let polled = poll(addr, &sid).await;
        echoed.extend(polled.split('\u{1e}').filter(|p| *p != "2").map(str::to_owned));
    }
    assert_eq!(echoed, body);
    // One more is refused as too large, and the session goes on.
    let body: Vec<&str> = (0..10_001).map(|_| "41").collect();
    post(addr, &format!("sid={sid}"), &body.join("\u{1e}"))
        .await
        .assert_status(413);
    post(addr, &format!("sid={sid}"), "4\"still here\"")
        .await
        .assert_status(200);
    assert_eq!(poll(addr, &sid).await, "4\"still here\"");
}
