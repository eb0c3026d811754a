//! Encode once, also for the transports that wrap each message in a packet
//! of their own (engine.io's `4…`, SockJS' quoted string): a frame sent to
//! many sparks (a broadcast, marked by `Frame::shared`) carries a slot that
//! the first session to send it fills with the packet, and every other
//! session takes from. The packet lives as long as the frame: no eviction,
//! no lock shared between sessions, nothing kept for frames sent to one
//! spark.

use crate::wire::Frame;
use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};

/// Makes a transport's packets, once per frame.
pub(super) struct PacketMaker {
    encode: fn(&Frame) -> Option<Bytes>,
    encoded: AtomicU64,
}

impl std::fmt::Debug for PacketMaker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketMaker")
            .field("encoded", &self.encoded())
            .finish_non_exhaustive()
    }
}

impl PacketMaker {
    /// Makes packets with `encode` (`None`: the transport cannot
    /// carry the frame).
    pub(super) const fn new(encode: fn(&Frame) -> Option<Bytes>) -> PacketMaker {
        PacketMaker {
            encode,
            encoded: AtomicU64::new(0),
        }
    }

    /// The packet for `frame`: for a shared frame, the one made before by
    /// this transport, or a new one.
    pub(super) fn packet(&self, frame: &Frame) -> Option<Bytes> {
        match frame.packet_slot() {
            // The maker is known by its function: two transformers of the
            // same kind make the same packets.
            Some(slot) => slot.get_or_make(self.encode as usize, || self.encode(frame)),
            None => self.encode(frame),
        }
    }

    fn encode(&self, frame: &Frame) -> Option<Bytes> {
        self.encoded.fetch_add(1, Ordering::Relaxed);
        (self.encode)(frame)
    }

    /// How many packets were made, for tests and metrics.
    pub(super) fn encoded(&self) -> u64 {
        self.encoded.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(frame: &Frame) -> Option<Bytes> {
        let mut out = b"4".to_vec();
        out.extend_from_slice(frame.as_str()?.as_bytes());
        Some(Bytes::from(out))
    }

    fn quote(frame: &Frame) -> Option<Bytes> {
        serde_json::to_vec(frame.as_str()?).ok().map(Bytes::from)
    }

    #[test]
    fn a_shared_frame_is_wrapped_once_however_many_frames_come_between() {
        let maker = PacketMaker::new(wrap);
        let broadcasts: Vec<Frame> = (0..100)
            .map(|i| Frame::text(format!("\"broadcast {i}\"")).shared())
            .collect();
        // 1,000 recipients, each at its own point of the stream.
        for recipient in 0..1000 {
            for broadcast in broadcasts.iter().cycle().skip(recipient % 100).take(100) {
                let packet = maker.packet(&broadcast.clone()).unwrap();
                assert_eq!(&packet[1..], broadcast.as_bytes());
            }
        }
        assert_eq!(maker.encoded(), 100);
    }

    #[test]
    fn frames_for_one_spark_and_other_transports_are_wrapped_each_time() {
        let engine_io = PacketMaker::new(wrap);
        let echo = Frame::text("\"just for you\"");
        engine_io.packet(&echo);
        engine_io.packet(&echo);
        assert_eq!(engine_io.encoded(), 2);
        // A shared frame that reaches two transformers gets each one's packet.
        let sockjs = PacketMaker::new(quote);
        let broadcast = Frame::text("\"hi\"").shared();
        assert_eq!(engine_io.packet(&broadcast).unwrap(), "4\"hi\"");
        assert_eq!(sockjs.packet(&broadcast).unwrap(), "\"\\\"hi\\\"\"");
        assert_eq!(engine_io.packet(&broadcast).unwrap(), "4\"hi\"");
        assert_eq!(engine_io.encoded(), 3);
        assert_eq!(engine_io.packet(&Frame::binary(vec![1]).shared()), None);
    }
}
