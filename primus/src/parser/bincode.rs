//! The bincode parser: binary frames for Rust-to-Rust traffic.

use super::positional;
use super::{Inspection, Parser, ParserError};
use crate::wire::protocol;
use crate::wire::Frame;

/// bincode 2 (standard configuration: little endian, variable-length
/// integers) in binary frames.
///
/// bincode is not self-describing, so an incoming frame cannot be checked
/// before the receiver decodes it into a known type: untyped `data` handlers
/// get the frame as it came, and a bad frame surfaces as an error from the
/// typed decode, and trailing bytes after a value are not detected. Typed
/// events, requests and replies take their
/// [positional form](crate::event::positional) while this parser works.
/// One decode claims at most 64 MiB (bincode trusts the lengths it reads:
/// a frame claiming a longer string or collection fails to decode instead
/// of allocating what it claims). Control messages are bincode-encoded strings; a data frame
/// that happens to be exactly a bincode string starting with `primus::` is
/// treated as one, the same collision Primus has with JSON strings.
///
/// ```
/// use primus::parser::{Bincode, Parser};
///
/// let parser: &dyn Parser = &Bincode;
/// let frame = parser.encode_value(&(7u8, "hi")).unwrap();
/// assert!(frame.is_binary());
/// assert_eq!(parser.decode_value::<(u8, String)>(&frame).unwrap(), (7, "hi".to_owned()));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Bincode;

/// The most bytes one decode may claim (what it reads and what it sets
/// aside for strings and collections): bincode trusts the lengths it reads,
/// so without a limit a hostile 10-byte frame claiming a 2^64-byte string
/// would make it allocate that much. Generous for any one message; a larger
/// value fails to decode.
const DECODE_LIMIT: usize = 64 * 1024 * 1024;

fn config() -> bincode::config::Configuration {
    bincode::config::standard()
}

fn decode_config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<DECODE_LIMIT>,
> {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

impl Parser for Bincode {
    fn self_describing(&self) -> bool {
        false
    }

    fn name(&self) -> &'static str {
        "bincode"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        // Typed messages take their positional form (see `positional`).
        positional::within(|| bincode::serde::encode_to_vec(value, config()))
            .map(Frame::binary)
            .map_err(ParserError::encode)
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(
                "text frame: the bincode parser expects binary frames",
            ));
        }
        let bytes = frame.as_bytes();
        let mut decoder = bincode::serde::BorrowedSerdeDecoder::from_slice(bytes, decode_config(), ());
        let deserializer = decoder.as_deserializer();
        positional::within(|| visit(&mut <dyn erased_serde::Deserializer>::erase(deserializer)))
            .map_err(ParserError::decode)?;
        // bincode does not report how much it consumed through serde, so
        // trailing bytes after a value are not detected (documented above).
        Ok(())
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(
                "text frame: the bincode parser expects binary frames",
            ));
        }
        let bytes = frame.as_bytes();
        if let Ok((text, used)) = bincode::serde::decode_from_slice::<String, _>(bytes, decode_config()) {
            if used == bytes.len() && text.starts_with(protocol::PREFIX) {
                return Ok(Inspection::Control(text));
            }
        }
        Ok(Inspection::Data)
    }
}
