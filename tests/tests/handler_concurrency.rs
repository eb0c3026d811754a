//! A spark's messages one after another (the default), or several at once
//! with `ServerBuilder::handler_concurrency`: a slow handler no longer holds
//! up that client's other messages; `disconnection` handlers still wait for
//! all of them, and a panicking one loses only its own message.

use primus::{Message, Server, ServerBuilder, Spark};
use primus_client::Client;
use primus_tests::events::{expect_open, next_value};
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// `"slow"` answers after 400 ms, `"fast"` at once, `"panic"` panics.
async fn handle(spark: Spark, message: Message, slow_done: Arc<AtomicUsize>) {
    let text: String = message.decode().expect("a string");
    match text.as_str() {
        "slow" => {
            tokio::time::sleep(Duration::from_millis(400)).await;
            slow_done.fetch_add(1, Ordering::SeqCst);
            let _ = spark.write(&"slow done");
        }
        "panic" => panic!("this handler fails on purpose"),
        _ => drop(spark.write(&format!("{text} done"))),
    }
}

struct Setup {
    running: Running,
    slow_done: Arc<AtomicUsize>,
    /// How many slow handlers had finished when `disconnection` ran.
    at_disconnection: mpsc::UnboundedReceiver<usize>,
}

async fn start(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Setup {
    let slow_done = Arc::new(AtomicUsize::new(0));
    let (tell, at_disconnection) = mpsc::unbounded_channel();
    let counted = slow_done.clone();
    let seen = slow_done.clone();
    let server = configure(Server::builder())
        .on_data(move |spark, message| handle(spark, message, counted.clone()))
        .on_disconnection(move |_spark| {
            let _ = tell.send(seen.load(Ordering::SeqCst));
            async {}
        })
        .build()
        .expect("build");
    Setup {
        running: serve(server).await,
        slow_done,
        at_disconnection,
    }
}

async fn two_answers(setup: &Setup) -> Vec<Value> {
    let (client, mut events) = Client::builder(setup.running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    client.write("slow").expect("write");
    client.write("fast").expect("write");
    let answers = vec![
        next_value(&mut events, WAIT).await,
        next_value(&mut events, WAIT).await,
    ];
    client.end();
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_sparks_messages_are_handled_in_order() {
    let setup = start(|builder| builder).await;
    assert_eq!(
        two_answers(&setup).await,
        [json!("slow done"), json!("fast done")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_concurrency_a_slow_handler_does_not_hold_up_the_next_message() {
    let setup = start(|builder| builder.handler_concurrency(4)).await;
    assert_eq!(
        two_answers(&setup).await,
        [json!("fast done"), json!("slow done")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnection_handlers_wait_for_every_concurrent_handler() {
    let mut setup = start(|builder| builder.handler_concurrency(4)).await;
    let (client, mut events) = Client::builder(setup.running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    for _ in 0..3 {
        client.write("slow").expect("write");
    }
    client.write("fast").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("fast done"));
    client.end(); // the three slow handlers are still running
    let finished = tokio::time::timeout(WAIT, setup.at_disconnection.recv())
        .await
        .expect("disconnection in time")
        .expect("reported");
    assert_eq!(finished, 3, "disconnection ran after the running handlers");
    assert_eq!(setup.slow_done.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_concurrent_handler_loses_only_its_message() {
    let setup = start(|builder| builder.handler_concurrency(4)).await;
    let (client, mut events) = Client::builder(setup.running.url()).connect().expect("connect");
    expect_open(&mut events, WAIT).await;
    client.write("slow").expect("write");
    client.write("panic").expect("write");
    client.write("fast").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("fast done"));
    assert_eq!(next_value(&mut events, WAIT).await, json!("slow done"));
    assert_eq!(setup.running.server.connected(), 1);
    client.end();
}
