//! Frames: one Primus message as it travels on a transport.
//!
//! Primus maps one message to exactly one transport message. A [`Frame`] is that
//! transport message: either text (always valid UTF-8) or binary. Frames are
//! cheap to clone (the bytes are reference counted), which is what lets a
//! broadcast encode a value once and hand the same frame to every connection.
//! A broadcast frame also carries a [`PacketSlot`], so a transport that wraps
//! each message in a packet of its own (engine.io, SockJS) wraps it once for
//! all its recipients, too.

use bytes::Bytes;
use std::sync::{Arc, OnceLock};

/// Whether a [`Frame`] travels as a text or a binary transport message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A text message; the payload is valid UTF-8 (the JSON parser uses these).
    Text,
    /// A binary message (the bincode parser uses these).
    Binary,
}

/// One encoded Primus message.
///
/// ```
/// use primus::{Frame, FrameKind};
///
/// let frame = Frame::text("\"hello\"");
/// assert_eq!(frame.kind(), FrameKind::Text);
/// assert_eq!(frame.as_str(), Some("\"hello\""));
/// assert_eq!(Frame::binary(vec![1, 2, 3]).as_bytes(), &[1, 2, 3]);
/// ```
#[derive(Clone)]
pub struct Frame {
    kind: FrameKind,
    // Invariant: when `kind` is `Text`, `bytes` is valid UTF-8.
    bytes: Bytes,
    /// Set on frames sent to many sparks ([`Frame::shared`]).
    slot: Option<Arc<PacketSlot>>,
}

/// Two frames are equal when their kind and bytes are: the packet slot is
/// a cache, not part of the value.
impl PartialEq for Frame {
    fn eq(&self, other: &Frame) -> bool {
        self.kind == other.kind && self.bytes == other.bytes
    }
}

impl Eq for Frame {}

impl std::hash::Hash for Frame {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.bytes.hash(state);
    }
}

/// The packet a transport made for a shared frame: made by the first
/// recipient's session, reused by every other one, freed with the frame.
#[derive(Default)]
// Only transports (feature `server`) make packets.
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct PacketSlot {
    /// Which packet maker made it (a frame could reach two servers with
    /// different transformers), and the packet (`None`: the transport
    /// cannot carry the frame).
    made: OnceLock<(usize, Option<Bytes>)>,
}

impl PacketSlot {
    /// The packet `maker` (identified by `maker_id`) made for this frame:
    /// made now if it is the first to ask; made again without keeping it if
    /// another maker filled the slot.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn get_or_make(&self, maker_id: usize, make: impl Fn() -> Option<Bytes>) -> Option<Bytes> {
        let (made_by, packet) = self.made.get_or_init(|| (maker_id, make()));
        if *made_by == maker_id {
            packet.clone()
        } else {
            make()
        }
    }
}

impl Frame {
    /// A text frame. Taking a `String` moves its buffer without copying.
    pub fn text(text: impl Into<String>) -> Frame {
        Frame {
            kind: FrameKind::Text,
            bytes: Bytes::from(text.into()),
            slot: None,
        }
    }

    /// A text frame from bytes, if they are valid UTF-8.
    ///
    /// ```
    /// use primus::Frame;
    /// assert!(Frame::text_from_bytes(bytes::Bytes::from_static(b"42")).is_ok());
    /// assert!(Frame::text_from_bytes(bytes::Bytes::from_static(&[0xff])).is_err());
    /// ```
    pub fn text_from_bytes(bytes: Bytes) -> Result<Frame, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Frame {
            kind: FrameKind::Text,
            bytes,
            slot: None,
        })
    }

    /// A text frame from bytes a transport already checked to be UTF-8.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn text_trusted(bytes: Bytes) -> Frame {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Frame {
            kind: FrameKind::Text,
            bytes,
            slot: None,
        }
    }

    /// A binary frame.
    pub fn binary(bytes: impl Into<Bytes>) -> Frame {
        Frame {
            kind: FrameKind::Binary,
            bytes: bytes.into(),
            slot: None,
        }
    }

    /// Text or binary.
    pub fn kind(&self) -> FrameKind {
        self.kind
    }

    /// True for a binary frame.
    pub fn is_binary(&self) -> bool {
        self.kind == FrameKind::Binary
    }

    /// The payload bytes (for text frames, the UTF-8 bytes).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The payload as text, for text frames.
    pub fn as_str(&self) -> Option<&str> {
        match self.kind {
            // The invariant makes this check always succeed for text frames;
            // it is kept safe rather than unchecked.
            FrameKind::Text => std::str::from_utf8(&self.bytes).ok(),
            FrameKind::Binary => None,
        }
    }

    /// The payload as shared bytes (a cheap clone).
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// Payload length in bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True when the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Splits the frame into its kind and bytes.
    pub fn into_parts(self) -> (FrameKind, Bytes) {
        (self.kind, self.bytes)
    }

    /// The same frame, marked as sent to many sparks: transports that wrap
    /// messages into packets of their own wrap it once for all of them
    /// ([`packet_slot`](Self::packet_slot)). Clones share the mark.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn shared(mut self) -> Frame {
        if self.slot.is_none() {
            self.slot = Some(Arc::default());
        }
        self
    }

    /// Where the packet made for this shared frame is kept; `None` for a
    /// frame sent to one spark (its packet is made once anyway).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn packet_slot(&self) -> Option<&PacketSlot> {
        self.slot.as_deref()
    }
}

impl std::fmt::Debug for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.as_str() {
            Some(text) => f.debug_tuple("Frame::Text").field(&text).finish(),
            None => f.debug_tuple("Frame::Binary").field(&self.bytes).finish(),
        }
    }
}
