//! Primus' `browserchannel` transformer: the real Primus 8 Node client made
//! with `Primus.createSocket({transformer: 'browserchannel'})` (npm
//! `browserchannel` 2.1's `BCSocket`) against a primus-rs server with
//! `BrowserChannel`: open, echo (unicode, U+2028/2029, emoji, a 1 MB
//! string), 1,000 messages in order, writes queued before open, `id()`,
//! heartbeat, server end with and without reconnect, broadcast to two
//! clients, an authorization refusal; and the protocol by hand (unknown
//! sessions, bad maps, a forward request sent twice, a back channel that
//! broke and the arrays it had not delivered).

use primus::transformer::BrowserChannel;
use primus_tests::{contract, node, raw};
use serde_json::json;
use std::time::Duration;

async fn run(scenario: &str) -> serde_json::Value {
    let ping_ms = if scenario == "heartbeat" { 300 } else { 5_000 };
    let running = contract::server_with(|builder| {
        builder
            .transformer(BrowserChannel::default())
            .ping_interval(Some(Duration::from_millis(ping_ms)))
    })
    .await;
    let summary = node::scenario_over(&running.url(), scenario, Some(ping_ms), "browserchannel", None).await;
    assert_eq!(summary["ok"], json!(true), "{scenario}: {summary}");
    assert!(
        running.errors.entries().is_empty(),
        "{scenario}: {:?}",
        running.errors.entries()
    );
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_browserchannel_client_opens_and_echoes() {
    for scenario in ["open", "echo", "queued"] {
        run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_arrive_in_order() {
    run("order").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_heartbeat_and_broadcast() {
    for scenario in ["id", "heartbeat", "broadcast"] {
        run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_end_is_final_and_end_reconnect_reconnects() {
    for scenario in ["end", "end-reconnect"] {
        run(scenario).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_refusal_reaches_the_client() {
    run("auth-fail").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spec_and_the_transformer_name() {
    let running = contract::server_with(|builder| builder.transformer(BrowserChannel::default())).await;
    let spec = raw::get(running.addr, "/primus/spec", &[]).await;
    spec.assert_status(200);
    let spec: serde_json::Value = serde_json::from_str(&spec.body).expect("spec JSON");
    assert_eq!(spec["transformer"], json!("browserchannel"), "{spec}");
    // The served browser client does not speak it, and says so when loaded.
    let library = raw::get(running.addr, "/primus/primus.js", &[]).await;
    library.assert_status(200);
    assert!(library.body.contains("transformer: \"browserchannel\""));
    assert!(library.body.contains("which the served browser client does not"));
}

/// A forward request (`POST /primus/bind?…`) with a form body.
async fn post(addr: std::net::SocketAddr, query: &str, body: &str) -> raw::Reply {
    let request = format!(
        "POST /primus/bind?VER=8&{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    raw::http(addr, &request).await
}

/// The arrays of a back-channel answer: `[[id, data], …]` per chunk.
fn arrays(body: &str) -> Vec<(u64, serde_json::Value)> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some((len, after)) = rest.split_once('\n') {
        let len: usize = len.parse().expect("a chunk length");
        // Lengths count UTF-16 units; these bodies are ASCII.
        let (text, next) = after.split_at(len);
        let chunk: Vec<(u64, serde_json::Value)> = serde_json::from_str(text).expect("arrays JSON");
        out.extend(chunk);
        rest = next;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arrays_are_kept_until_acknowledged_and_maps_are_taken_once() {
    let running = contract::server_with(|builder| builder.transformer(BrowserChannel::default())).await;
    let addr = running.addr;
    // Opening: the answer is array 0 (and what was queued, the echo of
    // "a" if the handler was quick).
    let opened = post(addr, "RID=1&CVER=1", "count=1&ofs=0&req0__S=%22a%22").await;
    opened.assert_status(200);
    let first = arrays(&opened.body);
    assert_eq!(first[0].0, 0);
    let sid = first[0].1[1].as_str().expect("the session id").to_owned();
    assert_eq!(first[0].1, json!(["c", sid, null, 8]));
    // The same maps sent twice, then the next one: echoed once each.
    for _ in 0..2 {
        let sent = post(
            addr,
            &format!("SID={sid}&RID=2&AID=0"),
            "count=1&ofs=1&req0__S=%22b%22",
        )
        .await;
        sent.assert_status(200);
        let status: serde_json::Value =
            serde_json::from_str(sent.body.split_once('\n').expect("a chunk").1).expect("status JSON");
        assert_eq!(status[0], json!(0), "no back channel is open: {status}");
    }
    let sent = post(
        addr,
        &format!("SID={sid}&RID=3&AID=0"),
        "count=1&ofs=2&req0__S=%22c%22",
    )
    .await;
    sent.assert_status(200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let back = format!("/primus/bind?VER=8&SID={sid}&RID=rpc&CI=1&TYPE=xmlhttp&AID=0");
    let echoes = arrays(&raw::get(addr, &back, &[]).await.body);
    let texts: Vec<&serde_json::Value> = echoes.iter().map(|(_, data)| data).collect();
    assert_eq!(
        texts,
        [&json!("\"a\""), &json!("\"b\""), &json!("\"c\"")],
        "{echoes:?}"
    );
    assert_eq!(echoes.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [1, 2, 3]);
    // Not acknowledged (AID=0 still): a new back channel sends them again.
    let again = arrays(&raw::get(addr, &back, &[]).await.body);
    assert_eq!(again, echoes);
    // Acknowledged up to 2: only array 3 comes again.
    let after_ack = arrays(&raw::get(addr, &back.replace("AID=0", "AID=2"), &[]).await.body);
    assert_eq!(after_ack, echoes[2..]);
    assert!(
        running.errors.entries().is_empty(),
        "{:?}",
        running.errors.entries()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_refused_with_a_clear_status() {
    let running =
        contract::server_with(|builder| builder.transformer(BrowserChannel::default()).max_length(1024))
            .await;
    let addr = running.addr;
    let version = raw::get(addr, "/primus/bind?RID=rpc&SID=x&TYPE=xmlhttp", &[]).await;
    version.assert_status(400);
    assert_eq!(version.body, "Version 8 required");
    let unknown = raw::get(
        addr,
        "/primus/bind?VER=8&RID=rpc&SID=nobody&TYPE=xmlhttp&CI=0",
        &[],
    )
    .await;
    unknown.assert_status(400);
    assert_eq!(unknown.body, "Unknown SID");
    let unknown = post(addr, "SID=nobody&RID=2", "count=1&ofs=0&req0__S=1").await;
    unknown.assert_status(400);
    for bad in ["count=x", "count=2", "ofs=0", "count=1&ofs=0&req9__S=1"] {
        let reply = post(addr, "RID=1", bad).await;
        reply.assert_status(400);
        assert_eq!(reply.body, "Bad data", "{bad}");
    }
    let big = format!("count=1&ofs=0&req0__S={}", "x".repeat(2000));
    post(addr, "RID=1", &big).await.assert_status(413);
    let huge = format!("count=1&ofs=0&req0__S={}", "x".repeat(200_000));
    post(addr, "RID=1", &huge).await.assert_status(413);
    raw::get(addr, "/primus/bind?VER=8&SID=x&RID=rpc&TYPE=html", &[])
        .await
        .assert_status(400);
    // No session was opened by any of these.
    let test = raw::get(addr, "/primus/test?VER=8&MODE=init", &[]).await;
    test.assert_status(200);
    assert_eq!(test.body, "[null,null]");
    assert_eq!(running.server.connected(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_newest_back_channel_wins_and_the_older_one_ends() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let running = contract::server_with(|builder| builder.transformer(BrowserChannel::default())).await;
    let addr = running.addr;
    let opened = post(addr, "RID=1&CVER=1", "count=0").await;
    let sid = arrays(&opened.body)[0].1[1]
        .as_str()
        .expect("the session id")
        .to_owned();
    let back = |ci: u8| format!("/primus/bind?VER=8&SID={sid}&RID=rpc&CI={ci}&TYPE=xmlhttp&AID=0");
    // The first back channel, chunked: it stays open, nothing to send.
    let mut older = tokio::net::TcpStream::connect(addr).await.expect("connect");
    older
        .write_all(raw::request("GET", &back(0), &[]).as_bytes())
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The second one replaces it at once (no 409), and gets the echo.
    let newer_path = back(1);
    let newer = tokio::spawn(async move { raw::get(addr, &newer_path, &[]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    post(
        addr,
        &format!("SID={sid}&RID=2&AID=0"),
        "count=1&ofs=0&req0__S=%22x%22",
    )
    .await
    .assert_status(200);
    let newer = newer.await.expect("the newer back channel");
    newer.assert_status(200);
    let got: Vec<serde_json::Value> = arrays(&newer.body).into_iter().map(|(_, data)| data).collect();
    assert_eq!(got, [json!("\"x\"")], "{}", newer.body);
    // The older one has ended, without the echo.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), older.read_to_end(&mut rest))
        .await
        .expect("the older back channel ends")
        .expect("read");
    let rest = String::from_utf8_lossy(&rest);
    assert!(rest.starts_with("HTTP/1.1 200"), "{rest}");
    assert!(!rest.contains("\\\"x\\\""), "{rest}");
}
