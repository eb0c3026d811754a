//! A JSON parser that counts encodes, to check that a broadcast encodes once.

use primus::parser::{Inspection, Json, Parser, ParserError};
use primus::Frame;
use std::sync::atomic::{AtomicU64, Ordering};

static ENCODES: AtomicU64 = AtomicU64::new(0);

/// Encodes done by [`CountingJson`] so far.
pub fn encodes() -> u64 {
    ENCODES.load(Ordering::Relaxed)
}

/// Primus' JSON parser ([`Json`]) plus a counter of `encode` calls. Only used
/// with `--count-encodes` (the broadcast scenario), so echo runs measure the
/// plain parser.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingJson;

impl Parser for CountingJson {
    fn name(&self) -> &'static str {
        Json.name()
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        ENCODES.fetch_add(1, Ordering::Relaxed);
        Json.encode(value)
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        Json.decode(frame, visit)
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        Json.inspect(frame)
    }
}
