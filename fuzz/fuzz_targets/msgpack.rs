//! The MessagePack parser on a client's frame: `inspect` and `decode`
//! never panic or overflow the stack, whatever the bytes (deep nesting,
//! lengths beyond the frame, reserved bytes); a frame it accepts decodes
//! into a `serde_json::Value`-like tree without error whenever its keys are
//! strings, and what it encodes it reads back as the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::parser::{Inspection, MsgPack, Parser};
use primus::Frame;

fuzz_target!(|data: &[u8]| {
    let parser: &dyn Parser = &MsgPack;
    let frame = Frame::binary(data.to_vec());
    let inspected = parser.inspect(&frame);
    // Decoding into a dynamic value agrees with inspection on what is
    // well formed: a value rmp-serde cannot read was refused by `inspect`
    // too, unless it is only the map-key or extension shapes a JSON value
    // cannot hold.
    let decoded = parser.decode_value::<serde_json::Value>(&frame);
    if inspected.is_err() {
        assert!(
            decoded.is_err(),
            "inspect refused what decode accepted: {data:02x?}"
        );
    }
    if let (Ok(Inspection::Data), Ok(value)) = (&inspected, &decoded) {
        // What we encode we read back as the same value.
        let again = parser.encode_value(value).expect("re-encode");
        let back: serde_json::Value = parser.decode_value(&again).expect("read back");
        assert_eq!(&back, value);
    }
    if let Ok(Inspection::Control(text)) = inspected {
        assert!(text.starts_with(primus::protocol::PREFIX));
    }
});
