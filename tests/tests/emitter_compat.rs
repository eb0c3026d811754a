//! A front-end written for Node Primus with the npm `primus-emitter` plugin
//! (3.1.1, loaded into the real Primus 8 Node client by
//! `tests/interop/emitter-client.js`) against a primus-rs server with the
//! `Emitter` plugin: its events reach typed handlers, its acknowledged
//! events are typed requests whose replies (and failures) come back as
//! acknowledgements, several arguments fill a tuple variant, and typed
//! events from the server arrive as its named events, and the server's own
//! requests are answered by the client's acknowledgement callbacks. Plain
//! data stays plain.

use primus::plugins::Emitter;
use primus::{Message, Payload, PublicError, Server, Spark};
use primus_tests::node;
use primus_tests::process::run_to_summary;
use primus_tests::server::serve;
use serde_json::{json, Value};
use std::time::Duration;
use tokio::process::Command;

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum FrontEnd {
    Hello(String),
    #[primus(reply = i64)]
    Add {
        a: i64,
        b: i64,
    },
    Move(i32, i32),
    #[primus(reply = bool)]
    Fail,
    Ask,
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum ToFrontEnd {
    News(String),
    #[primus(reply = bool)]
    Confirm(String),
    #[primus(reply = bool)]
    Refuse,
    #[primus(reply = (i32, String))]
    Pair,
}

#[primus::on(FrontEnd::Hello)]
async fn hello(spark: Spark, Payload(name): Payload<String>) {
    let _ = spark.write(&ToFrontEnd::News(format!("hello {name}")));
}

#[primus::on(FrontEnd::Add)]
async fn add(Payload(FrontEndAdd { a, b }): Payload<FrontEndAdd>) -> i64 {
    a + b
}

#[primus::on(FrontEnd::Move)]
async fn moved(spark: Spark, Payload((x, y)): Payload<(i32, i32)>) {
    let _ = spark.write(&ToFrontEnd::News(format!("moved {x} {y}")));
}

#[primus::on(FrontEnd::Fail)]
async fn fail() -> Result<bool, PublicError> {
    Err(PublicError::new("nope"))
}

/// Asks the client three things and reports what came back.
#[primus::on(FrontEnd::Ask)]
async fn ask(spark: Spark) {
    let wait = Duration::from_secs(5);
    let confirm = spark.request_within(ToFrontEnd::confirm("delete the room?".into()), wait);
    let confirm = match confirm.await {
        Ok(agreed) => format!("confirm {agreed}"),
        Err(error) => format!("confirm failed: {error}"),
    };
    let refuse = match spark.request_within(ToFrontEnd::refuse(), wait).await {
        Ok(agreed) => format!("refuse answered {agreed}"),
        Err(error) => format!("refuse failed: {error}"),
    };
    let pair = match spark.request_within(ToFrontEnd::pair(), wait).await {
        Ok((number, text)) => format!("pair {number} {text}"),
        Err(error) => format!("pair failed: {error}"),
    };
    let _ = spark.write(&ToFrontEnd::News(format!("{confirm}; {refuse}; {pair}")));
}

#[primus::on("data")]
async fn plain(spark: Spark, message: Message) {
    if let Ok(value) = message.decode::<Value>() {
        let _ = spark.write(&value);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_primus_emitter_client_talks_to_typed_handlers() {
    let server = Server::builder()
        .plugin(Emitter)
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = serve(server).await;
    node::ensure_modules();
    let mut command = Command::new("node");
    command
        .arg(node::dir().join("emitter-client.js"))
        .args(["--url", &running.url()]);
    let summary = run_to_summary(
        command,
        Duration::from_secs(60),
        "the primus-emitter client",
        "interop tests need Node.js 18+ and npm",
    )
    .await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
    // An acknowledged event is a request; the reply is the acknowledgement.
    assert_eq!(summary["added"], json!([5]));
    // A failing request: the public error text, as `{error}`.
    assert_eq!(summary["failed"], json!([{ "error": "nope" }]));
    // An event nobody handles is answered at once, not left to time out.
    assert_eq!(
        summary["unknown"],
        json!([{ "error": "no handler for event \"nobody_handles_this\"" }])
    );
    // Typed events from the server arrive as named events, in order; the
    // two arguments of `move` filled the tuple variant.
    // The server's requests reached the client's listeners with an
    // acknowledgement callback, whose arguments settled them: one value, a
    // refusal as `{error}`, and two arguments read as a tuple.
    assert_eq!(
        summary["news"],
        json!([
            "hello ada",
            "moved 1 2",
            "confirm true; refuse failed: the client refused the request: not today; pair 1 b"
        ])
    );
    assert_eq!(summary["asked"], json!(["delete the room?"]));
    // Plain data stays plain both ways, also an acknowledgement of a
    // number the server never issued.
    assert_eq!(
        summary["plain"],
        json!([{ "plain": true }, { "id": 5, "type": 1, "data": ["stray"] }])
    );
    assert_eq!(summary["errors"], json!([]));
}
