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
//! | event | `0`, the event name, the payload |
//! | request | `1`, the request number (`u64`), then the event as above |
//! | reply | `2`, the request number, the reply |
//! | failed reply | `3`, the request number, the reason (text) |
//!
//! The payload of a tuple or struct variant is the tuple of its fields, in
//! declaration order; of a unit variant, nothing. The event enums of
//! `#[primus::event]` and the envelope types of this crate check
//! [`active`] in their `Serialize`/`Deserialize` implementations; the
//! parser switches it on for the length of one encode or decode (on the
//! thread doing it: serde never moves to another thread meanwhile).
//!
//! A plain value written with bincode that happens to start like one of
//! these (a `0` byte and the name of a registered event, say) is read as
//! that typed message; the same kind of collision JSON has with an object
//! that spells `{"event":…}`.
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
//! // 0 (an event), "say" (length 3), "hi" (length 2)
//! assert_eq!(frame.as_bytes(), [0, 3, b's', b'a', b'y', 2, b'h', b'i']);
//! assert_eq!(parser.decode_value::<Chat>(&frame).unwrap(), Chat::Say("hi".into()));
//! ```

use serde::de::{Error as _, SeqAccess};

/// The tag of an event.
pub const EVENT: u8 = 0;
/// The tag of a request.
pub const REQUEST: u8 = 1;
/// The tag of a reply.
pub const REPLY: u8 = 2;
/// The tag of a failed reply.
pub const FAILED: u8 = 3;

/// The length given to `deserialize_tuple` when a positional message is
/// read: a bound on its elements (tags, number, name, then one per field),
/// more than any event has. Reading past the bytes is an error anyway.
pub const MAX_FIELDS: usize = 4 + u16::MAX as usize;

pub use crate::parser::positional::active;

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
/// let frame = primus::Frame::binary(vec![0, 3, b's', b'a', b'y', 2, b'h', b'i']);
/// let parser: &dyn Parser = &Bincode;
/// assert_eq!(parser.decode_value::<Name>(&frame).unwrap().0, "say");
/// ```
pub fn event_name<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<String, A::Error> {
    let mut tag: u8 = next(seq, 0)?;
    if tag == REQUEST {
        let _number: u64 = next(seq, 1)?;
        tag = next(seq, 2)?;
    }
    if tag != EVENT {
        return Err(A::Error::custom("not a typed event"));
    }
    next(seq, 1)
}

/// The next element of `seq`, which must be there.
pub fn next<'de, A: SeqAccess<'de>, T: serde::Deserialize<'de>>(
    seq: &mut A,
    index: usize,
) -> Result<T, A::Error> {
    seq.next_element()?
        .ok_or_else(|| A::Error::invalid_length(index, &"a typed message"))
}
