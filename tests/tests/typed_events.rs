//! Typed events over real sockets: `#[primus::event]` enums, `#[primus::on]`
//! handlers collected by the registry, requests and replies, decode errors,
//! and the plain-Primus `data` fallback.

use primus::{Payload, Server, Spark, State};
use primus_client::{Client, ClientError, ConnectionEvent};
use primus_tests::events::next_value;
// `Log` below is this file's own state type (its name is in an asserted message).
use primus_tests::logs::Log as ErrorLog;
use primus_tests::server::{serve_with_errors, Running};
use primus_tests::wait::{until, WAIT};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, primus::ts_rs::TS)]
#[ts(crate = "primus::ts_rs")]
pub struct Chat {
    pub room: String,
    pub text: String,
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum ToServer {
    Say(String),
    Move(i32, i32),
    Join {
        room: String,
    },
    Leave,
    Post(Chat),
    #[primus(rename = "whoami")]
    WhoAmI,
    #[primus(reply = Vec<String>)]
    ListRooms,
    #[primus(reply = u32)]
    Add(u32, u32),
    #[primus(reply = String)]
    Fail,
    #[primus(reply = u8)]
    Slow,
    #[primus(reply = String)]
    Refuse,
    #[primus(reply = u8)]
    Crash,
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum ToClient {
    Said { who: String, text: String },
    Moved(i32, i32),
    Joined(String),
    Left,
    Posted(Chat),
    You(String),
    Welcome,
    Raw(Value),
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    fn push(&self, entry: impl Into<String>) {
        self.0.lock().expect("lock").push(entry.into());
    }
}

#[primus::on("connection")]
async fn greet(spark: Spark, State(log): State<Log>) {
    log.push("connection");
    let _ = spark.write(&ToClient::Welcome);
}

#[primus::on("disconnection")]
async fn farewell(State(log): State<Log>) {
    log.push("disconnection");
}

#[primus::on("data")]
async fn raw(spark: Spark, message: primus::Message) {
    let value: Value = message.decode().unwrap_or(Value::Null);
    let _ = spark.write(&ToClient::Raw(value));
}

#[primus::on(ToServer::Say)]
async fn say(spark: Spark, server: Server, Payload(text): Payload<String>) {
    let _ = server.write(&ToClient::Said {
        who: spark.id().to_owned(),
        text,
    });
}

#[primus::on(ToServer::Move)]
async fn moved(spark: Spark, Payload((x, y)): Payload<(i32, i32)>) {
    let _ = spark.write(&ToClient::Moved(x * 10, y * 10));
}

#[primus::on(ToServer::Join)]
async fn join(spark: Spark, Payload(ToServerJoin { room }): Payload<ToServerJoin>) {
    let _ = spark.write(&ToClient::Joined(room));
}

#[primus::on(ToServer::Leave)]
async fn leave(spark: Spark) {
    let _ = spark.write(&ToClient::Left);
}

#[primus::on(ToServer::Post)]
async fn post(spark: Spark, Payload(chat): Payload<Chat>) {
    let _ = spark.write(&ToClient::Posted(chat));
}

#[primus::on(ToServer::WhoAmI)]
async fn whoami(spark: Spark) {
    let _ = spark.write(&ToClient::You(spark.id().to_owned()));
}

#[primus::on(ToServer::ListRooms)]
async fn list_rooms() -> Vec<String> {
    vec!["lobby".to_owned(), "rust".to_owned()]
}

#[primus::on(ToServer::Add)]
async fn add(Payload((a, b)): Payload<(u32, u32)>) -> u32 {
    tokio::time::sleep(Duration::from_millis(20)).await;
    a + b
}

#[primus::on(ToServer::Fail)]
async fn fail() -> Result<String, &'static str> {
    Err("this request always fails")
}

#[primus::on(ToServer::Refuse)]
async fn refuse() -> Result<String, primus::PublicError> {
    Err(primus::PublicError::new("rooms are full"))
}

#[primus::on(ToServer::Crash)]
async fn crash() -> u8 {
    panic!("the handler's own secret state at src/handlers.rs:12")
}

#[primus::on(ToServer::Slow)]
async fn slow() -> u8 {
    tokio::time::sleep(Duration::from_millis(500)).await;
    1
}

static CLIENT_SAW: Mutex<Vec<String>> = Mutex::new(Vec::new());

#[primus_client::on(ToClient::Posted)]
async fn client_got_post(client: Client, Payload(chat): Payload<Chat>) {
    CLIENT_SAW
        .lock()
        .expect("lock")
        .push(format!("{}:{}", chat.room, chat.text));
    let _ = client.send(&ToServer::Leave);
}

async fn start() -> (Running, Log) {
    let log = Log::default();
    let errors = ErrorLog::default();
    let recorded = errors.clone();
    let server = Server::builder()
        .state(log.clone())
        .handlers_from_registry()
        .on_error(move |_spark, error| recorded.push(error.to_string()))
        .build()
        .expect("build from registry");
    (serve_with_errors(server, errors).await, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wire_shape_of_every_variant_kind() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "event": "welcome" }));
    client
        .write(&json!({ "event": "move", "data": [1, 2] }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "event": "moved", "data": [10, 20] })
    );
    client
        .write(&json!({ "event": "join", "data": { "room": "a" } }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "event": "joined", "data": "a" })
    );
    client.write(&json!({ "event": "leave" })).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "event": "left" }));
    client
        .write(&json!({ "event": "post", "data": { "room": "r", "text": "t" } }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "event": "posted", "data": { "room": "r", "text": "t" } })
    );
    client.write(&json!({ "event": "whoami" })).expect("write");
    let id = client.id().await.expect("id");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "event": "you", "data": id })
    );
    client
        .write(&json!({ "event": "say", "data": "hi" }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "event": "said", "data": { "who": id, "text": "hi" } })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_that_are_not_typed_events_reach_data_handlers() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    next_value(&mut events, WAIT).await; // welcome
    for value in [
        json!("plain"),
        json!(42),
        json!({ "event": "unknown_event", "data": 1 }),
        json!({ "x": 1 }),
    ] {
        client.write(&value).expect("write");
        assert_eq!(
            next_value(&mut events, WAIT).await,
            json!({ "event": "raw", "data": value })
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_get_replies_and_failures() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    next_value(&mut events, WAIT).await; // welcome
    client
        .write(&json!({ "event": "list_rooms", "request": 1 }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "reply": 1, "data": ["lobby", "rust"] })
    );
    client
        .write(&json!({ "event": "add", "data": [2, 3], "request": 9 }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "reply": 9, "data": 5 })
    );
    client
        .write(&json!({ "event": "fail", "request": 4 }))
        .expect("write");
    // Not a `PublicError`: the client reads an error id, the log the text.
    let reply = next_value(&mut events, WAIT).await;
    assert_eq!(reply["reply"], 4);
    let id = error_id_of(reply["error"].as_str().expect("error text"));
    let logged = running.errors.entries();
    assert!(
        logged
            .iter()
            .any(|entry| entry.contains(&id) && entry.contains("this request always fails")),
        "the log has the id and the text: {logged:?}"
    );
    client
        .write(&json!({ "event": "refuse", "request": 5 }))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({ "reply": 5, "error": "rooms are full" })
    );
}

/// The id in `internal error (error id 1a2b3c4d)`; panics on other text.
fn error_id_of(text: &str) -> String {
    let id = text
        .strip_prefix("internal error (error id ")
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("not an internal error: {text:?}"));
    assert!(
        id.len() == 8 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{text:?}"
    );
    id.to_owned()
}

/// Every way a request can fail, and what the client reads: never serde's
/// text, a Rust type or function name, a source position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_replies_never_leak_internals() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    next_value(&mut events, WAIT).await; // welcome
    let requests = [
        json!({ "event": "add", "data": ["x"], "request": 1 }),
        json!({ "event": "add", "data": [1, 2, 3], "request": 2 }),
        json!({ "event": "add", "request": 3 }),
        json!({ "event": "list_rooms", "data": {"deep": [1]}, "request": 4 }),
        json!({ "event": "fail", "request": 5 }),
        json!({ "event": "crash", "request": 6 }),
        json!({ "event": "no_such_event", "request": 7 }),
        json!({ "event": "fail", "data": 12, "request": 8 }),
    ];
    for request in &requests {
        client.write(request).expect("write");
    }
    let mut replies = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while replies.len() < requests.len() {
        let value = tokio::time::timeout_at(deadline, async { next_value(&mut events, WAIT).await })
            .await
            .unwrap_or_else(|_| panic!("only these replies came: {replies:?}"));
        if value.get("reply").is_some() {
            replies.push(value);
        }
    }
    for reply in &replies {
        let error = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("an error reply: {reply}"));
        for leak in [
            "::",
            "line ",
            "column ",
            "`",
            "ToServer",
            "u32",
            "String",
            "invalid type",
            "src/",
            "secret",
        ] {
            assert!(!error.contains(leak), "{leak:?} leaked to the client in {reply}");
        }
    }
    let by_id = |id: u64| {
        replies
            .iter()
            .find(|r| r["reply"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(by_id(1)["error"], "invalid payload for event \"add\"");
    assert_eq!(by_id(7)["error"], "no handler for event \"no_such_event\"");
    error_id_of(by_id(6)["error"].as_str().unwrap_or_default());
    // The panic did not end the connection.
    client.write(&json!({ "event": "leave" })).expect("write");
    let mut left = false;
    for _ in 0..10 {
        if next_value(&mut events, WAIT).await == json!({ "event": "left" }) {
            left = true;
            break;
        }
    }
    assert!(left, "the connection goes on after a handler panicked");
    // The log has what the client did not get.
    let logged = running.errors.entries().join("\n");
    assert!(logged.contains("`crash` panicked"), "{logged}");
    assert!(
        logged.contains("the payload does not match `ToServer`"),
        "{logged}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_that_does_not_match_is_an_error_not_silence() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    next_value(&mut events, WAIT).await; // welcome
    client
        .write(&json!({ "event": "move", "data": "not a pair" }))
        .expect("write");
    client
        .write(&json!({ "event": "add", "data": ["x"], "request": 3 }))
        .expect("write");
    let reply = next_value(&mut events, WAIT).await;
    assert_eq!(reply["reply"], 3);
    assert_eq!(reply["error"], "invalid payload for event \"add\"");
    let errors = running.errors.entries();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("event `move` [error id ")
            && errors[0].contains("the payload does not match `ToServer`"),
        "{errors:?}"
    );
    // Still connected.
    client.write(&json!({ "event": "leave" })).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "event": "left" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_handlers_with_state() {
    let (running, log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "event": "welcome" }));
    client.end();
    while tokio::time::timeout(WAIT, events.next())
        .await
        .expect("in time")
        .is_some()
    {}
    until("the disconnection handler", WAIT, || {
        log.0.lock().expect("lock").len() >= 2
    })
    .await;
    assert_eq!(*log.0.lock().expect("lock"), ["connection", "disconnection"]);
    let _ = ConnectionEvent::Open;
}

#[test]
fn registry_lists_enums_and_handlers_in_order() {
    let enums: Vec<_> = primus::registry::events().iter().map(|e| e.type_name).collect();
    assert_eq!(enums, ["ToClient", "ToServer"]);
    let to_server = primus::registry::events()[1];
    let names: Vec<_> = to_server.events.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        [
            "say",
            "move",
            "join",
            "leave",
            "post",
            "whoami",
            "list_rooms",
            "add",
            "fail",
            "slow",
            "refuse",
            "crash"
        ]
    );
    assert_eq!(to_server.events[6].reply, Some("Vec < String >"));
    let handlers: Vec<_> = primus::registry::handlers().iter().map(|h| h.function).collect();
    assert_eq!(
        handlers,
        [
            "add",
            "crash",
            "fail",
            "farewell",
            "greet",
            "join",
            "leave",
            "list_rooms",
            "moved",
            "post",
            "raw",
            "refuse",
            "say",
            "slow",
            "whoami"
        ]
    );
}

#[test]
fn request_constructors_carry_the_reply_type() {
    let request: primus::Request<ToServer, u32> = ToServer::add(1, 2);
    assert_eq!(request.event(), &ToServer::Add(1, 2));
    let _: primus::Request<ToServer, Vec<String>> = ToServer::list_rooms();
    use primus::Event;
    assert_eq!(ToServer::WhoAmI.event_name(), "whoami");
    assert_eq!(
        serde_json::to_value(ToServer::Join { room: "a".into() }).expect("json"),
        json!({"event":"join","data":{"room":"a"}})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_client_sends_requests_and_reads_typed_events() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(events.next_as::<ToClient>().await, Some(ToClient::Welcome));
    client.send(&ToServer::Move(1, 2)).expect("send");
    assert_eq!(events.next_as::<ToClient>().await, Some(ToClient::Moved(10, 20)));
    assert_eq!(client.request(ToServer::add(2, 3)).await.expect("add"), 5);
    assert_eq!(
        client.request(ToServer::list_rooms()).await.expect("rooms"),
        ["lobby", "rust"]
    );
    match client.request(ToServer::fail()).await {
        Err(ClientError::Rejected(reason)) => {
            error_id_of(&reason);
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    match client
        .request_within(ToServer::slow(), Duration::from_millis(100))
        .await
    {
        Err(ClientError::Timeout(_)) => {}
        other => panic!("expected a timeout, got {other:?}"),
    }
    // Concurrent requests are matched to their own replies.
    let (a, b) = tokio::join!(
        client.request(ToServer::add(1, 1)),
        client.request(ToServer::add(40, 2))
    );
    assert_eq!((a.expect("a"), b.expect("b")), (2, 42));
    // The late reply to the timed-out request is not delivered as data.
    client.send(&ToServer::Leave).expect("send");
    assert_eq!(next_value(&mut events, WAIT).await, json!({ "event": "left" }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_with_a_reply_key_is_data_unless_it_has_the_exact_shape_of_a_reply() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(events.next_as::<ToClient>().await, Some(ToClient::Welcome));
    // Request 1, answered: from now on the client reads replies.
    assert_eq!(client.request(ToServer::add(2, 3)).await.expect("add"), 5);
    let spark = running
        .server
        .spark(&client.id().await.expect("id"))
        .expect("spark");
    for plain in [
        json!({ "reply": 1, "score": 10 }),
        json!({ "reply": 1, "data": "x", "from": "the app" }),
        json!({ "reply": 1 }),
        json!({ "reply": "1", "data": 2 }),
    ] {
        spark.write(&plain).expect("write");
        assert_eq!(next_value(&mut events, WAIT).await, plain, "delivered as data");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_clearly_when_the_connection_ends() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    assert_eq!(events.next_as::<ToClient>().await, Some(ToClient::Welcome));
    let pending = client.request(ToServer::slow());
    let ending = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        running
            .server
            .spark(&client.id().await.expect("id"))
            .expect("spark")
            .end();
    };
    let (result, ()) = tokio::join!(pending, ending);
    assert!(matches!(result, Err(ClientError::Closed)), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_handlers_from_the_registry() {
    let (running, _log) = start().await;
    let (client, mut events) = Client::builder(running.url())
        .handlers_from_registry()
        .connect()
        .expect("connect");
    assert_eq!(events.next_as::<ToClient>().await, Some(ToClient::Welcome));
    client
        .send(&ToServer::Post(Chat {
            room: "r".into(),
            text: "hello".into(),
        }))
        .expect("send");
    // `posted` went to the handler (not the stream); the handler sent `leave`.
    assert_eq!(events.next_as::<ToClient>().await, Some(ToClient::Left));
    assert_eq!(*CLIENT_SAW.lock().expect("lock"), ["r:hello"]);
}

#[tokio::test]
async fn a_handler_needing_missing_state_fails_the_build() {
    let error = match Server::builder().handlers_from_registry().build() {
        Err(error) => error.to_string(),
        Ok(_) => panic!("the build must fail without the state `greet` needs"),
    };
    assert!(
        error.contains("takes `State<typed_events::Log>` but no state of type"),
        "{error}"
    );
}

#[test]
fn typescript_typings_from_the_registry() {
    let typings = primus::typescript::typings().expect("typings");
    println!("{typings}");
    assert!(
        typings.contains("export type Chat = { room: string, text: string, };"),
        "{typings}"
    );
    assert!(typings.contains("\"say\": string;"), "{typings}");
    assert!(typings.contains("\"move\": [number, number];"), "{typings}");
    assert!(
        typings.contains("\"add\": { data: [number, number]; reply: number };"),
        "{typings}"
    );
    assert!(
        typings.contains("\"list_rooms\": { data: undefined; reply: Array<string> };"),
        "{typings}"
    );
    assert!(typings.contains("\"leave\": undefined;"), "{typings}");
    assert!(
        typings.contains("\"said\": { who: string, text: string };"),
        "{typings}"
    );
    assert!(
        typings.contains("`serde_json::value::Value` does not implement ts_rs::TS"),
        "{typings}"
    );
    assert_eq!(
        typings,
        primus::typescript::typings().expect("typings"),
        "deterministic"
    );
}
