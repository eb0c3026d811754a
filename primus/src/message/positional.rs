//! The positional form of typed messages, for parsers that are not
//! self-describing (bincode).
//!
//! Typed messages are objects on a self-describing wire
//! (`{"event":…,"data":…,"request":n}`): a reader finds the fields by
//! name. A bincode frame has no names, so while the [`Bincode`] parser
//! encodes or decodes, typed messages take a positional form instead,
//! every kind starting with a tag byte:
//!
//! | message | fields, in order |
//! |---|---|
//! | event | [`MARKER`], `0`, the event name, then each field of the variant |
//! | request | [`MARKER`], `1`, the request number (`u64`), then the event as above |
//! | reply | [`MARKER`], `2`, the request number, the reply |
//! | failed reply | [`MARKER`], `3`, the request number, the reason (text) |
//!
//! The fields of a tuple or struct variant follow in declaration order; a
//! unit variant has none. The event enums of `#[primus::event]` and the
//! envelope types of this crate check [`active`] in their
//! `Serialize`/`Deserialize` implementations; the parser switches it on
//! with [`within`] for the length of one encode or decode (on the thread
//! doing it: serde never moves to another thread meanwhile). A parser of
//! your own that is not self-describing does the same. An event enum with
//! serde attributes on its variants or fields has no positional form (the
//! attributes would not be honoured): encoding or decoding it this way is
//! an error that says so.
//!
//! A plain value written with bincode that happens to start like one of
//! these (the marker byte `0xFF`, a tag, then a number or the name of a
//! handled event) is read as that typed message; a `u8` of 255 is the only
//! value bincode itself starts with `0xFF`. Inside one encode, a value that
//! serializes an event enum to JSON by hand (`serde_json` in a custom
//! `Serialize`) gets the positional form there too; and `Enum::serialize` /
//! `Enum::deserialize` called as associated functions are the derived
//! shape, not the switch.
//!
//! [`Bincode`]: crate::parser::Bincode
//!
//! ```
//! use primus::parser::{Bincode, Parser};
//!
//! #[primus::event]
//! #[derive(Debug, PartialEq)]
//! enum Chat {
//!     Say(String),
//! }
//!
//! let parser: &dyn Parser = &Bincode;
//! let frame = parser.encode_value(&Chat::Say("hi".into())).unwrap();
//! // the marker, 0 (an event), "say" (length 3), "hi" (length 2)
//! assert_eq!(frame.as_bytes(), [0xFF, 0, 3, b's', b'a', b'y', 2, b'h', b'i']);
//! assert_eq!(parser.decode_value::<Chat>(&frame).unwrap(), Chat::Say("hi".into()));
//! ```

use serde::de::{Error as _, SeqAccess};

/// The first byte of every positional message (bincode starts no integer,
/// length, option or enum index with it).
pub const MARKER: u8 = 0xFF;
/// The tag of an event.
pub const EVENT: u8 = 0;
/// The tag of a request.
pub const REQUEST: u8 = 1;
/// The tag of a reply.
pub const REPLY: u8 = 2;
/// The tag of a failed reply.
pub const FAILED: u8 = 3;

/// The length given to `deserialize_tuple` when a positional message is
/// read: a bound on its elements (markers, tags, number, name, then one per
/// field), more than any event has. Reading past the bytes is an error
/// anyway.
pub const MAX_FIELDS: usize = 6 + u16::MAX as usize;

pub use crate::parser::positional::{active, within};

/// Reads the start of an event (or of a request: its tag and number are
/// skipped) and returns the event's name; the payload is next in `seq`.
///
/// ```
/// # use primus::parser::{Bincode, Parser};
/// # use serde::de::{Deserializer, SeqAccess, Visitor};
/// struct Name(String);
/// impl<'de> serde::Deserialize<'de> for Name {
///     fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
///         struct V;
///         impl<'de> Visitor<'de> for V {
///             type Value = Name;
///             fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { f.write_str("an event") }
///             fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Name, A::Error> {
///                 primus::event::positional::event_name(&mut seq).map(Name)
///             }
///         }
///         d.deserialize_tuple(primus::event::positional::MAX_FIELDS, V)
///     }
/// }
/// let frame = primus::Frame::binary(vec![0xFF, 0, 3, b's', b'a', b'y', 2, b'h', b'i']);
/// let parser: &dyn Parser = &Bincode;
/// assert_eq!(parser.decode_value::<Name>(&frame).unwrap().0, "say");
/// ```
pub fn event_name<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<String, A::Error> {
    let mut tag = read_tag(seq, 0)?;
    if tag == REQUEST {
        let _number: u64 = next(seq, 2)?;
        tag = read_tag(seq, 3)?;
    }
    if tag != EVENT {
        return Err(A::Error::custom("not a typed event"));
    }
    next(seq, 2)
}

/// Reads the marker and returns the tag after it.
pub fn read_tag<'de, A: SeqAccess<'de>>(seq: &mut A, index: usize) -> Result<u8, A::Error> {
    if next::<A, u8>(seq, index)? != MARKER {
        return Err(A::Error::custom("not a typed message"));
    }
    next(seq, index + 1)
}

/// The next element of `seq`, which must be there.
pub fn next<'de, A: SeqAccess<'de>, T: serde::Deserialize<'de>>(
    seq: &mut A,
    index: usize,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| A::Error::invalid_length(index, &"a typed message"))
}
