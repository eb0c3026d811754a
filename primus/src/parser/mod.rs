//! Parsers: how values become frames and frames become values.
//!
//! A Primus server and all its clients use the same parser; the server names
//! it in `GET <pathname>/spec`. Five ship with primus-rs:
//!
//! * [`Json`] (the default, name `"json"`): exactly Primus' JSON parser. One
//!   JSON value per *text* frame. A binary frame is passed through undecoded,
//!   as Primus hands a `Buffer` to `data` listeners.
//! * [`Bincode`] (name `"bincode"`): bincode 2 (standard configuration) in
//!   *binary* frames, for Rust-to-Rust speed. It is not Primus' `binary`
//!   parser (BinaryPack) and no JavaScript client speaks it.
//! * [`MsgPack`] (name `"msgpack"`): MessagePack in *binary* frames,
//!   byte-compatible with Primus' `msgpack` parser (npm `primus-msgpack`),
//!   typed events included.
//! * [`BinaryPack`] (name `"binary"`): Primus' `binary` parser (npm
//!   `binary-pack`, a MessagePack dialect) in *binary* frames, typed events
//!   included.
//! * [`Ejson`] (name `"ejson"`): Primus' `ejson` parser (Meteor's Extended
//!   JSON, npm `ejson` 2.x): JSON text frames in which dates and bytes
//!   travel as `{"$date": ms}` and `{"$binary": base64}` ([`EjsonDate`],
//!   [`EjsonBinary`]), typed events included.
//!
//! Control messages (`primus::ping::…`) are strings encoded by the parser
//! like any other value, so every parser must be able to tell whether a frame
//! holds a string starting with `primus::`; see [`Parser::inspect`].
//!
//! Implement [`Parser`] to bring your own format. The trait is object safe
//! (it goes through [`erased_serde`]) so a server can pick its parser at run
//! time; use the typed helpers on `dyn Parser` ([`encode`](trait.Parser.html#method.encode-1)
//! style: `parser.encode_value(&v)` and `parser.decode_value::<T>(&frame)`).
//!
//! ```
//! use primus::parser::{Json, Parser};
//!
//! let json: &dyn Parser = &Json;
//! let frame = json.encode_value(&vec![1, 2, 3]).unwrap();
//! assert_eq!(frame.as_str(), Some("[1,2,3]"));
//! let back: Vec<u32> = json.decode_value(&frame).unwrap();
//! assert_eq!(back, [1, 2, 3]);
//! ```

mod binary_pack;
mod bincode;
mod ejson;
mod json;
pub(crate) mod json_scan;
pub(crate) mod json_write;
mod msgpack;
pub(crate) mod positional;

pub use self::binary_pack::BinaryPack;
pub use self::bincode::Bincode;
pub use self::ejson::{Ejson, EjsonBinary, EjsonDate};
pub use self::json::Json;
pub use self::msgpack::MsgPack;

use crate::wire::Frame;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// What a parser found in an incoming frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inspection {
    /// The frame holds a string that starts with `primus::`; here it is.
    Control(String),
    /// The frame is application data (not checked further by parsers that
    /// cannot decode without knowing the type, such as bincode).
    Data,
}

/// A message encoding shared by a server and its clients.
///
/// ```
/// use primus::parser::{Inspection, Json, Parser};
/// use primus::Frame;
///
/// assert_eq!(Json.name(), "json");
/// assert_eq!(
///     Json.inspect(&Frame::text("\"primus::pong::1\"")).unwrap(),
///     Inspection::Control("primus::pong::1".into())
/// );
/// assert!(Json.inspect(&Frame::text("not json")).is_err());
/// ```
pub trait Parser: Send + Sync + std::fmt::Debug + std::any::Any {
    /// The name published in `/spec` (`"json"`, `"bincode"`, …).
    fn name(&self) -> &'static str;

    /// Encodes one value into one frame.
    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError>;

    /// Decodes one frame: calls `visit` with a deserializer over the payload.
    /// Implementations must also reject trailing input after the value.
    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError>;

    /// Classifies an incoming frame before any typed decode: a control
    /// message, data, or a frame that cannot be decoded at all (Primus drops
    /// such a frame and emits `error` on the spark).
    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError>;

    /// Whether a frame can be decoded without knowing its type (JSON can,
    /// bincode cannot). Message transforms work on JSON values, so they run
    /// only for self-describing parsers; with any other, messages pass them
    /// by untouched (and keep their exact encoding). Default: true.
    fn self_describing(&self) -> bool {
        true
    }
}

impl dyn Parser {
    /// Encodes a value with this parser.
    ///
    /// With the built-in [`Json`] parser this calls serde_json directly
    /// (same bytes, no type erasure); other parsers go through
    /// [`Parser::encode`].
    pub fn encode_value<T: Serialize + ?Sized>(&self, value: &T) -> Result<Frame, ParserError> {
        let any: &dyn std::any::Any = self;
        if any.is::<Json>() {
            return Json::encode_typed(value);
        }
        if any.is::<Ejson>() {
            return Ejson::encode_typed(value);
        }
        self.encode(&value)
    }

    /// Decodes a frame into a `T` with this parser (directly with serde_json
    /// for the built-in [`Json`] parser, like `encode_value`).
    pub fn decode_value<T: DeserializeOwned>(&self, frame: &Frame) -> Result<T, ParserError> {
        if self.is_builtin_json() {
            return Json::decode_typed(frame);
        }
        let mut slot = None;
        self.decode(frame, &mut |deserializer| {
            slot = Some(erased_serde::deserialize::<T>(deserializer)?);
            Ok(())
        })?;
        slot.ok_or_else(|| ParserError::decode("the parser produced no value"))
    }

    /// True for the built-in parsers that read frames exactly as JSON text
    /// ([`Json`], and [`Ejson`], which reads EJSON's JSON form as it is);
    /// not for a wrapper around them.
    pub(crate) fn is_builtin_json(&self) -> bool {
        let any: &dyn std::any::Any = self;
        any.is::<Json>() || any.is::<Ejson>()
    }
}

/// Why a value could not be encoded or a frame decoded.
///
/// The messages follow Primus (`ParserError`): "Failed to decode incoming
/// data: …" and "Failed to encode outgoing data: …".
///
/// ```
/// let err = primus::parser::ParserError::decode("expected value at line 1 column 1");
/// assert_eq!(err.to_string(), "Failed to decode incoming data: expected value at line 1 column 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParserError {
    /// An incoming frame could not be decoded.
    #[error("Failed to decode incoming data: {0}")]
    Decode(String),
    /// An outgoing value could not be encoded.
    #[error("Failed to encode outgoing data: {0}")]
    Encode(String),
}

impl ParserError {
    /// A decode error with the given reason.
    pub fn decode(reason: impl std::fmt::Display) -> ParserError {
        ParserError::Decode(reason.to_string())
    }

    /// An encode error with the given reason.
    pub fn encode(reason: impl std::fmt::Display) -> ParserError {
        ParserError::Encode(reason.to_string())
    }
}

/// Looks up a built-in parser by its `/spec` name.
///
/// ```
/// assert_eq!(primus::parser::by_name("bincode").unwrap().name(), "bincode");
/// assert_eq!(primus::parser::by_name("ejson").unwrap().name(), "ejson");
/// assert_eq!(primus::parser::by_name("binary").unwrap().name(), "binary");
/// assert!(primus::parser::by_name("yaml").is_none());
/// ```
pub fn by_name(name: &str) -> Option<std::sync::Arc<dyn Parser>> {
    match name {
        "json" => Some(std::sync::Arc::new(Json)),
        "bincode" => Some(std::sync::Arc::new(Bincode)),
        "msgpack" => Some(std::sync::Arc::new(MsgPack)),
        "ejson" => Some(std::sync::Arc::new(Ejson)),
        "binary" => Some(std::sync::Arc::new(BinaryPack)),
        _ => None,
    }
}
