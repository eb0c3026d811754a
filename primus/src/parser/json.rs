//! The JSON parser, byte-compatible with Primus' default `json` parser.

use super::{Inspection, Parser, ParserError};
use crate::wire::protocol;
use crate::wire::Frame;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

/// Primus' JSON parser: one JSON value per text frame.
///
/// Encoding also applies Primus' U+2028/U+2029 rule: those two characters are
/// written as `\u2028` / `\u2029` escapes so that the frame is safe to embed
/// in JavaScript source (Primus does the same after `JSON.stringify`).
///
/// ```
/// use primus::parser::{Json, Parser};
///
/// let parser: &dyn Parser = &Json;
/// assert_eq!(parser.encode_value("line\u{2028}sep").unwrap().as_str(), Some(r#""line\u2028sep""#));
/// assert_eq!(parser.encode_value(&()).unwrap().as_str(), Some("null"));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Json {
    /// [`Parser::encode`] without type erasure (what `encode_value` calls).
    pub(crate) fn encode_typed<T: Serialize + ?Sized>(value: &T) -> Result<Frame, ParserError> {
        match super::json_write::to_wire_vec(value) {
            // Line separators already escaped; written from `&str`s and
            // ASCII, so UTF-8.
            Some(json) => Ok(Frame::text_trusted(bytes::Bytes::from(json))),
            // A shape the fast writer leaves to serde_json, or an error
            // (which serde_json then reports in its own words).
            None => Ok(Json::text_frame(
                serde_json::to_vec(value).map_err(ParserError::encode)?,
            )),
        }
    }

    /// JSON text as Primus sends it: U+2028/U+2029 escaped.
    pub(crate) fn text_frame(json: Vec<u8>) -> Frame {
        // Both characters are E2 80 A8/A9 in UTF-8: a byte search first.
        let json = match json.contains(&0xE2) {
            true => escape_line_separators(json),
            false => json,
        };
        // JSON text written from `&str`s and ASCII is UTF-8.
        Frame::text_trusted(bytes::Bytes::from(json))
    }

    /// [`Parser::decode`] without type erasure (what `decode_value` calls).
    pub(crate) fn decode_typed<T: DeserializeOwned>(frame: &Frame) -> Result<T, ParserError> {
        if frame.is_binary() {
            return Err(binary_frame());
        }
        serde_json::from_slice(frame.as_bytes()).map_err(ParserError::decode)
    }
}

/// Writes U+2028 and U+2029 as `\u2028` / `\u2029` (Primus does the same
/// after `JSON.stringify`, so frames can be embedded in JavaScript source).
/// Both can only appear inside strings, where the escape means the same.
pub(super) fn escape_line_separators(json: Vec<u8>) -> Vec<u8> {
    let next = |bytes: &[u8]| {
        bytes
            .windows(3)
            .position(|w| matches!(w, [0xE2, 0x80, 0xA8 | 0xA9]))
    };
    let Some(mut at) = next(&json) else {
        return json;
    };
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut rest = &json[..];
    loop {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(if rest[at + 2] == 0xA8 {
            b"\\u2028"
        } else {
            b"\\u2029"
        });
        rest = &rest[at + 3..];
        match next(rest) {
            Some(found) => at = found,
            None => break,
        }
    }
    out.extend_from_slice(rest);
    out
}

fn binary_frame() -> ParserError {
    ParserError::decode(
        "binary frame: the json parser passes binary frames through undecoded; read them with `as_bytes()`",
    )
}

impl Parser for Json {
    fn name(&self) -> &'static str {
        "json"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        Json::encode_typed(value)
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        if frame.is_binary() {
            return Err(binary_frame());
        }
        let mut deserializer = serde_json::Deserializer::from_slice(frame.as_bytes());
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut deserializer))
            .map_err(ParserError::decode)?;
        deserializer.end().map_err(ParserError::decode)
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        if frame.is_binary() {
            return Ok(Inspection::Data);
        }
        let bytes = frame.as_bytes();
        let start = bytes
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .unwrap_or(bytes.len());
        let body = &bytes[start..];
        // A control message is a JSON string whose value starts with
        // `primus::`. Decode the string only when it can be one: it starts
        // with the literal prefix, or escapes appear early enough to spell it.
        let maybe_control = body.first() == Some(&b'"')
            && (body[1..].starts_with(protocol::PREFIX.as_bytes())
                || body.iter().take(64).any(|b| *b == b'\\'));
        if maybe_control {
            if let Ok(text) = serde_json::from_slice::<String>(body) {
                if text.starts_with(protocol::PREFIX) {
                    return Ok(Inspection::Control(text));
                }
                return Ok(Inspection::Data);
            }
        }
        if super::json_scan::scan(bytes, |_, _| {}) {
            return Ok(Inspection::Data);
        }
        // Invalid (or nested too deeply for the fast check): serde_json
        // decides, and explains what is wrong.
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        IgnoredAny::deserialize(&mut deserializer).map_err(ParserError::decode)?;
        deserializer.end().map_err(ParserError::decode)?;
        Ok(Inspection::Data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_line_separator() {
        let frame = Json::encode_typed("\u{2028}a\u{2029}b\u{2028}\u{2028}").unwrap();
        assert_eq!(frame.as_str(), Some(r#""\u2028a\u2029b\u2028\u2028""#));
        let plain = Json::encode_typed("é → ü").unwrap();
        assert_eq!(plain.as_str(), Some("\"é → ü\""));
    }

    #[test]
    fn inspects_like_primus() {
        let p = Json;
        assert_eq!(
            p.inspect(&Frame::text(r#""primus::id::""#)).unwrap(),
            Inspection::Control("primus::id::".into())
        );
        assert_eq!(
            p.inspect(&Frame::text(r#""\u0070rimus::pong::1""#)).unwrap(),
            Inspection::Control("primus::pong::1".into())
        );
        assert_eq!(
            p.inspect(&Frame::text(r#"["primus::id::"]"#)).unwrap(),
            Inspection::Data
        );
        assert_eq!(p.inspect(&Frame::text(r#""plain""#)).unwrap(), Inspection::Data);
        assert_eq!(
            p.inspect(&Frame::binary(vec![1, 2, 3])).unwrap(),
            Inspection::Data
        );
        let err = p.inspect(&Frame::text("not json at all")).unwrap_err();
        assert!(
            err.to_string().starts_with("Failed to decode incoming data: "),
            "{err}"
        );
        assert!(p.inspect(&Frame::text("1 2")).is_err());
    }

    #[test]
    fn decode_rejects_trailing_input() {
        let p: &dyn Parser = &Json;
        assert!(p.decode_value::<u32>(&Frame::text("1 2")).is_err());
        assert_eq!(p.decode_value::<u32>(&Frame::text(" 7 ")).unwrap(), 7);
    }
}
