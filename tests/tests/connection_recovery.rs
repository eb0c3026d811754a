//! Connection state recovery (`ServerBuilder::recovery`), with the real
//! Rust client behind a proxy that loses the network: a client that comes
//! back within the window keeps its spark (id, rooms, extensions) and gets
//! exactly the messages it missed, in order, including frames the server
//! wrote that never reached it; one that comes back too late, or whose
//! missed frames outgrew the replay bound, gets a new spark and says so on
//! both sides; a client that ends on purpose is not kept; a client back
//! while its old connection still looks open to the server (half-open)
//! takes its spark over. The served browser client resumes the same way in
//! headless Chromium.

use primus::pipeline::ConnectionRecovery;
use primus::plugins::{Rooms, SparkRooms};
use primus::spark::SessionRecovery;
use primus::{Payload, Server, Spark};
use primus_client::{Client, ConnectionEvent, Events};
use primus_tests::browser::{self, Stepped};
use primus_tests::events::{events_for, expect_open, kind, next_event, next_value};
use primus_tests::logs::Log;
use primus_tests::proxy::LossyProxy;
use primus_tests::server::{serve, Running};
use primus_tests::wait::{until, WAIT};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
struct Nickname(String);

/// A server with rooms and recovery; `{"join": room, "nick": name}` joins
/// a room, keeps a nickname in the spark's extensions and answers
/// `"joined"`. Disconnections are logged by spark id.
async fn start(recovery: ConnectionRecovery, gone: Log) -> Running {
    start_logging(recovery, Log::default(), gone).await
}

/// [`start`], also logging connections by spark id into `met`.
async fn start_logging(recovery: ConnectionRecovery, met: Log, gone: Log) -> Running {
    let server = Server::builder()
        .plugin(Rooms)
        .recovery(recovery)
        .on_data(|spark, message| async move {
            let value: Value = message.decode().unwrap_or_default();
            // A request of the browser page, answered slowly.
            if let (Some("slow-double"), Some(id)) = (value["event"].as_str(), value["request"].as_u64()) {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let doubled = value["data"].as_i64().unwrap_or(0) * 2;
                let _ = spark.write(&json!({ "reply": id, "data": doubled }));
                return;
            }
            if let Some(room) = value["join"].as_str() {
                spark.join(room);
                spark.set_extension(Nickname(value["nick"].as_str().unwrap_or("").to_owned()));
                let _ = spark.write(&"joined");
            }
        })
        .on_connection(move |spark| {
            let met = met.clone();
            async move { met.push(spark.id().to_owned()) }
        })
        .on_disconnection(move |spark| {
            let gone = gone.clone();
            async move { gone.push(spark.id().to_owned()) }
        })
        .build()
        .expect("build");
    serve(server).await
}

/// A client through `proxy` that joined `news`, and its spark.
async fn joined(running: &Running, proxy: &LossyProxy) -> (Client, Events, Spark) {
    let (client, mut events) = Client::builder(proxy.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    client
        .write(&json!({ "join": "news", "nick": "ada" }))
        .expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("joined"));
    let id = client.id().await.expect("id");
    let spark = running.server.spark(&id).expect("spark");
    assert_eq!(spark.recovery(), SessionRecovery::New);
    (client, events, spark)
}

/// The data values and the session events among `events`, in order.
fn values_and_sessions(events: Vec<ConnectionEvent>) -> Vec<Value> {
    events
        .into_iter()
        .filter_map(|event| match event {
            ConnectionEvent::Data(message) => message.decode().ok(),
            ConnectionEvent::SessionResumed | ConnectionEvent::SessionNotResumed => Some(json!(kind(&event))),
            _ => None,
        })
        .collect()
}

/// The values and session events (as [`values_and_sessions`]) until
/// `count` have come (at most [`WAIT`]), and any that follow within 300 ms:
/// a slow machine gets the time it needs, and an extra one is still seen.
async fn values_arriving(events: &mut Events, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut values = Vec::new();
    while values.len() < count {
        let Ok(Some(event)) = tokio::time::timeout_at(deadline, events.next()).await else {
            break;
        };
        values.extend(values_and_sessions(vec![event]));
    }
    values.extend(values_and_sessions(
        events_for(events, Duration::from_millis(300)).await,
    ));
    values
}

/// Waits for the client to open again, collecting what came meanwhile.
async fn until_open(events: &mut Events) -> Vec<ConnectionEvent> {
    let mut seen = Vec::new();
    loop {
        match next_event(events, WAIT).await {
            ConnectionEvent::Open => return seen,
            event => seen.push(event),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_within_the_window_gets_its_spark_and_exactly_what_it_missed() {
    let gone = Log::default();
    let running = start(ConnectionRecovery::within(Duration::from_secs(20)), gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events, spark) = joined(&running, &proxy).await;
    let id = spark.id().to_owned();

    running.server.to("news").write(&1).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!(1));

    // The network starts losing what the server sends: 2 and 3 are written
    // to the socket, and never arrive.
    proxy.drop_downstream();
    running.server.to("news").write(&2).expect("write");
    spark.write(&3).expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Then the connection goes, without a close from either side.
    proxy.refuse(true);
    proxy.cut();
    until("the spark to be detached", WAIT, || spark.is_detached()).await;
    assert!(
        running.server.spark(&id).is_some(),
        "a detached spark can be looked up"
    );
    // Written while the client is away: these wait for it.
    running.server.to("news").write(&4).expect("write");
    spark.write(&5).expect("write");
    assert!(
        gone.entries().is_empty(),
        "disconnection handlers ran for a detached spark"
    );

    proxy.refuse(false);
    let before_open = until_open(&mut events).await;
    assert!(
        before_open
            .iter()
            .any(|event| matches!(event, ConnectionEvent::Reconnected(_))),
        "the client reconnected"
    );
    let after = values_and_sessions(events_for(&mut events, Duration::from_millis(500)).await);
    assert_eq!(after, [json!("resumed"), json!(2), json!(3), json!(4), json!(5)]);

    // The same spark: id, room, extensions; no disconnection ran.
    assert_eq!(client.id().await.expect("id"), id);
    assert_eq!(spark.recovery(), SessionRecovery::Resumed);
    assert!(!spark.is_detached());
    assert_eq!(spark.extension::<Nickname>(), Some(Nickname("ada".into())));
    assert!(running.server.spark(&id).is_some_and(|found| found == spark));
    assert_eq!(running.server.to("news").write(&6).expect("write"), 1);
    assert_eq!(next_value(&mut events, WAIT).await, json!(6));
    assert!(gone.entries().is_empty());

    // A second loss resumes as well, counting on from where it was.
    proxy.cut();
    until("the spark to be detached again", WAIT, || spark.is_detached()).await;
    spark.write(&7).expect("write");
    until_open(&mut events).await;
    let again = values_and_sessions(events_for(&mut events, Duration::from_millis(500)).await);
    assert_eq!(again, [json!("resumed"), json!(7)]);

    // Ending on purpose is not a loss: the spark goes at once.
    client.end();
    until("the disconnection handler", WAIT, || {
        gone.entries() == [id.clone()]
    })
    .await;
    assert!(running.server.spark(&id).is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_while_its_old_connection_looks_open_takes_its_spark_over() {
    let gone = Log::default();
    let running = start(ConnectionRecovery::within(Duration::from_secs(20)), gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events, spark) = joined(&running, &proxy).await;
    let id = spark.id().to_owned();

    // The client's side goes; the server's stays open and unread, so the
    // server sees nothing (its heartbeat would notice only much later).
    proxy.strand();
    running.server.to("news").write(&1).expect("write");
    spark.write(&2).expect("write");
    assert!(!spark.is_detached());

    let _ = until_open(&mut events).await;
    let after = values_arriving(&mut events, 3).await;
    assert_eq!(after, [json!("resumed"), json!(1), json!(2)]);
    assert_eq!(client.id().await.expect("id"), id);
    assert_eq!(spark.recovery(), SessionRecovery::Resumed);
    assert_eq!(running.server.to("news").write(&3).expect("write"), 1);
    assert_eq!(next_value(&mut events, WAIT).await, json!(3));
    assert!(
        gone.entries().is_empty(),
        "no disconnection: the spark moved over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_back_after_the_window_gets_a_new_spark_and_is_told() {
    let gone = Log::default();
    let running = start(
        ConnectionRecovery::within(Duration::from_millis(300)),
        gone.clone(),
    )
    .await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events, spark) = joined(&running, &proxy).await;
    let id = spark.id().to_owned();

    proxy.refuse(true);
    proxy.cut();
    until("the spark to be detached", WAIT, || spark.is_detached()).await;
    spark.write(&"lost").expect("a detached spark takes writes");
    // The window passes: the spark ends as any other.
    until("the window to pass", WAIT, || gone.entries() == [id.clone()]).await;
    assert!(running.server.spark(&id).is_none());

    proxy.refuse(false);
    until_open(&mut events).await;
    let after = values_and_sessions(events_for(&mut events, Duration::from_millis(500)).await);
    assert_eq!(
        after,
        [json!("not resumed")],
        "nothing of the old spark is replayed"
    );
    let new_id = client.id().await.expect("id");
    assert_ne!(new_id, id);
    let fresh = running.server.spark(&new_id).expect("new spark");
    assert_eq!(fresh.recovery(), SessionRecovery::Missed);
    assert_eq!(fresh.extension::<Nickname>(), None);
    assert_eq!(running.server.to("news").write(&"anyone?").expect("write"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_frames_past_the_replay_bound_give_a_new_spark() {
    let gone = Log::default();
    let recovery = ConnectionRecovery::within(Duration::from_secs(20)).replay_bytes(64);
    let running = start(recovery, gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events, spark) = joined(&running, &proxy).await;
    let id = spark.id().to_owned();

    // 4 x 40 bytes are lost on the way; the server keeps 64 bytes of them.
    proxy.drop_downstream();
    for n in 0..4 {
        spark.write(&format!("{n:038}")).expect("write");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.cut();
    until_open(&mut events).await;
    let after = values_and_sessions(events_for(&mut events, Duration::from_millis(500)).await);
    assert_eq!(after, [json!("not resumed")]);
    // The old spark ended (its disconnection ran); the client has a new one.
    until("the old spark to end", WAIT, || gone.entries() == [id.clone()]).await;
    let new_id = client.id().await.expect("id");
    assert_ne!(new_id, id);
    assert_eq!(
        running.server.spark(&new_id).map(|spark| spark.recovery()),
        Some(SessionRecovery::Missed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_does_not_ask_is_not_kept() {
    let gone = Log::default();
    let running = start(ConnectionRecovery::within(Duration::from_secs(20)), gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events) = Client::builder(proxy.url())
        .resume_sessions(false)
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let id = client.id().await.expect("id");
    let spark = running.server.spark(&id).expect("spark");
    assert_eq!(spark.recovery(), SessionRecovery::Off);
    proxy.refuse(true);
    proxy.cut();
    until("the disconnection handler", WAIT, || {
        gone.entries() == [id.clone()]
    })
    .await;
    assert!(!spark.is_detached());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_client_resumes_its_session() {
    browser::ensure_chromium();
    browser::ensure_modules();
    let (met, gone) = (Log::default(), Log::default());
    let recovery = ConnectionRecovery::within(Duration::from_secs(20));
    let running = start_logging(recovery, met.clone(), gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let script = Stepped::start("resume.js", [proxy.url()]).await;
    let script = script.expect("OPEN").await;
    let id = met.entries().first().cloned().expect("the page's spark");
    let spark = running.server.spark(&id).expect("spark");
    assert_eq!(spark.recovery(), SessionRecovery::New);

    proxy.drop_downstream();
    running.server.to("news").write(&2).expect("write");
    spark.write(&3).expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.refuse(true);
    proxy.cut();
    until("the spark to be detached", WAIT, || spark.is_detached()).await;
    running.server.to("news").write(&4).expect("write");
    spark.write(&5).expect("write");
    proxy.refuse(false);

    let summary = script.tell("LOST").await.finish().await;
    assert_eq!(
        summary["after"],
        json!(["resumed", 2, 3, 4, 5]),
        "summary: {summary}"
    );
    assert_eq!(summary["id"], json!(id));
    assert_eq!(summary["idAfter"], json!(id));
    assert_eq!(
        summary["asked"],
        json!({ "value": 42 }),
        "the request in flight was answered after the resume"
    );
    assert_eq!(spark.recovery(), SessionRecovery::Resumed);
    // One spark all along: the reconnect made no new one. (The page has
    // closed by now, on purpose: its spark is gone.)
    assert_eq!(met.entries(), std::slice::from_ref(&id));
    until("the closed page's spark to go", WAIT, || {
        gone.entries() == [id.clone()]
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_looks_like_a_greeting_is_data_and_keeps_the_count() {
    let gone = Log::default();
    let running = start(ConnectionRecovery::within(Duration::from_secs(20)), gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (_client, mut events, spark) = joined(&running, &proxy).await;

    // An application string shaped like the greetings, after the first
    // message of the connection: ordinary data, counted as such.
    spark.write(&"primus::recover::0123").expect("write");
    spark.write(&"primus::recovered::4567").expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!("primus::recover::0123")
    );
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!("primus::recovered::4567")
    );

    proxy.drop_downstream();
    spark.write(&1).expect("write");
    tokio::time::sleep(Duration::from_millis(200)).await;
    proxy.cut();
    until_open(&mut events).await;
    let after = values_and_sessions(events_for(&mut events, Duration::from_millis(500)).await);
    assert_eq!(
        after,
        [json!("resumed"), json!(1)],
        "exactly the missed message, once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_most_detached_sparks_a_lost_connection_ends() {
    let gone = Log::default();
    let recovery = ConnectionRecovery::within(Duration::from_secs(20)).max_detached(0);
    let running = start(recovery, gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (_client, mut events, spark) = joined(&running, &proxy).await;
    let id = spark.id().to_owned();
    proxy.cut();
    until("the disconnection handler", WAIT, || {
        gone.entries() == [id.clone()]
    })
    .await;
    assert!(!spark.is_detached());
    until_open(&mut events).await;
    let after = values_and_sessions(events_for(&mut events, Duration::from_millis(500)).await);
    assert_eq!(after, [json!("not resumed")]);
}

/// A raw WebSocket client that asks for recovery, reads its greeting and
/// closes with `code`; returns the spark's id.
async fn close_with(running: &Running, code: u16) -> String {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::Message as WsMessage;

    let url = format!("{}?primus_recover=new", running.ws_url());
    let mut socket = primus_tests::raw::connect(&url, &[]).await;
    let greeting = primus_tests::raw::next_text(&mut socket, WAIT).await;
    assert!(greeting.starts_with("\"primus::recover::"), "{greeting}");
    primus_tests::raw::send_text(&mut socket, "\"primus::id::\"").await;
    let answer = primus_tests::raw::next_text(&mut socket, WAIT).await;
    let id = answer
        .trim_matches('"')
        .strip_prefix("primus::id::")
        .expect("the id answer")
        .to_owned();
    let close = CloseFrame {
        code: CloseCode::from(code),
        reason: "".into(),
    };
    socket.send(WsMessage::Close(Some(close))).await.expect("close");
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_close_with_4001_keeps_the_session_and_any_other_close_ends_it() {
    let gone = Log::default();
    let running = start(ConnectionRecovery::within(Duration::from_secs(20)), gone.clone()).await;

    // The client gave up on a connection it believes lost: kept.
    let kept = close_with(&running, primus::protocol::RESUMABLE_CLOSE_CODE).await;
    let spark = running.server.spark(&kept).expect("spark");
    until("the spark to be detached", WAIT, || spark.is_detached()).await;
    assert!(gone.entries().is_empty());

    // A normal close: the client left on purpose.
    let left = close_with(&running, 1000).await;
    until("the disconnection handler", WAIT, || {
        gone.entries() == [left.clone()]
    })
    .await;
    assert!(running.server.spark(&left).is_none());
}

/// This binary's metrics (a Prometheus recorder installed once).
fn metrics() -> &'static metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: std::sync::OnceLock<metrics_exporter_prometheus::PrometheusHandle> =
        std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("the only recorder of this binary");
        handle
    })
}

/// The value of a metric without labels (0 before it is first recorded).
fn metric(name: &str) -> f64 {
    metrics()
        .render()
        .lines()
        .find(|line| line.split(' ').next() == Some(name))
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_misses_and_detached_sparks_are_counted() {
    metrics();
    // Other tests of this binary run at the same time: counts only grow.
    let (resumed, missed) = (
        metric("primus_sessions_resumed_total"),
        metric("primus_sessions_missed_total"),
    );
    let gone = Log::default();
    let running = start(ConnectionRecovery::within(Duration::from_secs(2)), gone.clone()).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (_client, mut events, spark) = joined(&running, &proxy).await;
    let id = spark.id().to_owned();

    proxy.refuse(true);
    proxy.cut();
    until("the spark to be detached", WAIT, || spark.is_detached()).await;
    assert!(metric("primus_sparks_detached") >= 1.0, "{}", metrics().render());
    proxy.refuse(false);
    until_open(&mut events).await;
    until("a resume to be counted", WAIT, || {
        metric("primus_sessions_resumed_total") > resumed
    })
    .await;

    // Past the window: a miss.
    proxy.refuse(true);
    proxy.cut();
    until("the window to pass", WAIT, || gone.entries() == [id.clone()]).await;
    proxy.refuse(false);
    until_open(&mut events).await;
    until("a miss to be counted", WAIT, || {
        metric("primus_sessions_missed_total") > missed
    })
    .await;
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Slow {
    #[primus(reply = u32)]
    Double(u32),
}

#[primus::on(Slow::Double)]
async fn double(Payload(n): Payload<u32>) -> u32 {
    tokio::time::sleep(Duration::from_millis(300)).await;
    n * 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_in_flight_completes_after_a_resume_and_fails_after_a_miss() {
    let server = Server::builder()
        .recovery(ConnectionRecovery::within(Duration::from_secs(20)))
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = primus_tests::server::serve(server).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events) = Client::builder(proxy.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;

    // The connection goes while the handler works; its answer reaches the
    // resumed session.
    let asking = client.clone();
    let request = tokio::spawn(async move { asking.request(Slow::double(21)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.cut();
    let answer = tokio::time::timeout(WAIT, request).await;
    assert!(
        matches!(answer, Ok(Ok(Ok(42)))),
        "the request completed after the resume: {answer:?}"
    );

    // A session that cannot be resumed fails what was in flight.
    let server = Server::builder()
        .recovery(ConnectionRecovery::within(Duration::from_millis(1)))
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = primus_tests::server::serve(server).await;
    let proxy = LossyProxy::start(running.addr).await;
    let (client, mut events) = Client::builder(proxy.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    let asking = client.clone();
    let request = tokio::spawn(async move { asking.request(Slow::double(1)).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    proxy.cut();
    let answer = tokio::time::timeout(WAIT, request).await;
    assert!(
        matches!(answer, Ok(Ok(Err(primus_client::ClientError::ConnectionLost)))),
        "a request of a session that was not resumed fails: {answer:?}"
    );
}
