//! The Rust client while it reconnects: `Client::end` then ends it at
//! once, as Primus' `end()` does (the writes queued while it was not
//! connected are dropped, never delivered, even to a server that comes
//! back on the same port, and a warning says how many); and each attempt
//! carries its own `_primuscb` cache buster, as a server's middleware sees
//! it. (A test binary of its own: it installs its own log subscriber.)

use primus::middleware::{HttpRequest, Outcome, Runs};
use primus::Server;
use primus_client::{Client, ConnectionEvent, Reconnect};
use primus_tests::events::{expect_open, next_event_skipping_pings};
use primus_tests::logs::{CapturedLogs, Log};
use primus_tests::server::serve;
use primus_tests::wait::{until, WAIT};
use std::time::Duration;

/// A server without heartbeats that records its connections and the
/// strings it receives into `log`.
fn recording(log: &Log) -> Server {
    let (connections, data) = (log.clone(), log.clone());
    Server::builder()
        .ping_interval(None)
        .on_connection(move |_spark| {
            let connections = connections.clone();
            async move { connections.push("connection") }
        })
        .on_data(move |_spark, message| {
            let data = data.clone();
            async move { data.push(message.decode::<String>().unwrap_or_default()) }
        })
        .build()
        .expect("build")
}

#[tokio::test(flavor = "current_thread")]
async fn end_while_reconnecting_drops_the_queued_writes_with_a_warning() {
    let (captured, _guard) = CapturedLogs::on_this_thread(tracing_subscriber::filter::LevelFilter::WARN);
    let first = Log::default();
    let running = serve(recording(&first)).await;
    let addr = running.addr;
    // Attempts every 100 to 200 ms while the server is away.
    let reconnect = Reconnect {
        min: Duration::from_millis(100),
        max: Some(Duration::from_millis(200)),
        retries: 100,
        attempt_timeout: Duration::from_secs(2),
        ..Reconnect::default()
    };
    let (client, mut events) = Client::builder(running.url())
        .reconnect(reconnect)
        .ping_timeout(None)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    client.write("while connected").expect("write");
    until("the first write to arrive", WAIT, || {
        first.entries().contains(&"while connected".to_owned())
    })
    .await;

    // The server goes away (letting clients reconnect); the client waits to
    // reconnect, and what it writes meanwhile is queued.
    running
        .server
        .destroy(primus::Destroy {
            reconnect: true,
            ..primus::Destroy::default()
        })
        .await;
    tokio::time::timeout(WAIT, running.serving)
        .await
        .expect("the server stops in time")
        .expect("join")
        .expect("serve");
    loop {
        match next_event_skipping_pings(&mut events, WAIT).await {
            ConnectionEvent::ReconnectScheduled(_) => break,
            ConnectionEvent::End => panic!("the client ended instead of reconnecting"),
            _ => {}
        }
    }
    for n in 0..3 {
        client.write(&format!("queued {n}")).expect("queued while away");
    }
    client.end();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("the client ends in time");
        match event {
            Some(ConnectionEvent::End) | None => break,
            Some(ConnectionEvent::Open) => panic!("the client reconnected after end"),
            Some(_) => {}
        }
    }
    until("the client to stop", WAIT, || !client.is_running()).await;

    // The server comes back on the same port: nothing comes to it, though
    // the client would have tried again several times by now.
    let second = Log::default();
    let again = recording(&second);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind the same port");
    tokio::spawn(async move { again.serve(listener).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(second.entries(), Vec::<String>::new(), "delivered after end");
    assert!(
        !first.entries().iter().any(|entry| entry.starts_with("queued")),
        "{:?}",
        first.entries()
    );

    let log = captured.text();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("ended while not connected: the queued messages are dropped"))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(warnings[0].contains("dropped=3"), "{log}");
}

/// A server whose middleware refuses the first three upgrades (503, which
/// the client retries) and records the `_primuscb` of every upgrade: the
/// client's first attempt and its reconnect attempts each send a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_connection_attempt_has_its_own_cache_buster() {
    let seen = Log::default();
    let recorder = seen.clone();
    let server = Server::builder()
        .ping_interval(None)
        .middleware(
            "refuse-three",
            Runs {
                http: false,
                upgrade: true,
            },
            move |request: HttpRequest| {
                let recorder = recorder.clone();
                async move {
                    recorder.push(request.query.get("_primuscb").unwrap_or("(none)"));
                    if recorder.entries().len() <= 3 {
                        Outcome::respond(http::StatusCode::SERVICE_UNAVAILABLE, "not yet")
                    } else {
                        Outcome::Continue
                    }
                }
            },
        )
        .build()
        .expect("build");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .reconnect(Reconnect {
            min: Duration::from_millis(50),
            max: Some(Duration::from_millis(100)),
            retries: 20,
            attempt_timeout: Duration::from_secs(2),
            ..Reconnect::default()
        })
        .ping_timeout(None)
        .connect()
        .expect("connect");
    loop {
        match next_event_skipping_pings(&mut events, WAIT).await {
            ConnectionEvent::Open => break,
            ConnectionEvent::End => panic!("the client gave up: {:?}", seen.entries()),
            _ => {}
        }
    }
    let busters = seen.entries();
    assert_eq!(busters.len(), 4, "{busters:?}");
    assert!(!busters.contains(&"(none)".to_owned()), "{busters:?}");
    let distinct: std::collections::HashSet<&String> = busters.iter().collect();
    assert_eq!(
        distinct.len(),
        busters.len(),
        "a cache buster was reused: {busters:?}"
    );
    client.end();
}
