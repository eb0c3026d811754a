//! One item of a spark's outbound queue, and the one place values are
//! encoded for the way out.

use crate::message::transform::Packet;
use crate::parser::{Parser, ParserError};
use crate::wire::Frame;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A message on its way to one or more sparks.
///
/// Encoded **once**: a broadcast makes one `Outbound` and queues a clone of
/// it (a reference-counted frame) for every target. While outgoing
/// transforms are active, each spark must transform the value itself, so
/// the value travels as a [`Packet`] and is encoded per spark in its
/// connection task.
///
/// ```
/// use primus::parser::{Json, Parser};
/// use primus::spark::Outbound;
///
/// let parser: &dyn Parser = &Json;
/// let outbound = Outbound::encode(&vec![1, 2], parser, false).unwrap();
/// assert!(matches!(outbound, Outbound::Frame(ref frame) if frame.as_str() == Some("[1,2]")));
/// let for_transforms = Outbound::encode(&vec![1, 2], parser, true).unwrap();
/// assert!(matches!(for_transforms, Outbound::Packet(_)));
/// ```
#[derive(Debug, Clone)]
pub enum Outbound {
    /// Ready to send.
    Frame(Frame),
    /// Goes through the outgoing transforms first, then is encoded.
    Packet(Packet),
}

impl Outbound {
    /// Encodes `value` once: as a frame with `parser`, or as a JSON value
    /// when `per_spark` (outgoing transforms are active) and the parser is
    /// [self-describing](Parser::self_describing). A bincode value is
    /// always encoded as it is: a JSON value of it would lose its shape.
    pub fn encode<T: Serialize + ?Sized>(
        value: &T,
        parser: &dyn Parser,
        per_spark: bool,
    ) -> Result<Outbound, ParserError> {
        match per_spark && parser.self_describing() {
            true => serde_json::to_value(value)
                .map(|data| Outbound::Packet(Packet { data }))
                .map_err(ParserError::encode),
            false => parser.encode_value(value).map(Outbound::Frame),
        }
    }
}

impl Outbound {
    /// What the item counts against a spark's outbound byte budget: a
    /// frame's length, or an estimate of a packet's encoded length.
    ///
    /// ```
    /// use primus::spark::Outbound;
    ///
    /// assert_eq!(Outbound::Frame(primus::Frame::text("\"hello\"")).weight(), 7);
    /// ```
    pub fn weight(&self) -> usize {
        match self {
            Outbound::Frame(frame) => frame.len(),
            Outbound::Packet(packet) => estimate_json_len(&packet.data),
        }
    }
}

/// About the length of `value` encoded as JSON (exact for plain ASCII
/// strings, numbers aside), without encoding it.
fn estimate_json_len(value: &serde_json::Value) -> usize {
    use serde_json::Value;
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 20,
        Value::String(text) => text.len() + 2,
        Value::Array(items) => {
            2 + items
                .iter()
                .map(|item| estimate_json_len(item) + 1)
                .sum::<usize>()
        }
        Value::Object(members) => {
            2 + members
                .iter()
                .map(|(key, item)| key.len() + 4 + estimate_json_len(item))
                .sum::<usize>()
        }
    }
}

/// Whether values must reach each spark's outgoing transforms (then
/// [`Outbound::encode`] keeps them as packets). One flag for all the sparks
/// of a server, set when transforms are added or removed, read on every
/// write (an atomic load).
#[derive(Debug, Clone, Default)]
pub(crate) struct PerSparkEncoding(Arc<AtomicBool>);

impl PerSparkEncoding {
    /// True while outgoing transforms are active.
    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Records whether outgoing transforms are active.
    pub(crate) fn set(&self, per_spark: bool) {
        self.0.store(per_spark, Ordering::Release);
    }
}
