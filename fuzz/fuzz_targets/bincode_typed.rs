//! Typed messages over the bincode parser (their positional form) from a
//! client's frame: reading the envelope (event name, request and reply
//! numbers), a reply and a typed event never panics, overflows or
//! allocates what a hostile length claims; an event that decodes is
//! written again as the same bytes' meaning (it reads back equal, under
//! the same name).
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::event::Event;
use primus::parser::{Bincode, Parser};
use primus::{Frame, Message};
use std::sync::Arc;

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Sample {
    Say(String),
    Move(i32, i32),
    Join {
        room: String,
        seat: u8,
    },
    Wave,
    #[primus(reply = Vec<String>)]
    Split(Vec<u8>),
}

fuzz_target!(|data: &[u8]| {
    let parser: Arc<dyn Parser> = Arc::new(Bincode);
    let message = Message::new(Frame::binary(data.to_vec()), parser.clone());
    let name = primus::event::event_name(&message);
    let request = primus::event::request_id(&message);
    let reply = primus::event::reply_id(&message);
    assert!(request.is_none() || name.is_some(), "a request has a name");
    assert!(reply.is_none() || name.is_none(), "a reply is not an event");
    let _ = primus::event::decode_reply::<Vec<String>>(&message);
    if let Ok(event) = message.decode::<Sample>() {
        assert_eq!(name.as_deref(), Some(event.event_name()));
        let again = parser.encode_value(&event).expect("re-encode");
        let back: Sample = parser.decode_value(&again).expect("read back");
        assert_eq!(back, event);
    }
});
