//! The MessagePack parser: Primus' `msgpack` parser (npm `primus-msgpack`,
//! msgpack-lite) on the wire.

use super::{Inspection, Parser, ParserError};
use crate::wire::protocol;
use crate::wire::Frame;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::io::Cursor;

/// MessagePack in *binary* frames (name `"msgpack"`), byte-compatible with
/// Primus' `msgpack` parser: a Primus 8 client made with
/// `parser: 'msgpack'` (npm `primus-msgpack`) and this server understand
/// each other, typed events and requests included. Structs are maps with
/// their field names, as JavaScript objects are.
///
/// Differences that matter when JavaScript is on the other side: it sends
/// every number outside the 32-bit integer range as a float64 (so a Rust
/// `u64` field refuses `Date.now()`; use `f64` there), and whole-number
/// floats as integers (which `f64` fields accept). One value per frame:
/// bytes after it are refused, a text frame is refused, and values nested
/// deeper than 128 levels are refused (checked without recursion before
/// anything is decoded, so a hostile frame cannot exhaust the stack).
///
/// ```
/// use primus::parser::{MsgPack, Parser};
///
/// let parser: &dyn Parser = &MsgPack;
/// let frame = parser.encode_value(&serde_json::json!({"a": 1, "b": [true, null]})).unwrap();
/// assert!(frame.is_binary());
/// assert_eq!(frame.as_bytes(), [0x82, 0xa1, b'a', 0x01, 0xa1, b'b', 0x92, 0xc3, 0xc0]);
/// let back: serde_json::Value = parser.decode_value(&frame).unwrap();
/// assert_eq!(back, serde_json::json!({"a": 1, "b": [true, null]}));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MsgPack;

/// The message when a frame is not binary.
const NOT_BINARY: &str = "text frame: the msgpack parser expects binary frames";

impl MsgPack {
    /// Runs `visit` over the one value in `bytes`; refuses trailing bytes.
    fn visit_one<T>(
        bytes: &[u8],
        visit: impl FnOnce(
            &mut rmp_serde::Deserializer<rmp_serde::decode::ReadReader<Cursor<&[u8]>>>,
        ) -> Result<T, ParserError>,
    ) -> Result<T, ParserError> {
        scan(bytes).map_err(ParserError::decode)?;
        let mut deserializer = rmp_serde::Deserializer::new(Cursor::new(bytes));
        let value = visit(&mut deserializer)?;
        let read = usize::try_from(deserializer.position()).unwrap_or(usize::MAX);
        match bytes.len().saturating_sub(read) {
            0 => Ok(value),
            rest => Err(ParserError::decode(format!("{rest} bytes after the value"))),
        }
    }
}

/// Deepest nesting of arrays and maps accepted (as for JSON).
const MAX_DEPTH: usize = 128;

/// Checks, without recursion, that `bytes` hold exactly one well-formed
/// MessagePack value nested at most [`MAX_DEPTH`] deep.
fn scan(bytes: &[u8]) -> Result<(), &'static str> {
    // Items still to read in each open array or map (a map counts keys
    // and values); the outermost "container" is the one value expected.
    let mut open: Vec<u64> = vec![1];
    let mut at = 0usize;
    let take = |at: &mut usize, n: u64| -> Result<(), &'static str> {
        let n = usize::try_from(n).map_err(|_| "a length beyond the frame")?;
        let end = at
            .checked_add(n)
            .filter(|end| *end <= bytes.len())
            .ok_or("the value is cut short")?;
        *at = end;
        Ok(())
    };
    let number = |at: &mut usize, width: usize| -> Result<u64, &'static str> {
        let end = at
            .checked_add(width)
            .filter(|end| *end <= bytes.len())
            .ok_or("the value is cut short")?;
        let value = bytes[*at..end]
            .iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte));
        *at = end;
        Ok(value)
    };
    while let Some(remaining) = open.last_mut() {
        if *remaining == 0 {
            open.pop();
            continue;
        }
        *remaining -= 1;
        let marker = *bytes.get(at).ok_or("the value is cut short")?;
        at += 1;
        let container = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => None,
            0x80..=0x8f => Some(u64::from(marker & 0x0f) * 2),
            0x90..=0x9f => Some(u64::from(marker & 0x0f)),
            0xa0..=0xbf => {
                take(&mut at, u64::from(marker & 0x1f))?;
                None
            }
            0xc1 => return Err("the reserved byte 0xc1"),
            0xc4 | 0xd9 => {
                let len = number(&mut at, 1)?;
                take(&mut at, len)?;
                None
            }
            0xc5 | 0xda => {
                let len = number(&mut at, 2)?;
                take(&mut at, len)?;
                None
            }
            0xc6 | 0xdb => {
                let len = number(&mut at, 4)?;
                take(&mut at, len)?;
                None
            }
            0xc7 => {
                let len = number(&mut at, 1)?;
                take(&mut at, len + 1)?;
                None
            }
            0xc8 => {
                let len = number(&mut at, 2)?;
                take(&mut at, len + 1)?;
                None
            }
            0xc9 => {
                let len = number(&mut at, 4)?;
                take(&mut at, len + 1)?;
                None
            }
            0xca | 0xce | 0xd2 => take(&mut at, 4).map(|()| None)?,
            0xcb | 0xcf | 0xd3 => take(&mut at, 8).map(|()| None)?,
            0xcc | 0xd0 => take(&mut at, 1).map(|()| None)?,
            0xcd | 0xd1 => take(&mut at, 2).map(|()| None)?,
            0xd4 => take(&mut at, 2).map(|()| None)?,
            0xd5 => take(&mut at, 3).map(|()| None)?,
            0xd6 => take(&mut at, 5).map(|()| None)?,
            0xd7 => take(&mut at, 9).map(|()| None)?,
            0xd8 => take(&mut at, 17).map(|()| None)?,
            0xdc => Some(number(&mut at, 2)?),
            0xdd => Some(number(&mut at, 4)?),
            0xde => Some(number(&mut at, 2)? * 2),
            0xdf => Some(number(&mut at, 4)? * 2),
        };
        if let Some(items) = container {
            if open.len() > MAX_DEPTH {
                return Err("nested too deep");
            }
            open.push(items);
        }
    }
    match bytes.len() - at {
        0 => Ok(()),
        _ => Err("bytes after the value"),
    }
}

impl Parser for MsgPack {
    fn name(&self) -> &'static str {
        "msgpack"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        rmp_serde::to_vec_named(value)
            .map(Frame::binary)
            .map_err(ParserError::encode)
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(NOT_BINARY));
        }
        MsgPack::visit_one(frame.as_bytes(), |deserializer| {
            visit(&mut <dyn erased_serde::Deserializer>::erase(deserializer)).map_err(ParserError::decode)
        })
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(NOT_BINARY));
        }
        let bytes = frame.as_bytes();
        // A string: maybe a control message.
        if let Ok(text) = MsgPack::visit_one(bytes, |deserializer| {
            String::deserialize(deserializer).map_err(ParserError::decode)
        }) {
            return Ok(match text.starts_with(protocol::PREFIX) {
                true => Inspection::Control(text),
                false => Inspection::Data,
            });
        }
        // Anything else must be one whole, well-formed value.
        MsgPack::visit_one(bytes, |deserializer| {
            IgnoredAny::deserialize(deserializer).map_err(ParserError::decode)
        })?;
        Ok(Inspection::Data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parser() -> &'static dyn Parser {
        &MsgPack
    }

    /// Bytes captured from npm primus-msgpack 1.0.2 (msgpack-lite 0.1.26).
    #[test]
    fn encodes_as_primus_msgpack_does() {
        let cases: [(serde_json::Value, &str); 9] = [
            (json!("hello"), "a568656c6c6f"),
            (json!(42), "2a"),
            (json!(300), "cd012c"),
            (json!(70000), "ce00011170"),
            (json!(-200), "d1ff38"),
            (json!(1.5), "cb3ff8000000000000"),
            (json!([1, "a"]), "9201a161"),
            (json!({"a": 1, "b": [true, null]}), "82a16101a16292c3c0"),
            (json!("primus::id::"), "ac7072696d75733a3a69643a3a"),
        ];
        for (value, hex) in cases {
            let frame = parser().encode_value(&value).expect("encode");
            let got: String = frame.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(got, hex, "{value}");
        }
    }

    #[test]
    fn control_messages_data_and_errors_are_told_apart() {
        let ping = Frame::binary(hex("bb7072696d75733a3a70696e673a3a31373936323937393130323433"));
        assert_eq!(
            parser().inspect(&ping).expect("ping"),
            Inspection::Control("primus::ping::1796297910243".into())
        );
        let data = parser().encode_value(&json!({"x": 1})).expect("encode");
        assert_eq!(parser().inspect(&data).expect("data"), Inspection::Data);
        for bad in [
            vec![],
            vec![0xc1],
            vec![0x92, 0x01],
            vec![0x01, 0x02],
            vec![0xa5, b'h'],
        ] {
            assert!(parser().inspect(&Frame::binary(bad.clone())).is_err(), "{bad:?}");
        }
        assert!(parser().inspect(&Frame::text("\"hi\"")).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing_the_stack() {
        let mut bytes = vec![0x91; 100_000];
        bytes.push(0xc0);
        assert!(parser().inspect(&Frame::binary(bytes)).is_err());
        // 128 levels are fine.
        let mut fine = vec![0x91; MAX_DEPTH];
        fine.push(0xc0);
        assert_eq!(
            parser().inspect(&Frame::binary(fine)).expect("128 levels"),
            Inspection::Data
        );
        // A huge declared length without the bytes is refused at once.
        assert!(parser()
            .inspect(&Frame::binary(vec![0xdd, 0xff, 0xff, 0xff, 0xff]))
            .is_err());
        assert!(parser()
            .inspect(&Frame::binary(vec![0xdb, 0xff, 0xff, 0xff, 0xff, 0x61]))
            .is_err());
    }

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
            .collect()
    }
}
