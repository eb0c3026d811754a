//! Typed events over the bincode parser, which is not self-describing:
//! typed messages take the positional form (`primus::event::positional`).
//! Between our server and our Rust client, both with `Bincode`: events
//! of every variant shape both ways, client requests with their replies,
//! a refusal and a request nobody handles, a request from the server
//! answered by a client handler, and plain bincode values next to typed
//! ones, still reaching `data` handlers.

use primus::parser::Bincode;
use primus::{Message, Payload, PublicError, Server, Spark};
use primus_client::{Client, ClientError};
use primus_tests::events::{expect_open, next_as, next_message};
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use serde::{Deserialize, Serialize};

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Up {
    Shout(String),
    Move(i32, i32),
    Join {
        room: String,
        seat: u8,
    },
    /// Field names the generated code must not trip over.
    Named {
        seq: u32,
        tuple: String,
        serializer: bool,
    },
    Wave,
    #[primus(reply = u64)]
    Add {
        a: u64,
        b: u64,
    },
    #[primus(reply = Vec<String>)]
    Split(String),
    #[primus(reply = bool)]
    Fail,
    #[primus(reply = bool)]
    Unhandled,
    /// Asks the server to ask the client.
    AskMe,
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Down {
    Shouted(String),
    Moved(i32, i32),
    Joined {
        room: String,
        seat: u8,
    },
    Waved,
    Answer(u32),
    #[primus(reply = u32)]
    Pick {
        max: u32,
    },
}

#[primus::on(Up::Shout)]
async fn shout(spark: Spark, Payload(text): Payload<String>) {
    let _ = spark.write(&Down::Shouted(text.to_uppercase()));
}

#[primus::on(Up::Move)]
async fn moved(spark: Spark, Payload((x, y)): Payload<(i32, i32)>) {
    let _ = spark.write(&Down::Moved(x + 1, y + 1));
}

#[primus::on(Up::Join)]
async fn join(spark: Spark, Payload(UpJoin { room, seat }): Payload<UpJoin>) {
    let _ = spark.write(&Down::Joined { room, seat });
}

#[primus::on(Up::Named)]
async fn named(
    spark: Spark,
    Payload(UpNamed {
        seq,
        tuple,
        serializer,
    }): Payload<UpNamed>,
) {
    let _ = spark.write(&Down::Answer(seq + u32::from(serializer) + tuple.len() as u32));
}

#[primus::on(Up::Wave)]
async fn wave(spark: Spark) {
    let _ = spark.write(&Down::Waved);
}

#[primus::on(Up::Add)]
async fn add(Payload(UpAdd { a, b }): Payload<UpAdd>) -> u64 {
    a + b
}

#[primus::on(Up::Split)]
async fn split(Payload(text): Payload<String>) -> Vec<String> {
    text.split(' ').map(str::to_owned).collect()
}

#[primus::on(Up::Fail)]
async fn fail() -> Result<bool, PublicError> {
    Err(PublicError::new("nope"))
}

#[primus::on(Up::AskMe)]
async fn ask_me(spark: Spark) {
    let picked = spark.request(Down::pick(10)).await.expect("the client answers");
    let _ = spark.write(&Down::Answer(picked));
}

/// Plain bincode values (not typed) reach the `data` handlers.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Reading {
    sensor: u16,
    value: f64,
}

#[primus::on("data")]
async fn plain(spark: Spark, message: Message) {
    // A Vec<u32> of two (bytes `[2, 1, 7]`) first: it starts like a reply
    // would without the marker.
    if let Ok(pair) = message.decode::<Vec<u32>>() {
        if pair.len() == 2 {
            let _ = spark.write(&pair);
            return;
        }
    }
    if let Ok(mut reading) = message.decode::<Reading>() {
        reading.value *= 2.0;
        let _ = spark.write(&reading);
    }
}

#[primus_client::on(Down::Pick)]
async fn pick(Payload(DownPick { max }): Payload<DownPick>) -> u32 {
    max / 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_events_requests_and_replies_travel_over_bincode() {
    primus_tests::logs::init_logs();
    let server = Server::builder()
        .parser(Bincode)
        .handlers_from_registry()
        .build()
        .expect("build");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url())
        .parser(Bincode)
        .handlers_from_registry()
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;

    // Events of every shape, both ways.
    client.send(&Up::Shout("quiet".into())).expect("send");
    assert_eq!(
        next_as::<Down>(&mut events, WAIT).await,
        Down::Shouted("QUIET".into())
    );
    client.send(&Up::Move(1, -2)).expect("send");
    assert_eq!(next_as::<Down>(&mut events, WAIT).await, Down::Moved(2, -1));
    client
        .send(&Up::Join {
            room: "lobby".into(),
            seat: 3,
        })
        .expect("send");
    assert_eq!(
        next_as::<Down>(&mut events, WAIT).await,
        Down::Joined {
            room: "lobby".into(),
            seat: 3
        }
    );
    client
        .send(&Up::Named {
            seq: 40,
            tuple: "a".into(),
            serializer: true,
        })
        .expect("send");
    assert_eq!(next_as::<Down>(&mut events, WAIT).await, Down::Answer(42));
    client.send(&Up::Wave).expect("send");
    assert_eq!(next_as::<Down>(&mut events, WAIT).await, Down::Waved);

    // Requests and replies; a refusal; an event nobody handles.
    assert_eq!(
        tokio::time::timeout(WAIT, client.request(Up::add(2, 40)))
            .await
            .expect("in time")
            .expect("add"),
        42
    );
    assert_eq!(
        tokio::time::timeout(WAIT, client.request(Up::split("a b c".into())))
            .await
            .expect("in time")
            .expect("split"),
        ["a", "b", "c"]
    );
    match tokio::time::timeout(WAIT, client.request(Up::fail()))
        .await
        .expect("in time")
    {
        Err(ClientError::Rejected(reason)) => assert_eq!(reason, "nope"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    match tokio::time::timeout(WAIT, client.request(Up::unhandled()))
        .await
        .expect("in time")
    {
        Err(ClientError::Rejected(reason)) => assert_eq!(reason, "no handler for event \"unhandled\""),
        other => panic!("expected a refusal, got {other:?}"),
    }

    // The server asks the client; the client's handler answers.
    client.send(&Up::AskMe).expect("send");
    assert_eq!(next_as::<Down>(&mut events, WAIT).await, Down::Answer(5));

    // Plain values still go to `data` handlers, as bincode, also one that
    // starts like a reply (after requests were sent): not taken as one.
    client.write(&vec![1u32, 7]).expect("write");
    let message = next_message(&mut events, WAIT).await;
    assert_eq!(message.as_bytes(), [2, 1, 7]);
    assert_eq!(message.decode::<Vec<u32>>().expect("a pair"), [1, 7]);
    // Plain values still go to `data` handlers, as bincode.
    client
        .write(&Reading {
            sensor: 7,
            value: 1.5,
        })
        .expect("write");
    let message = next_message(&mut events, WAIT).await;
    assert!(message.is_binary());
    assert_eq!(
        message.decode::<Reading>().expect("a reading"),
        Reading {
            sensor: 7,
            value: 3.0
        }
    );
    client.end();
}

/// An event enum with serde attributes on a field has no positional form:
/// over bincode it fails with an error that says why, while JSON keeps
/// working (the derived shape honours the attribute).
#[test]
fn an_enum_with_serde_field_attributes_says_it_has_no_positional_form() {
    #[primus::event]
    #[derive(Debug, Clone, PartialEq)]
    enum Tagged {
        Note {
            text: String,
            #[serde(default)]
            pinned: bool,
        },
    }
    let note = Tagged::Note {
        text: "hi".into(),
        pinned: false,
    };
    let bincode: &dyn primus::parser::Parser = &Bincode;
    let error = bincode.encode_value(&note).expect_err("no positional form");
    assert!(error.to_string().contains("serde attributes"), "{error}");
    let frame = primus::Frame::binary(vec![0xFF, 0, 4, b'n', b'o', b't', b'e', 2, b'h', b'i', 0]);
    assert!(bincode.decode_value::<Tagged>(&frame).is_err());
    let json: &dyn primus::parser::Parser = &primus::parser::Json;
    let read: Tagged = json
        .decode_value(&primus::Frame::text(r#"{"event":"note","data":{"text":"hi"}}"#))
        .expect("JSON honours the default");
    assert_eq!(read, note);
    // A JSON encode right after a bincode one on the same thread has the
    // object shape again (the switch is off).
    let again = json.encode_value(&note).expect("JSON");
    assert_eq!(
        again.as_str(),
        Some(r#"{"event":"note","data":{"text":"hi","pinned":false}}"#)
    );
}
