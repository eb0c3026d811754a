//! Typed event handlers: every extractor, every payload shape, requests
//! returning `T` and `Result<T, E>`, events returning `()` and
//! `Result<(), E>`, and `order`.

extern crate realtime as primus;

use primus::{Message, Payload, Server, Spark, State};
use std::sync::Arc;

#[primus::event]
#[derive(Debug, Clone)]
pub enum ToServer {
    Leave,
    Say(String),
    Move(i32, i32),
    Join { room: String },
    #[primus(rename = "whoami")]
    WhoAmI,
    #[primus(reply = Vec<String>)]
    ListRooms,
    #[primus(reply = u32)]
    Add(u32, u32),
    #[primus(reply = String)]
    Echo(String),
}

#[primus::event]
#[derive(Debug, Clone)]
pub enum ToClient {
    Said { who: String, text: String },
    Joined(String),
}

#[derive(Clone, Default)]
struct Rooms(Arc<Vec<String>>);

#[primus::on(ToServer::Say, order = 5)]
async fn say(
    spark: Spark,
    server: Server,
    State(rooms): State<Rooms>,
    message: Message,
    Payload(text): Payload<String>,
) {
    let _ = (rooms, message);
    let _ = server.write(&ToClient::Said {
        who: spark.id().to_owned(),
        text,
    });
}

#[primus::on(ToServer::Move)]
async fn moved(Payload((x, y)): Payload<(i32, i32)>) -> Result<(), String> {
    if x == y {
        return Err("diagonal".to_owned());
    }
    Ok(())
}

#[primus::on(ToServer::Join)]
async fn join(spark: Spark, Payload(ToServerJoin { room }): Payload<ToServerJoin>) {
    let _ = spark.write(&ToClient::Joined(room));
}

#[primus::on(ToServer::WhoAmI, order = -3)]
async fn whoami(spark: Spark, _payload: Payload<()>) {
    let _ = spark.id();
}

#[primus::on(ToServer::ListRooms)]
async fn list_rooms(State(rooms): State<Rooms>) -> Vec<String> {
    rooms.0.as_ref().clone()
}

#[primus::on(ToServer::Add)]
async fn add(Payload((a, b)): Payload<(u32, u32)>) -> Result<u32, String> {
    a.checked_add(b).ok_or_else(|| "overflow".to_owned())
}

#[primus::on(crate::ToServer::Echo)]
async fn echo(Payload(text): Payload<String>) -> String {
    tokio::task::yield_now().await;
    text
}

mod nested {
    use primus::Payload;

    // A handler in another module, naming the enum by a relative path.
    #[primus::on(super::ToServer::Leave)]
    async fn leave(_payload: Payload<()>) {}
}

fn main() {
    let functions: Vec<_> = primus::registry::handlers().iter().map(|h| h.function).collect();
    assert_eq!(functions[0], "whoami");
    assert_eq!(functions.last(), Some(&"say"));
    assert_eq!(functions.len(), 8);
}
