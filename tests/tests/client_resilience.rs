//! Client resilience over real sockets and real restarts: the server
//! process is killed (SIGKILL) and started again on the same port.

use futures_util::StreamExt;
use primus_client::{Client, ClientError, Event, Events, Reconnect, Strategy};
use primus_tests::events::{
    events_for, expect_events, expect_open, next_event_skipping_pings as next, next_value, until_reconnected,
};
use primus_tests::logs::init_logs;
use primus_tests::process::ServerProcess;
use primus_tests::server::serve;
use primus_tests::wait::until;
use primus_tests::{contract, node};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERVER: &str = env!("CARGO_BIN_EXE_contract-server");
/// The bound of one wait for an event.
const EVENT: Duration = Duration::from_secs(5);
/// The bound of one wait for `Open` or data, which may follow a reconnect.
const ARRIVAL: Duration = Duration::from_secs(10);

fn fast(min_ms: u64, retries: u32) -> Reconnect {
    Reconnect {
        min: Duration::from_millis(min_ms),
        retries,
        attempt_timeout: Duration::from_secs(5),
        ..Reconnect::default()
    }
}

/// A client of `url` with `reconnect` and no ping timeout (the server
/// sends no heartbeats), once it is open.
async fn open_client(url: String, reconnect: Reconnect) -> (Client, Events) {
    let (client, mut events) = Client::builder(url)
        .reconnect(reconnect)
        .ping_timeout(None)
        .connect()
        .expect("connect");
    expect_open(&mut events, ARRIVAL).await;
    (client, events)
}

/// The contract-server binary on `port` (0: a free one), without heartbeats.
async fn contract_process(port: u16) -> ServerProcess {
    contract::start_process(SERVER, port, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_the_same_port_reconnects_and_delivers_queued_writes_once_in_order() {
    init_logs();
    let server = contract_process(0).await;
    let port = server.port;
    let (client, mut events) = open_client(server.url(), fast(200, 30)).await;

    server.crash().await;
    expect_events(&mut events, &["close"], EVENT).await;
    let first_delay = match next(&mut events, EVENT).await {
        Event::ReconnectScheduled(state) => state.scheduled,
        other => panic!("expected ReconnectScheduled, got {other:?}"),
    };
    assert!(
        first_delay >= Duration::from_millis(200) && first_delay < Duration::from_millis(400),
        "first delay {first_delay:?} outside [min, 2·min)"
    );
    for seq in 0..50 {
        client.write(&json!({ "seq": seq })).expect("queued while down");
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    let restarted_at = Instant::now();
    let _server = contract_process(port).await;

    let attempts = until_reconnected(&mut events, Duration::from_secs(15))
        .await
        .attempts
        .last()
        .map_or(0, |state| state.attempt);
    expect_open(&mut events, ARRIVAL).await;
    // The backoff doubles from 200 ms: after a restart the next attempt
    // comes within the current delay (< 2·min·factor^attempt).
    assert!(
        restarted_at.elapsed() < Duration::from_secs(6),
        "took {:?}",
        restarted_at.elapsed()
    );
    assert!(
        attempts >= 2,
        "the server was down for at least 700 ms: {attempts} attempts"
    );
    for seq in 0..50 {
        assert_eq!(next_value(&mut events, ARRIVAL).await, json!({ "seq": seq }));
    }
    // Exactly once: nothing else follows.
    match tokio::time::timeout(Duration::from_millis(500), events.next_message()).await {
        Err(_) => {}
        Ok(extra) => panic!("unexpected extra message {extra:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_comes_back_ends_the_client_after_the_retries() {
    init_logs();
    let server = contract_process(0).await;
    let (client, mut events) = open_client(server.url(), fast(50, 3)).await;
    let id = client.id();
    server.crash().await;
    let mut seen = Vec::new();
    loop {
        let event = next(&mut events, Duration::from_secs(10)).await;
        let name = match &event {
            Event::Close => "close".to_owned(),
            Event::ReconnectScheduled(s) => format!("scheduled:{}", s.attempt),
            Event::Reconnect(s) => format!("reconnect:{}", s.attempt),
            Event::ReconnectFailed(s) => format!("failed:{}", s.attempt),
            Event::End => "end".to_owned(),
            other => panic!("unexpected {other:?}"),
        };
        seen.push(name);
        if matches!(event, Event::End) {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "close",
            "scheduled:1",
            "reconnect:1",
            "scheduled:2",
            "reconnect:2",
            "scheduled:3",
            "reconnect:3",
            "failed:3",
            "end"
        ]
    );
    // Nothing after End, and the task is gone.
    assert!(tokio::time::timeout(Duration::from_millis(300), events.next())
        .await
        .expect("stream closed")
        .is_none());
    assert!(!client.is_running());
    assert!(matches!(client.write("late"), Err(ClientError::Closed)));
    // The id request made while connected but unanswered fails too.
    assert!(id.await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_pinging_is_detected_and_the_client_reconnects() {
    init_logs();
    // A WebSocket server that accepts and then stays silent (no pings).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            if let Ok(socket) = tokio_tungstenite::accept_async(stream).await {
                counter.fetch_add(1, Ordering::SeqCst);
                sockets.push(socket); // keep it open, never write
            }
        }
    });
    let (_client, mut events) = Client::builder(format!("http://127.0.0.1:{port}"))
        .reconnect(fast(100, 5))
        .ping_timeout(Some(Duration::from_millis(300)))
        .connect()
        .expect("connect");
    expect_open(&mut events, ARRIVAL).await;
    let opened = Instant::now();
    expect_events(&mut events, &["offline"], EVENT).await;
    let detected = opened.elapsed();
    assert!(
        detected >= Duration::from_millis(280) && detected < Duration::from_millis(1000),
        "{detected:?}"
    );
    expect_events(
        &mut events,
        &["close", "scheduled", "reconnect", "reconnected", "online"],
        EVENT,
    )
    .await;
    expect_open(&mut events, ARRIVAL).await;
    // The server task counts after its side of the handshake; allow it a moment.
    until("the second handshake", Duration::from_secs(2), || {
        accepted.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ping_timeout_derived_from_the_spec_detects_a_frozen_server() {
    init_logs();
    // Heartbeat every 200 ms: the client reads /spec and derives a 300 ms
    // ping timeout. Freezing the server process (SIGSTOP) keeps its sockets
    // open but stops the pings.
    let server = contract::start_process(SERVER, 0, Some(200)).await;
    let (client, mut events) = Client::builder(server.url())
        .reconnect(Reconnect {
            attempt_timeout: Duration::from_millis(500),
            ..fast(100, 50)
        })
        .connect()
        .expect("connect");
    expect_open(&mut events, ARRIVAL).await;
    let seen = events_for(&mut events, Duration::from_millis(900)).await;
    assert!(
        seen.iter().all(|e| matches!(e, Event::Ping(_))),
        "unexpected events while heartbeats flow: {seen:?}"
    );
    let pings = seen.len();
    assert!(pings >= 3, "{pings} pings");

    server.signal("STOP");
    let frozen_at = Instant::now();
    expect_events(&mut events, &["offline"], EVENT).await;
    let detected = frozen_at.elapsed();
    assert!(
        detected < Duration::from_millis(800),
        "offline detected after {detected:?}"
    );
    expect_events(&mut events, &["close"], EVENT).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    server.signal("CONT");
    until_reconnected(&mut events, Duration::from_secs(15)).await;
    expect_events(&mut events, &["online"], EVENT).await;
    expect_open(&mut events, ARRIVAL).await;
    client.write("back").expect("write");
    assert_eq!(next_value(&mut events, ARRIVAL).await, json!("back"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_strategy_a_lost_connection_ends_the_client() {
    init_logs();
    let server = contract_process(0).await;
    let (_client, mut events) = Client::builder(server.url())
        .strategy(Strategy::none())
        .ping_timeout(None)
        .connect()
        .expect("connect");
    expect_open(&mut events, ARRIVAL).await;
    server.crash().await;
    expect_events(&mut events, &["close", "end"], EVENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_destroy_with_reconnect_brings_clients_back() {
    init_logs();
    let running = serve(primus::Server::builder().build().expect("build")).await;
    let (server, addr) = (running.server.clone(), running.addr);
    let (_client, mut events) = open_client(running.url(), fast(100, 20)).await;
    server
        .destroy(primus::Destroy {
            reconnect: true,
            ..primus::Destroy::default()
        })
        .await;
    running.serving.await.expect("join").expect("serve");
    expect_events(&mut events, &["close"], EVENT).await;
    let again = primus::Server::builder().build().expect("build");
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind the same port");
    tokio::spawn(async move { again.serve(listener).await });
    until_reconnected(&mut events, Duration::from_secs(10)).await;
    expect_open(&mut events, ARRIVAL).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnects_to_a_restarted_node_primus_server() {
    init_logs();
    let server = node::start_server(0, 30_000).await;
    let port = server.port;
    let (client, mut events) = Client::builder(server.url())
        .reconnect(fast(100, 30))
        .connect()
        .expect("connect");
    expect_open(&mut events, ARRIVAL).await;
    // A Node spark.end(undefined, {reconnect: true}) makes us come back.
    client.write(&json!({ "cmd": "end-reconnect" })).expect("write");
    expect_events(
        &mut events,
        &["close", "scheduled", "reconnect", "reconnected"],
        EVENT,
    )
    .await;
    expect_open(&mut events, ARRIVAL).await;
    // A crash and a restart on the same port.
    server.crash().await;
    expect_events(&mut events, &["close"], EVENT).await;
    client.write("queued during the outage").expect("write");
    let _restarted = node::start_server(port, 30_000).await;
    until_reconnected(&mut events, Duration::from_secs(15)).await;
    expect_open(&mut events, ARRIVAL).await;
    assert_eq!(
        next_value(&mut events, ARRIVAL).await,
        json!("queued during the outage")
    );
    // The Node server with `primus::server::close` ends us for good.
    client.write(&json!({ "cmd": "end" })).expect("write");
    expect_events(&mut events, &["close", "end"], EVENT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_clients_spread_out_and_all_come_back() {
    init_logs();
    const CLIENTS: usize = 1000;
    let min = Duration::from_millis(300);
    let server = contract_process(0).await;
    let port = server.port;
    let mut all = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        let (client, events) = Client::builder(server.url())
            .reconnect(Reconnect {
                min,
                retries: 10,
                ..Reconnect::default()
            })
            .ping_timeout(None)
            .connect()
            .expect("connect");
        all.push((client, events));
    }
    for (_, events) in &mut all {
        expect_open(events, ARRIVAL).await;
    }
    server.crash().await;
    let _restarted = contract_process(port).await;

    // Collect, per client, when its first attempt started (after losing the
    // connection) and whether it got back.
    let results = futures_util::stream::iter(all.into_iter().map(|(client, mut events)| async move {
        let reconnection = until_reconnected(&mut events, Duration::from_secs(30)).await;
        assert!(
            reconnection.timeouts.is_empty(),
            "unexpected reconnect timeouts {:?}",
            reconnection.timeouts
        );
        // `elapsed` is taken by the client when the attempt starts (time
        // since it lost the connection), so a test that reads its events
        // late under load still sees when it happened.
        let first_attempt = reconnection
            .attempts
            .first()
            .expect("an attempt before reconnecting")
            .elapsed;
        expect_open(&mut events, ARRIVAL).await;
        (client, first_attempt)
    }))
    .buffer_unordered(CLIENTS)
    .collect::<Vec<_>>()
    .await;
    assert_eq!(results.len(), CLIENTS, "every client came back");

    let mut attempts: Vec<u128> = results.iter().map(|(_, at)| at.as_millis()).collect();
    attempts.sort_unstable();
    let p10 = attempts[CLIENTS / 10];
    let p90 = attempts[CLIENTS * 9 / 10];
    // The first waits are spread over [min, 2·min): the middle 80% of the
    // attempts span a good part of that window instead of one instant.
    assert!(p90 - p10 >= 120, "attempts bunched: p10 {p10} ms, p90 {p90} ms");
    let busiest = attempts
        .windows(1)
        .fold(std::collections::BTreeMap::new(), |mut buckets, at| {
            *buckets.entry(at[0] / 25).or_insert(0usize) += 1;
            buckets
        });
    let peak = busiest.values().max().copied().unwrap_or(0);
    assert!(
        peak <= CLIENTS / 4,
        "{peak} of {CLIENTS} attempts in one 25 ms window"
    );
    for (client, _) in &results {
        client.end();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_authorization_is_final() {
    init_logs();
    let server = contract_process(0).await;
    let (_client, mut events) = Client::builder(format!("{}/?auth=fail", server.url()))
        .reconnect(fast(50, 5))
        .connect()
        .expect("connect");
    match next(&mut events, EVENT).await {
        Event::Error(ClientError::Refused { status, body }) => {
            assert_eq!(status, 401);
            assert_eq!(body, r#"{"error":"Authentication required"}"#);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        matches!(next(&mut events, EVENT).await, Event::End),
        "no retries after a 401"
    );
}
