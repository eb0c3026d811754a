//! Requests from the server to one client (`spark.request`), answered by
//! the Rust client's `#[primus_client::on]` handlers: the reply, a
//! refusal, an event without a client handler (refused at once), a
//! timeout, a spark that closes while waiting, and concurrent requests
//! matched to their own replies.

use primus::spark::RequestError;
use primus::{Payload, Server, Spark};
use primus_client::{Client, Events};
use primus_tests::events::expect_open;
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;
use std::time::{Duration, Instant};

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum ToClient {
    #[primus(reply = bool)]
    Confirm(String),
    #[primus(reply = u32)]
    Pick { max: u32 },
    #[primus(reply = String)]
    Refuse,
    #[primus(reply = String)]
    Unanswered,
    #[primus(reply = bool)]
    Slow,
}

#[primus_client::on(ToClient::Confirm)]
async fn confirm(Payload(question): Payload<String>) -> bool {
    question.ends_with('?')
}

#[primus_client::on(ToClient::Pick)]
async fn pick(Payload(ToClientPick { max }): Payload<ToClientPick>) -> u32 {
    max / 2
}

#[primus_client::on(ToClient::Refuse)]
async fn refuse() -> Result<String, String> {
    Err("not telling".to_owned())
}

#[primus_client::on(ToClient::Slow)]
async fn slow() -> bool {
    tokio::time::sleep(Duration::from_secs(2)).await;
    true
}

async fn connected() -> (Running, Client, Events, Spark) {
    connected_to(Server::builder()).await
}

/// A server from `builder`, a client with the registry's handlers, its spark.
async fn connected_to(builder: primus::ServerBuilder) -> (Running, Client, Events, Spark) {
    let running = serve(builder.build().expect("build")).await;
    let (client, mut events) = Client::builder(running.url())
        .handlers_from_registry()
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    let spark = running
        .server
        .spark(&client.id().await.expect("id"))
        .expect("spark");
    (running, client, events, spark)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_answers_with_its_handlers_return_value() {
    let (_running, client, _events, spark) = connected().await;
    assert!(spark
        .request(ToClient::confirm("delete the room?".into()))
        .await
        .expect("reply"));
    assert!(!spark
        .request(ToClient::confirm("no question".into()))
        .await
        .expect("reply"));
    assert_eq!(spark.request(ToClient::pick(10)).await.expect("reply"), 5);
    // Concurrent requests get their own replies.
    let (a, b, c) = tokio::join!(
        spark.request(ToClient::pick(100)),
        spark.request(ToClient::pick(7)),
        spark.request(ToClient::confirm("and you?".into())),
    );
    assert_eq!((a.expect("a"), b.expect("b"), c.expect("c")), (50, 3, true));
    client.end();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_and_missing_handlers_fail_at_once() {
    let (_running, client, _events, spark) = connected().await;
    match spark.request(ToClient::refuse()).await {
        Err(RequestError::Rejected(reason)) => assert_eq!(reason, "not telling"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let asked = Instant::now();
    match spark.request(ToClient::unanswered()).await {
        Err(RequestError::Rejected(reason)) => assert_eq!(reason, "no handler for event \"unanswered\""),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "refused at once, not timed out"
    );
    client.end();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_times_out_and_a_closing_spark_fails_the_wait() {
    let (_running, client, _events, spark) = connected().await;
    match spark
        .request_within(ToClient::slow(), Duration::from_millis(200))
        .await
    {
        Err(RequestError::Timeout(waited)) => assert_eq!(waited, Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    // The late reply of the timed-out request is dropped; the spark goes on.
    assert_eq!(spark.request(ToClient::pick(4)).await.expect("reply"), 2);

    let waiting = tokio::spawn({
        let spark = spark.clone();
        async move { spark.request(ToClient::slow()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    client.end();
    let result = tokio::time::timeout(WAIT, waiting)
        .await
        .expect("in time")
        .expect("join");
    assert!(matches!(result, Err(RequestError::Closed)), "{result:?}");
    assert!(matches!(
        spark.request(ToClient::pick(1)).await,
        Err(RequestError::Closed)
    ));
}

#[test]
fn the_typings_list_the_servers_requests_with_their_reply_types() {
    let typings = primus::typescript::typings().expect("typings");
    let server_requests = typings
        .split("export interface ServerRequests {")
        .nth(1)
        .and_then(|rest| rest.split("\n}").next())
        .unwrap_or_else(|| panic!("no ServerRequests in:\n{typings}"));
    assert!(
        server_requests.contains(r#""confirm": { data: string; reply: boolean };"#),
        "{typings}"
    );
    assert!(
        server_requests.contains(r#""refuse": { data: undefined; reply: string };"#),
        "{typings}"
    );
}

/// A broadcast with acknowledgements: every spark of a room is asked; the
/// replies and the sparks that did not reply (and why) come back together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_asked_and_partial_answers_are_flagged() {
    use primus::plugins::{Rooms, SparkRooms};
    let running = serve(Server::builder().plugin(Rooms).build().expect("build")).await;
    let mut clients = Vec::new();
    let mut sparks = Vec::new();
    // Two clients with handlers, one without (it refuses at once).
    for with_handlers in [true, true, false] {
        let builder = Client::builder(running.url());
        let builder = if with_handlers {
            builder.handlers_from_registry()
        } else {
            builder
        };
        let (client, mut events) = builder.connect().expect("connect");
        expect_open(&mut events, WAIT).await;
        let spark = running
            .server
            .spark(&client.id().await.expect("id"))
            .expect("spark");
        spark.join("team");
        clients.push((client, events));
        sparks.push(spark);
    }
    let outsider = {
        let (client, mut events) = Client::builder(running.url())
            .handlers_from_registry()
            .connect()
            .expect("connect");
        expect_open(&mut events, WAIT).await;
        (client, events)
    };

    let replies = running
        .server
        .to("team")
        .request(ToClient::confirm("ready?".into()), Duration::from_secs(2))
        .await;
    assert_eq!(replies.asked(), 3, "the outsider is not in the team");
    let mut answered: Vec<&str> = replies.answered.iter().map(|(id, _)| id.as_str()).collect();
    answered.sort_unstable();
    let mut expected = vec![sparks[0].id(), sparks[1].id()];
    expected.sort_unstable();
    assert_eq!(answered, expected);
    assert!(replies.answered.iter().all(|(_, yes)| *yes));
    assert!(!replies.is_complete());
    assert_eq!(replies.failed.len(), 1);
    assert_eq!(replies.failed[0].0, sparks[2].id());
    assert!(matches!(&replies.failed[0].1, RequestError::Rejected(reason) if reason.contains("no handler")));

    // Everyone, with a timeout shorter than the slow handler: all flagged.
    let started = Instant::now();
    let slow = running
        .server
        .everyone()
        .except_spark(sparks[2].id())
        .request(ToClient::slow(), Duration::from_millis(300))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "bounded by the timeout"
    );
    assert_eq!(slow.asked(), 3, "two team members and the outsider");
    assert!(slow.answered.is_empty());
    assert!(slow
        .failed
        .iter()
        .all(|(_, error)| matches!(error, RequestError::Timeout(_))));
    drop(outsider);
}

/// A reply that comes after its request timed out is dropped by the
/// server, as the clients drop theirs: it never reaches `data` handlers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_reply_is_dropped_not_delivered_as_data() {
    let data = primus_tests::logs::Log::default();
    let seen = data.clone();
    let builder = Server::builder().on_data(move |_spark, message| {
        seen.push(String::from_utf8_lossy(message.as_bytes()).into_owned());
        async {}
    });
    let (_running, client, _events, spark) = connected_to(builder).await;
    assert!(matches!(
        spark
            .request_within(ToClient::slow(), Duration::from_millis(100))
            .await,
        Err(RequestError::Timeout(_))
    ));
    // The slow handler answers after 2 s; then a plain message follows.
    tokio::time::sleep(Duration::from_millis(2_300)).await;
    client.write(&"plain").expect("write");
    primus_tests::wait::until("the plain message", WAIT, || !data.entries().is_empty()).await;
    assert_eq!(
        data.entries(),
        ["\"plain\""],
        "only the plain message reached the data handler"
    );
    client.end();
}
