//! The BinaryPack parser (`binary`) on a client's frame: `inspect` and
//! `decode` never panic or overflow the stack, whatever the bytes (deep
//! nesting, lengths beyond the frame, `undefined` tags, invalid UTF-8);
//! whatever `inspect` refuses, decoding refuses too; a value decoded as a
//! `serde_json::Value` encodes and reads back as the same value (numbers
//! compared as JavaScript does: as doubles).
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::parser::{BinaryPack, Inspection, Parser};
use primus::Frame;
use serde_json::Value;

/// `value` with every number as a double (2 and 2.0 are one number in
/// JavaScript, and the packer writes whole doubles as integers).
fn as_doubles(value: &Value) -> Value {
    match value {
        Value::Number(n) => n.as_f64().map_or(Value::Null, |f| serde_json::json!(f)),
        Value::Array(items) => Value::Array(items.iter().map(as_doubles).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), as_doubles(v))).collect()),
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let parser: &dyn Parser = &BinaryPack;
    let frame = Frame::binary(data.to_vec());
    let inspected = parser.inspect(&frame);
    let decoded = parser.decode_value::<Value>(&frame);
    if inspected.is_err() {
        assert!(
            decoded.is_err(),
            "inspect refused what decode accepted: {data:02x?}"
        );
    }
    if let (Ok(Inspection::Data), Ok(value)) = (&inspected, &decoded) {
        let again = parser.encode_value(value).expect("re-encode");
        let back: Value = parser.decode_value(&again).expect("read back");
        assert_eq!(as_doubles(&back), as_doubles(value));
    }
    if let Ok(Inspection::Control(text)) = inspected {
        assert!(text.starts_with(primus::protocol::PREFIX));
    }
});
