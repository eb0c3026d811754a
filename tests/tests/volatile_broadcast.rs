//! The two broadcast policies under a burst written without yielding
//! (5,000 broadcasts of 1 KiB into 64 KiB queues): `write_volatile` drops
//! messages for busy sparks (counted in `primus_volatile_dropped_total`)
//! and disconnects nobody; reliable `write` closes the sparks whose queue
//! fills up, as slow consumers.

use primus::Server;
use primus_client::{Client, ConnectionEvent, Events};
use primus_tests::events::expect_open;
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;
use serde_json::{json, Value};
use std::time::Duration;

const CLIENTS: usize = 8;
const BURST: u64 = 5_000;

async fn server_with_clients() -> (Running, Vec<(Client, Events)>) {
    let server = Server::builder()
        .send_queue_bytes(64 * 1024)
        .build()
        .expect("build");
    let running = serve(server).await;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
        expect_open(&mut events, WAIT).await;
        clients.push((client, events));
    }
    primus_tests::wait::until("every client counted", WAIT, || {
        running.server.connected() == CLIENTS
    })
    .await;
    (running, clients)
}

fn padded(n: u64) -> Value {
    json!({ "n": n, "pad": "x".repeat(1024) })
}

/// Reads until `{"done":true}`: the `n` values seen, and whether the
/// connection closed first.
async fn read_until_done(events: &mut Events) -> (Vec<u64>, bool) {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await else {
            return (seen, true);
        };
        match event {
            ConnectionEvent::Data(message) => {
                let value: Value = message.decode().expect("json");
                if value["done"] == true {
                    return (seen, false);
                }
                seen.push(value["n"].as_u64().expect("n"));
            }
            ConnectionEvent::Close | ConnectionEvent::End => return (seen, true),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_burst_drops_messages_for_busy_sparks_and_disconnects_nobody() {
    let (running, mut clients) = server_with_clients().await;
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, || {
        for n in 0..BURST {
            running.server.write_volatile(&padded(n)).expect("encode");
        }
    });
    running.server.write(&json!({ "done": true })).expect("encode");
    let mut received = 0;
    for (_client, events) in &mut clients {
        let (seen, closed) = read_until_done(events).await;
        assert!(!closed, "a volatile burst must not close a connection");
        assert!(
            seen.windows(2).all(|pair| pair[0] < pair[1]),
            "in order, gaps allowed"
        );
        received += seen.len();
    }
    assert_eq!(running.server.connected(), CLIENTS, "nobody was disconnected");
    let dropped: f64 = handle
        .render()
        .lines()
        .find(|line| line.starts_with("primus_volatile_dropped_total"))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0);
    assert!(
        dropped > 0.0,
        "the burst outran the connections: some messages were dropped"
    );
    assert_eq!(
        received as f64 + dropped,
        (BURST as usize * CLIENTS) as f64,
        "every message was either delivered or counted as dropped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reliable_burst_closes_the_sparks_whose_queue_fills_up() {
    let (running, mut clients) = server_with_clients().await;
    for n in 0..BURST {
        running.server.write(&padded(n)).expect("encode");
    }
    running.server.write(&json!({ "done": true })).expect("encode");
    let mut closed = 0;
    for (_client, events) in &mut clients {
        // A closed spark's client reconnects: `Close` comes first.
        let (_seen, was_closed) = read_until_done(events).await;
        closed += usize::from(was_closed);
    }
    assert!(
        closed > 0,
        "a reliable burst past the queue budget closes slow consumers"
    );
}
