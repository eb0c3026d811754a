//! Every variant shape and option `#[primus::event]` accepts, and the wire
//! shape it produces.

extern crate realtime as primus;

use serde_json::json;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Chat {
    pub room: String,
    pub text: String,
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum ToServer {
    /// Unit variant.
    Leave,
    /// Newtype variant.
    Say(String),
    /// Newtype variant around a user struct.
    Post(Chat),
    /// Tuple variant.
    Move(i32, i32),
    /// Struct variant, with a field-level serde attribute.
    Join {
        room: String,
        #[serde(default)]
        password: Option<String>,
    },
    #[primus(rename = "whoami")]
    WhoAmI,
    #[primus(reply = Vec<String>)]
    ListRooms,
    #[primus(reply = u32)]
    Add(u32, u32),
    #[primus(rename = "find", reply = Option<Chat>)]
    Search { text: String },
}

fn main() {
    use primus::Event;

    let cases = [
        (ToServer::Leave, json!({ "event": "leave" })),
        (ToServer::Say("hi".into()), json!({ "event": "say", "data": "hi" })),
        (
            ToServer::Post(Chat { room: "r".into(), text: "t".into() }),
            json!({ "event": "post", "data": { "room": "r", "text": "t" } }),
        ),
        (ToServer::Move(1, 2), json!({ "event": "move", "data": [1, 2] })),
        (
            ToServer::Join { room: "a".into(), password: None },
            json!({ "event": "join", "data": { "room": "a", "password": null } }),
        ),
        (ToServer::WhoAmI, json!({ "event": "whoami" })),
        (ToServer::ListRooms, json!({ "event": "list_rooms" })),
        (ToServer::Add(2, 3), json!({ "event": "add", "data": [2, 3] })),
        (
            ToServer::Search { text: "x".into() },
            json!({ "event": "find", "data": { "text": "x" } }),
        ),
    ];
    for (event, wire) in cases {
        assert_eq!(serde_json::to_value(&event).unwrap(), wire);
        assert_eq!(serde_json::from_value::<ToServer>(wire.clone()).unwrap(), event);
        assert_eq!(Some(event.event_name()), wire["event"].as_str());
    }

    // `#[serde(default)]` on a field is kept.
    let join: ToServer = serde_json::from_value(json!({ "event": "join", "data": { "room": "a" } })).unwrap();
    assert_eq!(join, ToServer::Join { room: "a".into(), password: None });

    // Derives other than Serialize/Deserialize are kept.
    let copy = ToServer::Say("hi".into()).clone();
    assert_eq!(format!("{copy:?}"), "Say(\"hi\")");

    // Request constructors carry the reply type.
    let request: primus::Request<ToServer, Vec<String>> = ToServer::list_rooms();
    assert_eq!(request.event(), &ToServer::ListRooms);
    let request: primus::Request<ToServer, u32> = ToServer::add(2, 3);
    assert_eq!(request.into_event(), ToServer::Add(2, 3));
    let request: primus::Request<ToServer, Option<Chat>> = ToServer::search("x".into());
    assert_eq!(request.event(), &ToServer::Search { text: "x".into() });

    // The payload struct of a struct variant.
    let ToServerJoin { room, password } = ToServerJoin { room: "a".into(), password: None };
    assert_eq!((room.as_str(), password), ("a", None));

    assert_eq!(ToServer::TYPE_NAME, "ToServer");
    let names: Vec<_> = ToServer::EVENTS.iter().map(|e| e.name).collect();
    assert_eq!(
        names,
        ["leave", "say", "post", "move", "join", "whoami", "list_rooms", "add", "find"]
    );
}
