//! The envelope: what one node publishes for the others, as bytes.
//!
//! A hand-written, length-prefixed binary layout (big-endian), so that the
//! frame the sender's parser produced travels as the last field, untouched,
//! and a receiver takes it as a slice of the received buffer without
//! decoding or copying it:
//!
//! ```text
//! "PR" version=2 kind  origin node id (16)  sequence (u64)  parser name (u8 len)
//! Deliver: target, payload kind (0 text, 1 binary, 2 JSON packet), payload (the rest)
//! End:     target, announce (0/1)
//! Query:   request id (u64), 0 = connected | 1 = members + room (str)
//!          | 2 = ask: target, timeout (u32 ms), the event as JSON (the rest)
//! Answer:  request id (u64), 0 = count (u64) | 1 = members (u32 n, n × str)
//!          | 2 = replies (u32 n, n × (spark id str, outcome))
//! outcome: 0 = text reply | 1 = binary reply (u32 len + the frame),
//!          2 = timed out, 3 = closed, 4 = refused | 5 = failed (long str)
//! long str: u32 length + UTF-8
//! target:  rooms (u16 n, n × str), flags (u8: 1 = one spark, then its id
//!          as str; 2 = volatile), except (u16 n, n × str),
//!          except rooms (u16 n, n × str)
//! str:     u16 length + UTF-8
//! ```
//!
//! Reading checks every length against what is left, so a truncated or
//! hostile envelope is an [`EnvelopeError`], never a panic or an
//! allocation it did not carry the bytes for.

use crate::cluster::Target;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::sync::Arc;

const MAGIC: &[u8; 2] = b"PR";
/// 2: the target's flags byte carries `volatile` (version 1 had a 0/1
/// spark byte there), and excluded rooms follow the excluded sparks; nodes of different versions refuse each other's
/// envelopes (counted as malformed), so upgrade a cluster all at once.
const VERSION: u8 = 2;

/// A node's id: 16 random bytes, written as 32 hex digits in channel and
/// key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodeId(pub(crate) [u8; 16]);

impl NodeId {
    pub(crate) fn random() -> NodeId {
        NodeId(rand::random())
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// What the payload of a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PayloadKind {
    /// A text frame of the parser.
    Text,
    /// A binary frame of the parser.
    Binary,
    /// A value as JSON, to go through the receivers' outgoing transforms.
    Packet,
}

/// A cluster-wide question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Question {
    Connected,
    Members(String),
    /// Send the event (JSON) as a request to the sparks `target` names,
    /// waiting at most `timeout_ms` for their replies.
    Ask {
        target: Target,
        timeout_ms: u32,
        event: Bytes,
    },
}

/// One node's answer to a [`Question`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    Count(u64),
    Members(Vec<Arc<str>>),
    /// Per spark asked: what it answered to [`Question::Ask`].
    Replies(Vec<(Arc<str>, Outcome)>),
}

/// What one spark did with a request asked on another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Its reply, as the parser's frame (binary or text).
    Replied {
        binary: bool,
        frame: Bytes,
    },
    TimedOut,
    Closed,
    /// The client answered with an error: its text.
    Refused(String),
    /// The request could not be sent or its reply read: why.
    Failed(String),
}

/// What an envelope asks the receiving nodes to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Deliver {
        target: Target,
        kind: PayloadKind,
        payload: Bytes,
    },
    End {
        target: Target,
        announce: bool,
    },
    Query {
        request: u64,
        question: Question,
    },
    Answer {
        request: u64,
        reply: Reply,
    },
}

/// One message between nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub(crate) origin: NodeId,
    /// Counts up per origin from 1: a receiver that sees a jump knows
    /// messages were lost (published while it was cut off).
    pub(crate) sequence: u64,
    pub(crate) parser: String,
    pub(crate) body: Body,
}

/// Why a received envelope was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum EnvelopeError {
    #[error("not a primus-rs cluster envelope (bad magic bytes)")]
    Magic,
    #[error("envelope version {0} is not supported (this node reads version 1)")]
    Version(u8),
    #[error("unknown envelope kind {0}")]
    Kind(u8),
    #[error("truncated envelope: {0} is cut short")]
    Truncated(&'static str),
    #[error("envelope field {0} is not valid UTF-8")]
    Utf8(&'static str),
    #[error("unknown {0} tag {1}")]
    Tag(&'static str, u8),
    #[error("{0} trailing bytes after the envelope")]
    Trailing(usize),
}

impl Envelope {
    /// The envelope as bytes, with the payload copied in once.
    pub(crate) fn encode(&self) -> Bytes {
        let payload_len = match &self.body {
            Body::Deliver { payload, .. } => payload.len(),
            Body::Query {
                question: Question::Ask { event, .. },
                ..
            } => event.len(),
            _ => 0,
        };
        let mut out = BytesMut::with_capacity(64 + self.parser.len() + payload_len);
        out.put_slice(MAGIC);
        out.put_u8(VERSION);
        out.put_u8(match self.body {
            Body::Deliver { .. } => 1,
            Body::End { .. } => 2,
            Body::Query { .. } => 3,
            Body::Answer { .. } => 4,
        });
        out.put_slice(&self.origin.0);
        out.put_u64(self.sequence);
        let parser = &self.parser.as_bytes()[..self.parser.len().min(255)];
        out.put_u8(parser.len() as u8);
        out.put_slice(parser);
        match &self.body {
            Body::Deliver {
                target,
                kind,
                payload,
            } => {
                put_target(&mut out, target);
                out.put_u8(match kind {
                    PayloadKind::Text => 0,
                    PayloadKind::Binary => 1,
                    PayloadKind::Packet => 2,
                });
                out.put_slice(payload);
            }
            Body::End { target, announce } => {
                put_target(&mut out, target);
                out.put_u8(u8::from(*announce));
            }
            Body::Query { request, question } => {
                out.put_u64(*request);
                match question {
                    Question::Connected => out.put_u8(0),
                    Question::Members(room) => {
                        out.put_u8(1);
                        put_str(&mut out, room);
                    }
                    Question::Ask {
                        target,
                        timeout_ms,
                        event,
                    } => {
                        out.put_u8(2);
                        put_target(&mut out, target);
                        out.put_u32(*timeout_ms);
                        out.put_slice(event);
                    }
                }
            }
            Body::Answer { request, reply } => {
                out.put_u64(*request);
                match reply {
                    Reply::Count(count) => {
                        out.put_u8(0);
                        out.put_u64(*count);
                    }
                    Reply::Members(ids) => {
                        out.put_u8(1);
                        out.put_u32(ids.len() as u32);
                        for id in ids {
                            put_str(&mut out, id);
                        }
                    }
                    Reply::Replies(replies) => {
                        out.put_u8(2);
                        out.put_u32(replies.len() as u32);
                        for (id, outcome) in replies {
                            put_str(&mut out, id);
                            put_outcome(&mut out, outcome);
                        }
                    }
                }
            }
        }
        out.freeze()
    }

    /// Reads an envelope; the payload of a delivery is a slice of `bytes`.
    pub(crate) fn decode(bytes: Bytes) -> Result<Envelope, EnvelopeError> {
        let mut reader = Reader { bytes };
        if reader.take(2, "magic")?.as_ref() != MAGIC {
            return Err(EnvelopeError::Magic);
        }
        let version = reader.u8("version")?;
        if version != VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let kind = reader.u8("kind")?;
        let mut origin = [0; 16];
        origin.copy_from_slice(&reader.take(16, "origin")?);
        let sequence = reader.u64("sequence")?;
        let parser_len = reader.u8("parser name")? as usize;
        let parser = reader.utf8(parser_len, "parser name")?;
        let body = match kind {
            1 => {
                let target = reader.target()?;
                let kind = match reader.u8("payload kind")? {
                    0 => PayloadKind::Text,
                    1 => PayloadKind::Binary,
                    2 => PayloadKind::Packet,
                    tag => return Err(EnvelopeError::Tag("payload kind", tag)),
                };
                let payload = std::mem::take(&mut reader.bytes);
                Body::Deliver {
                    target,
                    kind,
                    payload,
                }
            }
            2 => {
                let target = reader.target()?;
                let announce = reader.u8("announce")? != 0;
                Body::End { target, announce }
            }
            3 => {
                let request = reader.u64("request id")?;
                let question = match reader.u8("question")? {
                    0 => Question::Connected,
                    1 => Question::Members(reader.str("room")?),
                    2 => Question::Ask {
                        target: reader.target()?,
                        timeout_ms: reader.u32("timeout")?,
                        event: std::mem::take(&mut reader.bytes),
                    },
                    tag => return Err(EnvelopeError::Tag("question", tag)),
                };
                Body::Query { request, question }
            }
            4 => {
                let request = reader.u64("request id")?;
                let reply = match reader.u8("answer")? {
                    0 => Reply::Count(reader.u64("count")?),
                    // A member takes at least its 2 length bytes.
                    1 => Reply::Members(reader.list("members", 2, |r| Ok(Arc::from(r.str("member")?)))?),
                    // A reply takes at least its id's length and a tag.
                    2 => Reply::Replies(reader.list("replies", 3, |r| {
                        let id = Arc::from(r.str("replying spark")?);
                        Ok((id, r.outcome()?))
                    })?),
                    tag => return Err(EnvelopeError::Tag("answer", tag)),
                };
                Body::Answer { request, reply }
            }
            other => return Err(EnvelopeError::Kind(other)),
        };
        if !reader.bytes.is_empty() {
            return Err(EnvelopeError::Trailing(reader.bytes.len()));
        }
        Ok(Envelope {
            origin: NodeId(origin),
            sequence,
            parser,
            body,
        })
    }
}

fn put_str(out: &mut BytesMut, text: &str) {
    // Room names and spark ids are short; a longer one is cut at a char
    // boundary rather than written with a wrong length.
    let mut end = text.len().min(u16::MAX as usize);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.put_u16(end as u16);
    out.put_slice(&text.as_bytes()[..end]);
}

fn put_long_str(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u32(bytes.len().min(u32::MAX as usize) as u32);
    out.put_slice(&bytes[..bytes.len().min(u32::MAX as usize)]);
}

fn put_outcome(out: &mut BytesMut, outcome: &Outcome) {
    match outcome {
        Outcome::Replied { binary, frame } => {
            out.put_u8(u8::from(*binary));
            put_long_str(out, frame);
        }
        Outcome::TimedOut => out.put_u8(2),
        Outcome::Closed => out.put_u8(3),
        Outcome::Refused(reason) => {
            out.put_u8(4);
            put_long_str(out, reason.as_bytes());
        }
        Outcome::Failed(reason) => {
            out.put_u8(5);
            put_long_str(out, reason.as_bytes());
        }
    }
}

fn put_target(out: &mut BytesMut, target: &Target) {
    out.put_u16(target.rooms().len().min(u16::MAX as usize) as u16);
    for room in target.rooms().iter().take(u16::MAX as usize) {
        put_str(out, room);
    }
    let volatile = if target.is_volatile() { 2 } else { 0 };
    match target.spark_id() {
        Some(id) => {
            out.put_u8(1 | volatile);
            put_str(out, id);
        }
        None => out.put_u8(volatile),
    }
    out.put_u16(target.excluded().len().min(u16::MAX as usize) as u16);
    for id in target.excluded().iter().take(u16::MAX as usize) {
        put_str(out, id);
    }
    out.put_u16(target.excluded_rooms().len().min(u16::MAX as usize) as u16);
    for room in target.excluded_rooms().iter().take(u16::MAX as usize) {
        put_str(out, room);
    }
}

struct Reader {
    bytes: Bytes,
}

impl Reader {
    fn take(&mut self, len: usize, field: &'static str) -> Result<Bytes, EnvelopeError> {
        if self.bytes.len() < len {
            return Err(EnvelopeError::Truncated(field));
        }
        Ok(self.bytes.split_to(len))
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, EnvelopeError> {
        Ok(self.take(1, field)?.get_u8())
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, EnvelopeError> {
        Ok(self.take(2, field)?.get_u16())
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, EnvelopeError> {
        Ok(self.take(4, field)?.get_u32())
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, EnvelopeError> {
        Ok(self.take(8, field)?.get_u64())
    }

    fn utf8(&mut self, len: usize, field: &'static str) -> Result<String, EnvelopeError> {
        let bytes = self.take(len, field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| EnvelopeError::Utf8(field))
    }

    fn str(&mut self, field: &'static str) -> Result<String, EnvelopeError> {
        let len = self.u16(field)? as usize;
        self.utf8(len, field)
    }

    /// A `u32` count, then that many items read by `item`; a count that the
    /// bytes left cannot hold (each item takes at least `least` bytes) is
    /// refused before anything is allocated.
    fn list<T>(
        &mut self,
        field: &'static str,
        least: usize,
        mut item: impl FnMut(&mut Reader) -> Result<T, EnvelopeError>,
    ) -> Result<Vec<T>, EnvelopeError> {
        let count = self.u32(field)? as usize;
        if count > self.bytes.len() / least {
            return Err(EnvelopeError::Truncated(field));
        }
        let mut items = Vec::with_capacity(count);
        for _ in 0..count {
            items.push(item(self)?);
        }
        Ok(items)
    }

    fn long(&mut self, field: &'static str) -> Result<Bytes, EnvelopeError> {
        let len = self.u32(field)? as usize;
        self.take(len, field)
    }

    fn outcome(&mut self) -> Result<Outcome, EnvelopeError> {
        let text =
            |bytes: Bytes| String::from_utf8(bytes.to_vec()).map_err(|_| EnvelopeError::Utf8("reason"));
        Ok(match self.u8("outcome")? {
            tag @ (0 | 1) => Outcome::Replied {
                binary: tag == 1,
                frame: self.long("reply")?,
            },
            2 => Outcome::TimedOut,
            3 => Outcome::Closed,
            4 => Outcome::Refused(text(self.long("reason")?)?),
            5 => Outcome::Failed(text(self.long("reason")?)?),
            tag => return Err(EnvelopeError::Tag("outcome", tag)),
        })
    }

    fn target(&mut self) -> Result<Target, EnvelopeError> {
        let mut target = Target::all();
        for _ in 0..self.u16("rooms")? {
            target = target.and_room(self.str("room")?);
        }
        let flags = self.u8("target flags")?;
        if flags & !3 != 0 {
            return Err(EnvelopeError::Tag("target flags", flags));
        }
        if flags & 1 != 0 {
            let id = self.str("spark id")?;
            target = Target {
                spark: Some(Arc::from(id)),
                ..target
            };
        }
        if flags & 2 != 0 {
            target = target.volatile();
        }
        for _ in 0..self.u16("except")? {
            target = target.except(self.str("excluded id")?);
        }
        for _ in 0..self.u16("except rooms")? {
            target = target.except_room(self.str("excluded room")?);
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeId {
        NodeId([7; 16])
    }

    fn round_trip(body: Body) {
        let envelope = Envelope {
            origin: node(),
            sequence: 42,
            parser: "json".to_owned(),
            body,
        };
        let decoded = Envelope::decode(envelope.encode()).expect("decodes");
        assert_eq!(decoded, envelope);
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        round_trip(Body::Deliver {
            target: Target::room("lobby")
                .and_room("games")
                .except("a")
                .except("b")
                .except_room("muted"),
            kind: PayloadKind::Text,
            payload: Bytes::from_static(b"\"hello\""),
        });
        round_trip(Body::Deliver {
            target: Target::spark("spark-1").volatile(),
            kind: PayloadKind::Binary,
            payload: Bytes::from_static(&[0, 1, 2, 255]),
        });
        round_trip(Body::End {
            target: Target::all().except("x"),
            announce: true,
        });
        round_trip(Body::Query {
            request: 9,
            question: Question::Members("lobby".into()),
        });
        round_trip(Body::Query {
            request: 10,
            question: Question::Connected,
        });
        round_trip(Body::Answer {
            request: 9,
            reply: Reply::Members(vec![Arc::from("a"), Arc::from("b")]),
        });
        round_trip(Body::Answer {
            request: 10,
            reply: Reply::Count(12_345),
        });
        round_trip(Body::Query {
            request: 11,
            question: Question::Ask {
                target: Target::room("lobby").except("me"),
                timeout_ms: 5_000,
                event: Bytes::from_static(br#"{"event":"ready"}"#),
            },
        });
        round_trip(Body::Answer {
            request: 11,
            reply: Reply::Replies(vec![
                (
                    Arc::from("a"),
                    Outcome::Replied {
                        binary: false,
                        frame: Bytes::from_static(br#"{"reply":3,"data":true}"#),
                    },
                ),
                (
                    Arc::from("b"),
                    Outcome::Replied {
                        binary: true,
                        frame: Bytes::from_static(&[0x82, 1, 2]),
                    },
                ),
                (Arc::from("c"), Outcome::TimedOut),
                (Arc::from("d"), Outcome::Closed),
                (Arc::from("e"), Outcome::Refused("no".into())),
                (Arc::from("f"), Outcome::Failed("could not encode".into())),
            ]),
        });
    }

    #[test]
    fn replies_are_checked_like_everything_else() {
        let bytes = Envelope {
            origin: node(),
            sequence: 3,
            parser: "json".to_owned(),
            body: Body::Answer {
                request: 1,
                reply: Reply::Replies(vec![(Arc::from("a"), Outcome::Refused("no".into()))]),
            },
        }
        .encode();
        for len in 0..bytes.len() {
            assert!(
                Envelope::decode(bytes.slice(..len)).is_err(),
                "prefix of {len} bytes"
            );
        }
        // A reply count far beyond the bytes carried is refused before allocating.
        let mut huge = bytes.to_vec();
        let count_at = huge.len() - (4 + 2 + 1 + 1 + 4 + 2);
        huge[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Envelope::decode(huge.into()),
            Err(EnvelopeError::Truncated("replies"))
        );
        // An unknown outcome tag.
        let mut unknown = bytes.to_vec();
        let tag_at = unknown.len() - (1 + 4 + 2);
        unknown[tag_at] = 9;
        assert_eq!(
            Envelope::decode(unknown.into()),
            Err(EnvelopeError::Tag("outcome", 9))
        );
    }

    #[test]
    fn the_payload_is_the_tail_of_the_received_buffer() {
        let envelope = Envelope {
            origin: node(),
            sequence: 1,
            parser: "json".to_owned(),
            body: Body::Deliver {
                target: Target::all(),
                kind: PayloadKind::Text,
                payload: Bytes::from_static(b"[1,2,3]"),
            },
        };
        let bytes = envelope.encode();
        let start = bytes.as_ptr() as usize;
        let Body::Deliver { payload, .. } = Envelope::decode(bytes.clone()).unwrap().body else {
            panic!("a delivery")
        };
        assert_eq!(payload.as_ptr() as usize, start + bytes.len() - 7, "not copied");
    }

    #[test]
    fn every_truncation_and_garbage_is_an_error_not_a_panic() {
        let bytes = Envelope {
            origin: node(),
            sequence: 3,
            parser: "json".to_owned(),
            body: Body::Answer {
                request: 1,
                reply: Reply::Members(vec![Arc::from("abc")]),
            },
        }
        .encode();
        for len in 0..bytes.len() {
            assert!(
                Envelope::decode(bytes.slice(..len)).is_err(),
                "prefix of {len} bytes"
            );
        }
        assert_eq!(
            Envelope::decode(Bytes::from_static(b"hello")),
            Err(EnvelopeError::Magic)
        );
        for other in [1, 3] {
            let mut other_version = bytes.to_vec();
            other_version[2] = other;
            assert_eq!(
                Envelope::decode(other_version.into()),
                Err(EnvelopeError::Version(other))
            );
        }
        let mut trailing = bytes.to_vec();
        trailing.push(0);
        assert_eq!(Envelope::decode(trailing.into()), Err(EnvelopeError::Trailing(1)));
        // A member count far beyond the bytes carried is refused before allocating.
        let mut huge = bytes.to_vec();
        let count_at = huge.len() - (4 + 2 + 3);
        huge[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert_eq!(
            Envelope::decode(huge.into()),
            Err(EnvelopeError::Truncated("members"))
        );
    }
}
