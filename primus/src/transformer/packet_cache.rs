//! Encode once, also for the transports that wrap each message in a packet
//! of their own (engine.io's `4…`, SockJS' quoted string): the packets made
//! for the last few frames are kept, so a broadcast (one frame, shared by
//! every recipient) is wrapped once, not once per recipient.
//!
//! A frame is known by its bytes' address and length. The cache keeps a
//! clone of each frame it holds, so the allocation stays alive and its
//! address cannot be reused by another frame while the entry exists: equal
//! address, length and kind mean the same bytes.

use crate::lock;
use crate::wire::Frame;
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Frames remembered (the most recent first).
const ENTRIES: usize = 8;

/// Larger frames are wrapped each time: keeping them would hold too much
/// memory for too little gain.
const MAX_CACHED: usize = 64 * 1024;

/// The packets of the last frames a transport wrapped.
pub(super) struct PacketCache {
    encode: fn(&Frame) -> Option<Bytes>,
    entries: Mutex<VecDeque<(Frame, Bytes)>>,
    encoded: AtomicU64,
}

impl std::fmt::Debug for PacketCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketCache")
            .field("encoded", &self.encoded())
            .finish_non_exhaustive()
    }
}

impl PacketCache {
    /// A cache for packets made by `encode` (`None`: the transport cannot
    /// carry the frame).
    pub(super) fn new(encode: fn(&Frame) -> Option<Bytes>) -> PacketCache {
        PacketCache {
            encode,
            entries: Mutex::new(VecDeque::with_capacity(ENTRIES)),
            encoded: AtomicU64::new(0),
        }
    }

    /// The packet for `frame`: the one made before for the same frame, or
    /// a new one.
    pub(super) fn packet(&self, frame: &Frame) -> Option<Bytes> {
        if frame.len() > MAX_CACHED {
            return self.encode(frame);
        }
        let same = |(known, _): &(Frame, Bytes)| {
            known.as_bytes().as_ptr() == frame.as_bytes().as_ptr()
                && known.len() == frame.len()
                && known.kind() == frame.kind()
        };
        if let Some((_, packet)) = lock::lock(&self.entries).iter().find(|entry| same(entry)) {
            return Some(packet.clone());
        }
        let packet = self.encode(frame)?;
        let mut entries = lock::lock(&self.entries);
        entries.push_front((frame.clone(), packet.clone()));
        entries.truncate(ENTRIES);
        Some(packet)
    }

    fn encode(&self, frame: &Frame) -> Option<Bytes> {
        self.encoded.fetch_add(1, Ordering::Relaxed);
        (self.encode)(frame)
    }

    /// How many packets were made (cache misses), for tests and metrics.
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

    #[test]
    fn a_shared_frame_is_wrapped_once() {
        let cache = PacketCache::new(wrap);
        let broadcast = Frame::text("\"to everyone\"");
        for _ in 0..1000 {
            assert_eq!(cache.packet(&broadcast.clone()).unwrap(), "4\"to everyone\"");
        }
        assert_eq!(cache.encoded(), 1);
        // Equal bytes in another frame are another frame (wrapped again,
        // with the same result).
        let echo = Frame::text("\"to everyone\"");
        assert_eq!(cache.packet(&echo).unwrap(), "4\"to everyone\"");
        assert_eq!(cache.encoded(), 2);
    }

    #[test]
    fn old_and_large_frames_are_wrapped_again() {
        let cache = PacketCache::new(wrap);
        let first = Frame::text("\"first\"");
        cache.packet(&first);
        for i in 0..ENTRIES {
            cache.packet(&Frame::text(format!("{i}")));
        }
        cache.packet(&first);
        assert_eq!(cache.encoded(), ENTRIES as u64 + 2);
        let large = Frame::text("x".repeat(MAX_CACHED + 1));
        cache.packet(&large);
        cache.packet(&large);
        assert_eq!(cache.encoded(), ENTRIES as u64 + 4);
        assert_eq!(cache.packet(&Frame::binary(vec![1])), None);
    }
}
