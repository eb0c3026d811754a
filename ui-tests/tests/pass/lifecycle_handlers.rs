//! `connection`, `disconnection` and `data` handlers, with the extractors
//! they accept and the return types they may have.

extern crate realtime as primus;

use primus::{Message, Server, Spark, State};

#[derive(Clone, Default)]
struct Greeting(String);

#[primus::on("connection")]
async fn hello(spark: Spark, State(greeting): State<Greeting>) {
    let _ = spark.write(&greeting.0);
}

#[primus::on("connection", order = -1)]
async fn first(_server: Server) -> Result<(), String> {
    Ok(())
}

#[primus::on("disconnection")]
async fn bye(spark: Spark) {
    let _ = spark.id();
}

#[primus::on("disconnection", order = 2)]
async fn bye_again() {}

#[primus::on("data")]
async fn raw(spark: Spark, server: Server, message: Message) -> Result<(), std::io::Error> {
    let value: serde_json::Value = message.decode().unwrap_or_default();
    let _ = server.write(&value);
    let _ = spark.id();
    Ok(())
}

#[primus::on("data", order = 10)]
async fn raw_again(message: Message) {
    tokio::task::yield_now().await;
    drop(message);
}

fn main() {
    let functions: Vec<_> = primus::registry::handlers().iter().map(|h| h.function).collect();
    assert_eq!(functions, ["first", "bye", "hello", "raw", "bye_again", "raw_again"]);
}
