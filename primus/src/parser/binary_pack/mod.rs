//! The BinaryPack parser: Primus' `binary` parser (npm `binary-pack` 1.x,
//! Eric Zhang's BinaryPack) on the wire, written here.
//!
//! BinaryPack is a MessagePack dialect with its own tags for strings:
//!
//! | value | tags |
//! |---|---|
//! | integer | `00`–`7f`, `e0`–`ff` (fixnums), `cc` `cd` `ce` `cf` (u8–u64), `d0` `d1` `d2` `d3` (i8–i64) |
//! | float | `cb` (float64; `ca` float32 is read) |
//! | `null`, `false`, `true` | `c0`, `c2`, `c3` (`c1`, `d4`–`d7`: `undefined`) |
//! | bytes | `a0`–`af` (up to 15), `da` (u16 length), `db` (u32 length) |
//! | string (UTF-8) | `b0`–`bf` (up to 15 bytes), `d8` (u16 length), `d9` (u32 length) |
//! | array | `90`–`9f`, `dc`, `dd` |
//! | object | `80`–`8f`, `de`, `df` (keys are strings) |
//!
//! Numbers are written as the JavaScript packer writes them: a whole number
//! (float or integer) as the smallest integer form in its ladder, anything
//! else as a float64.

mod read;
mod write;

use self::read::Reader;
use self::write::Writer;
use super::{Inspection, Parser, ParserError};
use crate::wire::protocol;
use crate::wire::Frame;
use serde::ser::Serialize as _;
use serde::{de, ser};
use std::fmt;

/// BinaryPack in *binary* frames (name `"binary"`), byte-compatible with
/// Primus' `binary` parser: a Primus 8 client or server made with
/// `parser: 'binary'` (npm `binary-pack`) and primus-rs understand each
/// other. Bytes (`serde_bytes`, or [`Frame`]-like `Vec<u8>` fields with
/// `#[serde(with = "serde_bytes")]`) travel as BinaryPack raw data, which
/// arrives in Node.js as a `Buffer`; structs are objects with their field
/// names; enums are tagged as JSON tags them. One value per frame, nested
/// at most 128 deep; a text frame is refused.
///
/// ```
/// use primus::parser::{BinaryPack, Parser};
///
/// let parser: &dyn Parser = &BinaryPack;
/// let frame = parser.encode_value(&serde_json::json!({"a": 1, "b": [true, null]})).unwrap();
/// assert_eq!(frame.as_bytes(), [0x82, 0xb1, b'a', 0x01, 0xb1, b'b', 0x92, 0xc3, 0xc0]);
/// let back: serde_json::Value = parser.decode_value(&frame).unwrap();
/// assert_eq!(back, serde_json::json!({"a": 1, "b": [true, null]}));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryPack;

/// Deepest nesting of arrays and objects accepted (as for JSON).
const MAX_DEPTH: usize = 128;

const NOT_BINARY: &str = "text frame: the binary parser expects binary frames";

impl Parser for BinaryPack {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        let mut writer = Writer::default();
        value.serialize(&mut writer).map_err(ParserError::encode)?;
        Ok(Frame::binary(writer.out))
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(NOT_BINARY));
        }
        let mut reader = Reader::new(frame.as_bytes());
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut reader)).map_err(ParserError::decode)?;
        reader.end().map_err(ParserError::decode)
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(NOT_BINARY));
        }
        let bytes = frame.as_bytes();
        // A string that starts with the prefix is a control message; any
        // other well-formed value is data.
        let mut reader = Reader::new(bytes);
        de::IgnoredAny::deserialize(&mut reader).map_err(ParserError::decode)?;
        reader.end().map_err(ParserError::decode)?;
        // Only a string is a control message: bytes that spell one are data,
        // as Primus checks `typeof msg === 'string'`.
        let is_string = matches!(bytes.first(), Some(0xb0..=0xbf | 0xd8 | 0xd9));
        let mut reader = Reader::new(bytes);
        if let (true, Ok(text)) = (
            is_string,
            <std::borrow::Cow<'_, str> as serde::Deserialize>::deserialize(&mut reader),
        ) {
            if text.starts_with(protocol::PREFIX) {
                return Ok(Inspection::Control(text.into_owned()));
            }
        }
        Ok(Inspection::Data)
    }
}

use serde::Deserialize as _;

/// Why a value could not be written or read.
#[derive(Debug)]
pub(crate) struct PackError(String);

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PackError {}

impl ser::Error for PackError {
    fn custom<T: fmt::Display>(msg: T) -> PackError {
        PackError(msg.to_string())
    }
}

impl de::Error for PackError {
    fn custom<T: fmt::Display>(msg: T) -> PackError {
        PackError(msg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn parser() -> &'static dyn Parser {
        &BinaryPack
    }

    /// `BinaryPack.pack(value).toString('hex')` with npm binary-pack 1.0.2.
    #[test]
    fn encodes_as_npm_binary_pack_does() {
        let cases: [(Value, &str); 15] = [
            (json!("hi"), "b26869"),
            (json!("primus::ping::1"), "bf7072696d75733a3a70696e673a3a31"),
            (
                json!("x".repeat(20)),
                "d800147878787878787878787878787878787878787878",
            ),
            (json!(300), "cd012c"),
            (json!(-5), "fb"),
            (json!(-100), "d09c"),
            (json!(-300), "d1fed4"),
            (json!(70000), "ce00011170"),
            (json!(-70000), "d2fffeee90"),
            (json!(1.5), "cb3ff8000000000000"),
            (json!(true), "c3"),
            (json!(null), "c0"),
            (json!([1, [2, []]]), "9201920290"),
            (json!({"a": 1, "b": [true, null]}), "82b16101b16292c3c0"),
            (json!(255), "ccff"),
        ];
        for (value, expected) in cases {
            let frame = parser().encode_value(&value).unwrap();
            assert_eq!(frame.as_bytes(), hex(expected), "{value}");
            let back: Value = parser().decode_value(&frame).unwrap();
            assert_eq!(back, value, "{expected}");
        }
        assert_eq!(parser().encode_value(&-33).unwrap().as_bytes(), hex("d0df"));
        assert_eq!(parser().encode_value(&-0.0).unwrap().as_bytes(), hex("00"));
        // Beyond 32 bits, a float64 (npm writes `d3`, which JavaScript's
        // own unpackers misread); `d3` and `cf` are read.
        assert_eq!(
            parser().encode_value(&5_000_000_000_i64).unwrap().as_bytes(),
            hex("cb41f2a05f20000000")
        );
        assert_eq!(
            parser().encode_value(&-5_000_000_000_i64).unwrap().as_bytes(),
            hex("cbc1f2a05f20000000")
        );
        let read = |bytes: &str| parser().decode_value::<i64>(&Frame::binary(hex(bytes))).unwrap();
        assert_eq!(read("d3000000012a05f200"), 5_000_000_000);
        assert_eq!(read("d3fffffffed5fa0e00"), -5_000_000_000);
        assert_eq!(read("cf000000012a05f200"), 5_000_000_000);
        // A whole float is an integer, as in JavaScript.
        assert_eq!(parser().encode_value(&2.0).unwrap().as_bytes(), hex("02"));
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Blob {
        #[serde(with = "bytes_field")]
        data: Vec<u8>,
        name: String,
        kind: Kind,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Kind {
        Plain,
        Sized(u32),
        Shaped { w: u8, h: u8 },
    }

    mod bytes_field {
        pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(bytes)
        }
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            struct Bytes;
            impl<'de> serde::de::Visitor<'de> for Bytes {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                    Ok(v.to_vec())
                }
            }
            d.deserialize_bytes(Bytes)
        }
    }

    #[test]
    fn bytes_structs_and_enums_round_trip() {
        for kind in [Kind::Plain, Kind::Sized(70000), Kind::Shaped { w: 3, h: 4 }] {
            let blob = Blob {
                data: vec![7; 20],
                name: "é".repeat(10),
                kind,
            };
            let frame = parser().encode_value(&blob).unwrap();
            // Twenty bytes are raw data with a 16-bit length, as a Buffer is packed.
            assert!(frame.as_bytes().windows(3).any(|w| w == [0xda, 0x00, 0x14]));
            let back: Blob = parser().decode_value(&frame).unwrap();
            assert_eq!(back, blob);
        }
    }

    #[test]
    fn control_messages_data_and_errors_are_told_apart() {
        let ping = parser().encode_value("primus::ping::1").unwrap();
        assert_eq!(
            parser().inspect(&ping).unwrap(),
            Inspection::Control("primus::ping::1".into())
        );
        let data = parser().encode_value(&json!({"a": 1})).unwrap();
        assert_eq!(parser().inspect(&data).unwrap(), Inspection::Data);
        // Bytes that spell a control message are data (a Buffer in Node.js).
        let mut buffer = vec![0xaf];
        buffer.extend_from_slice(b"primus::pong::1");
        assert_eq!(
            parser().inspect(&Frame::binary(buffer)).unwrap(),
            Inspection::Data
        );
        for bad in [
            "",
            "c1c1",
            "d8ff",
            "92c3",
            "c4",
            "dd ffffffff".replace(' ', "").as_str(),
        ] {
            let frame = Frame::binary(hex(bad));
            assert!(parser().inspect(&frame).is_err(), "{bad}");
        }
        assert!(parser().inspect(&Frame::text("\"primus::ping::1\"")).is_err());
        // `undefined` reads as null; JavaScript keys become strings.
        let odd: Value = parser().decode_value(&Frame::binary(hex("8201c1c3d4"))).unwrap();
        assert_eq!(odd, json!({"1": null, "true": null}));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing_the_stack() {
        let deep = Frame::binary(vec![0x91; 100_000]);
        assert!(parser().decode_value::<Value>(&deep).is_err());
        assert!(parser().inspect(&deep).is_err());
        let mut fine = vec![0x91; MAX_DEPTH - 1];
        fine.push(0xc0);
        assert!(parser().decode_value::<Value>(&Frame::binary(fine)).is_ok());
    }
}
