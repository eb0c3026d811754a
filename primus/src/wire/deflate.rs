//! permessage-deflate (RFC 7692): compressed WebSocket messages.
//!
//! Primus turns it on with `compression: true`; primus-rs with
//! `WebSockets::default().compression(true)` on the server and
//! `Client::builder(url).compression(true)` on the Rust client. Both
//! sides negotiate **no context takeover** in both directions: every
//! message is compressed and inflated on its own, so a connection keeps no
//! compression state between messages (an idle connection costs nothing
//! more), one thread-local compressor and inflater serve every connection
//! of a thread, and a broadcast is compressed once for all its recipients.
//!
//! This module holds the three parts that do not depend on who speaks:
//! the negotiation ([`accept_offer`], [`check_answer`]), the codec
//! ([`deflate`], [`inflate`]) and [`Inflating`], an adapter under the
//! WebSocket reader that turns each compressed message back into a plain
//! frame, so the reader itself (tungstenite) stays the one that checks
//! everything else (control frames, UTF-8, sizes).
//!
//! Inflating is bounded: a message that would expand past the limit is
//! refused once the limit is passed, with at most `limit + 1` bytes
//! allocated (a "zip bomb" of a few kilobytes cannot make the reader
//! allocate gigabytes).
//!
//! ```
//! use primus::deflate::{deflate, inflate};
//!
//! let text = "abc".repeat(1000);
//! let compressed = deflate(text.as_bytes()).expect("compressible");
//! assert!(compressed.len() < 100);
//! assert_eq!(inflate(&compressed, 10_000).unwrap(), text.as_bytes());
//! assert!(inflate(&compressed, 100).is_err()); // over the limit
//! ```

use bytes::{Buf, Bytes, BytesMut};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The extension's name in `Sec-WebSocket-Extensions`.
///
/// ```
/// assert_eq!(primus::deflate::EXTENSION, "permessage-deflate");
/// ```
pub const EXTENSION: &str = "permessage-deflate";

/// What a client offers: the extension, with the server asked not to keep
/// its context between messages.
///
/// ```
/// assert!(primus::deflate::CLIENT_OFFER.starts_with("permessage-deflate"));
/// ```
pub const CLIENT_OFFER: &str = "permessage-deflate; server_no_context_takeover; client_max_window_bits";

/// Messages shorter than this are sent uncompressed (compressing a few
/// bytes costs more than it saves; Node's `ws` uses the same threshold).
///
/// ```
/// assert_eq!(primus::deflate::THRESHOLD, 1024);
/// ```
pub const THRESHOLD: usize = 1024;

/// The empty stored block every compressed message ends with, which the
/// sender removes and the receiver appends (RFC 7692 §7.2.1).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

const ANSWER: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
const ANSWER_WITH_WINDOW: &str =
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15";

/// Why a compressed message was refused.
///
/// ```
/// use primus::deflate::{inflate, InflateError};
///
/// assert_eq!(inflate(&[0xff, 0xff, 0xff], 100), Err(InflateError::Corrupt));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// The message expands past the connection's limit.
    #[error("a compressed message expands past {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The compressed bytes are not valid deflate data (or use context
    /// from an earlier message, which the negotiation ruled out).
    #[error("invalid compressed data")]
    Corrupt,
    /// The frames break RFC 7692's rules (a compressed control frame, a
    /// compressed continuation, a new message inside a compressed one).
    #[error("{0}")]
    Protocol(&'static str),
    /// The [`InflateBudget`] refused more inflated bytes.
    #[error("the budget for messages being received ({limit} bytes) is spent")]
    BudgetSpent {
        /// The budget's limit in bytes.
        limit: usize,
    },
}

impl From<InflateError> for io::Error {
    fn from(error: InflateError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, error)
    }
}

/// The [`InflateError`] inside an I/O error returned by [`Inflating`].
///
/// ```
/// use primus::deflate::{inflate_failure, InflateError};
///
/// let error = std::io::Error::from(InflateError::Corrupt);
/// assert_eq!(inflate_failure(&error), Some(InflateError::Corrupt));
/// assert_eq!(inflate_failure(&std::io::Error::other("reset")), None);
/// ```
pub fn inflate_failure(error: &io::Error) -> Option<InflateError> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<InflateError>())
        .copied()
}

/// The server's answer to a client's `Sec-WebSocket-Extensions` header
/// values: the value to answer with when one permessage-deflate offer can
/// be accepted, `None` otherwise (the connection goes on uncompressed).
///
/// An offer is accepted when its parameters are known, not repeated and
/// allow this server's choices (no context takeover both ways, a 32 KiB
/// window); an offer asking for a smaller server window is declined.
///
/// ```
/// use primus::deflate::accept_offer;
///
/// // Chromium's and Node ws' offer:
/// let answer = accept_offer(["permessage-deflate; client_max_window_bits"]).unwrap();
/// assert!(answer.contains("client_no_context_takeover"));
/// assert_eq!(accept_offer(["permessage-deflate; server_max_window_bits=10"]), None);
/// assert_eq!(accept_offer(["x-webkit-deflate-frame"]), None);
/// ```
pub fn accept_offer<'a>(values: impl IntoIterator<Item = &'a str>) -> Option<&'static str> {
    values
        .into_iter()
        .flat_map(|value| value.split(','))
        .find_map(accept_one)
}

fn accept_one(offer: &str) -> Option<&'static str> {
    let mut parts = offer.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case(EXTENSION) {
        return None;
    }
    let mut seen = [false; 4];
    let mut window_asked = false;
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        let index = match name.to_ascii_lowercase().as_str() {
            "server_no_context_takeover" if value.is_none() => 0,
            "client_no_context_takeover" if value.is_none() => 1,
            "server_max_window_bits" => {
                // This server compresses with a 32 KiB window only.
                if window_bits(value?)? != 15 {
                    return None;
                }
                window_asked = true;
                2
            }
            "client_max_window_bits" => {
                if let Some(value) = value {
                    window_bits(value)?;
                }
                3
            }
            _ => return None,
        };
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
    }
    Some(match window_asked {
        true => ANSWER_WITH_WINDOW,
        false => ANSWER,
    })
}

fn window_bits(value: &str) -> Option<u8> {
    let bits: u8 = value.parse().ok()?;
    (8..=15).contains(&bits).then_some(bits)
}

/// Checks a server's `Sec-WebSocket-Extensions` answer to
/// [`CLIENT_OFFER`]: `Ok(true)` when permessage-deflate was accepted,
/// `Ok(false)` when there is no answer (no compression), and an error
/// naming what is wrong when the answer must fail the connection
/// (RFC 7692 §5: an extension not offered, an unknown or repeated
/// parameter, or a server that keeps its context after being asked not to).
///
/// ```
/// use primus::deflate::check_answer;
///
/// assert_eq!(check_answer(None), Ok(false));
/// assert_eq!(check_answer(Some("permessage-deflate; server_no_context_takeover")), Ok(true));
/// assert!(check_answer(Some("permessage-deflate")).is_err());
/// ```
pub fn check_answer(answer: Option<&str>) -> Result<bool, &'static str> {
    let Some(answer) = answer.map(str::trim).filter(|answer| !answer.is_empty()) else {
        return Ok(false);
    };
    if answer.contains(',') {
        return Err("the server accepted more than one extension");
    }
    let mut parts = answer.split(';').map(str::trim);
    if !parts
        .next()
        .is_some_and(|name| name.eq_ignore_ascii_case(EXTENSION))
    {
        return Err("the server accepted an extension that was not offered");
    }
    let mut seen = [false; 4];
    for param in parts {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (param, None),
        };
        let index = match (name.to_ascii_lowercase().as_str(), value) {
            ("server_no_context_takeover", None) => 0,
            ("client_no_context_takeover", None) => 1,
            ("server_max_window_bits", Some(bits)) if window_bits(bits).is_some() => 2,
            ("client_max_window_bits", Some(bits)) if window_bits(bits).is_some() => 3,
            _ => return Err("the server answered permessage-deflate with an unknown parameter"),
        };
        if std::mem::replace(&mut seen[index], true) {
            return Err("the server answered permessage-deflate with a repeated parameter");
        }
    }
    match seen[0] {
        true => Ok(true),
        false => Err("the server keeps its compression context, which this client does not support"),
    }
}

thread_local! {
    static COMPRESSOR: RefCell<Option<Compress>> = const { RefCell::new(None) };
    static INFLATER: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// One message compressed on its own (no context from earlier messages),
/// without the trailing empty block, as RFC 7692 sends it. `None` when
/// compressing fails (the message is then sent as it is).
///
/// ```
/// let compressed = primus::deflate::deflate(&[b'x'; 4096]).unwrap();
/// assert!(compressed.len() < 64);
/// ```
pub fn deflate(payload: &[u8]) -> Option<Bytes> {
    COMPRESSOR.with(|cell| {
        let mut cell = cell.borrow_mut();
        let compressor = cell.get_or_insert_with(|| Compress::new(Compression::fast(), false));
        compressor.reset();
        let mut out: Vec<u8> = Vec::with_capacity(payload.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(1024));
            }
            let before = compressor.total_in();
            compressor
                .compress_vec(&payload[consumed..], &mut out, FlushCompress::Sync)
                .ok()?;
            consumed += usize::try_from(compressor.total_in() - before).ok()?;
            // A sync flush is complete once it leaves room in the output.
            if consumed == payload.len() && out.len() < out.capacity() {
                break;
            }
        }
        if !out.ends_with(&TAIL) {
            return None;
        }
        out.truncate(out.len() - TAIL.len());
        Some(Bytes::from(out))
    })
}

/// Inflates one message compressed on its own, refusing it as soon as it
/// expands past `limit` bytes (at most `limit + 1` bytes are allocated).
///
/// ```
/// use primus::deflate::{deflate, inflate, InflateError};
///
/// let compressed = deflate(&[0u8; 100_000]).unwrap();
/// assert_eq!(inflate(&compressed, 1000), Err(InflateError::TooLarge { limit: 1000 }));
/// ```
pub fn inflate(compressed: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    inflate_charged(compressed, limit, &mut |_| Ok(()))
}

/// What inflated bytes cost while an [`Inflating`] holds them: a server
/// charges them to its budget for messages being received, so that many
/// connections inflating at once cannot hold more than that budget.
///
/// ```
/// use primus::deflate::InflateBudget;
///
/// struct Cap { held: usize, limit: usize }
/// impl InflateBudget for Cap {
///     fn hold(&mut self, bytes: usize) -> Result<(), usize> {
///         self.held += bytes;
///         if self.held > self.limit { Err(self.limit) } else { Ok(()) }
///     }
///     fn release(&mut self) { self.held = 0; }
/// }
/// let mut cap = Cap { held: 0, limit: 10 };
/// assert_eq!(cap.hold(20), Err(10));
/// ```
pub trait InflateBudget: Send {
    /// `bytes` more inflated bytes are held; `Err(limit)` refuses them
    /// (the message is then refused).
    fn hold(&mut self, bytes: usize) -> Result<(), usize>;
    /// Everything held was handed on (or dropped).
    fn release(&mut self);
}

/// [`inflate`], calling `charge` with each amount of memory reserved for
/// the output before reserving it.
fn inflate_charged(
    compressed: &[u8],
    limit: usize,
    charge: &mut dyn FnMut(usize) -> Result<(), usize>,
) -> Result<Vec<u8>, InflateError> {
    INFLATER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let inflater = cell.get_or_insert_with(|| Decompress::new(false));
        inflater.reset(false);
        let cap = limit.saturating_add(1);
        let mut out: Vec<u8> = Vec::new();
        for input in [compressed, &TAIL[..]] {
            let mut consumed = 0;
            loop {
                if out.len() == out.capacity() {
                    if out.len() >= cap {
                        return Err(InflateError::TooLarge { limit });
                    }
                    let grow = out.len().max(4096).min(cap - out.len());
                    charge(grow).map_err(|limit| InflateError::BudgetSpent { limit })?;
                    out.reserve_exact(grow);
                }
                let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
                let status = inflater
                    .decompress_vec(&input[consumed..], &mut out, FlushDecompress::Sync)
                    .map_err(|_| InflateError::Corrupt)?;
                let read =
                    usize::try_from(inflater.total_in() - before_in).map_err(|_| InflateError::Corrupt)?;
                consumed += read;
                if out.len() > limit {
                    return Err(InflateError::TooLarge { limit });
                }
                if status == Status::StreamEnd {
                    // A final block: nothing after it belongs to the message.
                    return Ok(out);
                }
                let progressed = read > 0 || inflater.total_out() > before_out;
                if consumed == input.len() && out.len() < out.capacity() {
                    break;
                }
                if !progressed && out.len() < out.capacity() {
                    return Err(InflateError::Corrupt);
                }
            }
        }
        Ok(out)
    })
}

/// Which side of the connection an [`Inflating`] reads for: a server reads
/// masked client frames, a client unmasked server frames.
///
/// ```
/// use primus::deflate::Side;
/// assert_ne!(Side::Server, Side::Client);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Reads a client's (masked) frames.
    Server,
    /// Reads a server's (unmasked) frames.
    Client,
}

/// A stream under a WebSocket reader that inflates compressed messages:
/// each message whose first frame has RSV1 set is collected (its fragments
/// unmasked and joined), inflated within the limit and handed on as one
/// plain frame; every other byte passes unchanged. Writes pass through.
///
/// Disabled (a plain pass-through, one branch per read) until
/// [`enable`](Self::enable), so a client can wrap its stream before the
/// handshake and enable it once the answer accepted compression.
///
/// ```
/// use primus::deflate::{Inflating, Side};
///
/// let stream = Inflating::new(tokio::io::empty(), Side::Server, Some(1 << 20));
/// assert!(stream.is_enabled());
/// let plain = Inflating::new(tokio::io::empty(), Side::Server, None);
/// assert!(!plain.is_enabled());
/// ```
pub struct Inflating<S> {
    inner: S,
    /// `None` while disabled: nothing per connection beyond the pointer.
    reader: Option<Box<Reader>>,
}

impl<S> Inflating<S> {
    /// Wraps `inner`; with `limit` (the largest inflated message), enabled.
    pub fn new(inner: S, side: Side, limit: Option<usize>) -> Inflating<S> {
        let mut stream = Inflating { inner, reader: None };
        if let Some(limit) = limit {
            stream.enable(side, limit);
        }
        stream
    }

    /// Starts inflating from the next byte read.
    ///
    /// ```
    /// use primus::deflate::{Inflating, Side};
    ///
    /// let mut stream = Inflating::new(tokio::io::empty(), Side::Server, None);
    /// stream.enable(Side::Server, 1 << 20);
    /// assert!(stream.is_enabled());
    /// ```
    pub fn enable(&mut self, side: Side, limit: usize) {
        self.reader = Some(Box::new(Reader::new(side, limit, FrameState::Header)));
    }

    /// A client's stream before its handshake, having offered compression:
    /// the server's HTTP answer passes unchanged, and what follows it is
    /// read as frames at once, so a compressed frame that arrives in the
    /// same read as the answer is inflated too (a WebSocket reader keeps
    /// what it read past the answer for itself). Once the answer is known,
    /// [`refuse_compressed`](Self::refuse_compressed) if it declined.
    ///
    /// ```
    /// use primus::deflate::Inflating;
    ///
    /// let stream = Inflating::client_handshake(tokio::io::empty(), 1 << 20);
    /// assert!(stream.is_enabled());
    /// ```
    pub fn client_handshake(inner: S, limit: usize) -> Inflating<S> {
        Inflating {
            inner,
            reader: Some(Box::new(Reader::new(
                Side::Client,
                limit,
                FrameState::Head { matched: 0 },
            ))),
        }
    }

    /// Charges the inflated bytes this adapter holds to `budget` (a
    /// message that would take more than the budget allows is refused with
    /// [`InflateError::BudgetSpent`]). Only for an enabled adapter.
    ///
    /// ```
    /// use primus::deflate::{InflateBudget, Inflating, Side};
    ///
    /// struct Free;
    /// impl InflateBudget for Free {
    ///     fn hold(&mut self, _: usize) -> Result<(), usize> { Ok(()) }
    ///     fn release(&mut self) {}
    /// }
    /// let stream = Inflating::new(tokio::io::empty(), Side::Server, Some(1 << 20)).with_budget(Free);
    /// # let _ = stream;
    /// ```
    pub fn with_budget(mut self, budget: impl InflateBudget + 'static) -> Inflating<S> {
        if let Some(reader) = self.reader.as_deref_mut() {
            reader.budget = Some(Box::new(budget));
        }
        self
    }

    /// Compression was not negotiated: compressed frames pass unchanged
    /// from now on (the WebSocket reader refuses them, as it must).
    ///
    /// ```
    /// use primus::deflate::Inflating;
    ///
    /// let mut stream = Inflating::client_handshake(tokio::io::empty(), 1 << 20);
    /// stream.refuse_compressed();
    /// ```
    pub fn refuse_compressed(&mut self) {
        if let Some(reader) = self.reader.as_deref_mut() {
            reader.compressed_allowed = false;
        }
    }

    /// True once compressed messages are inflated.
    ///
    /// ```
    /// use primus::deflate::{Inflating, Side};
    /// assert!(!Inflating::new(tokio::io::empty(), Side::Client, None).is_enabled());
    /// ```
    pub fn is_enabled(&self) -> bool {
        self.reader.is_some()
    }

    /// The wrapped stream.
    ///
    /// ```
    /// use primus::deflate::{Inflating, Side};
    /// let stream = Inflating::new(&b"bytes"[..], Side::Client, None);
    /// assert_eq!(*stream.get_ref(), b"bytes");
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, mutably (writing to it directly is fine; reading
    /// from it would skip what this adapter buffered).
    ///
    /// ```
    /// use primus::deflate::{Inflating, Side};
    /// let mut stream = Inflating::new(Vec::<u8>::new(), Side::Client, None);
    /// stream.get_mut().push(1);
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S> std::fmt::Debug for Inflating<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflating")
            .field("enabled", &self.is_enabled())
            .finish_non_exhaustive()
    }
}

struct Reader {
    side: Side,
    limit: usize,
    /// Bytes read and not yet looked at.
    input: BytesMut,
    /// Bytes ready for the WebSocket reader.
    output: BytesMut,
    frame: FrameState,
    /// The compressed message being collected.
    message: Option<Compressed>,
    /// After an error every byte passes unchanged (the connection is
    /// closing; what is left is only discarded).
    failed: bool,
    /// Compressed frames are inflated (false: compression was declined, and
    /// they pass unchanged).
    compressed_allowed: bool,
    /// What the inflated bytes held in `output` cost.
    budget: Option<Box<dyn InflateBudget>>,
    /// An error found after frames that are still in `output`: reported
    /// once they were handed on.
    pending_error: Option<InflateError>,
}

impl Reader {
    fn new(side: Side, limit: usize, frame: FrameState) -> Reader {
        Reader {
            side,
            limit,
            input: BytesMut::new(),
            output: BytesMut::new(),
            frame,
            message: None,
            failed: false,
            compressed_allowed: true,
            budget: None,
            pending_error: None,
        }
    }
}

enum FrameState {
    /// Inside a client's handshake answer: `matched` bytes of its final
    /// `\r\n\r\n` were seen.
    Head { matched: u8 },
    /// At the start of a frame.
    Header,
    /// Inside a frame handed on unchanged: bytes of it still to come.
    Pass { remaining: u64 },
    /// Inside a frame of a compressed message.
    Collect {
        remaining: usize,
        mask: Option<[u8; 4]>,
        /// Payload bytes of this frame unmasked so far (the mask's phase).
        offset: usize,
        fin: bool,
    },
}

struct Compressed {
    opcode: u8,
    data: Vec<u8>,
}

/// A frame header as read from the wire.
struct Header {
    len: usize,
    fin: bool,
    rsv1: bool,
    rsv23: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    payload: u64,
}

fn parse_header(input: &[u8]) -> Option<Header> {
    let (&first, rest) = input.split_first()?;
    let &second = rest.first()?;
    let masked = second & 0x80 != 0;
    let (payload, mut len) = match second & 0x7f {
        126 => (u64::from(u16::from_be_bytes([*input.get(2)?, *input.get(3)?])), 4),
        127 => {
            let bytes: [u8; 8] = input.get(2..10)?.try_into().ok()?;
            (u64::from_be_bytes(bytes), 10)
        }
        short => (u64::from(short), 2),
    };
    let mask = match masked {
        true => {
            let key: [u8; 4] = input.get(len..len + 4)?.try_into().ok()?;
            len += 4;
            Some(key)
        }
        false => None,
    };
    Some(Header {
        len,
        fin: first & 0x80 != 0,
        rsv1: first & 0x40 != 0,
        rsv23: first & 0x30 != 0,
        opcode: first & 0x0f,
        mask,
        payload,
    })
}

impl Reader {
    /// Moves what can be moved from `input` to `output`.
    fn process(&mut self) -> Result<(), InflateError> {
        loop {
            match self.frame {
                FrameState::Head { matched } => {
                    const END: &[u8; 4] = b"\r\n\r\n";
                    let mut matched = usize::from(matched);
                    let mut taken = 0;
                    while taken < self.input.len() && matched < END.len() {
                        let byte = self.input[taken];
                        matched = match byte {
                            _ if byte == END[matched] => matched + 1,
                            b'\r' => 1,
                            _ => 0,
                        };
                        taken += 1;
                    }
                    self.output.extend_from_slice(&self.input[..taken]);
                    self.input.advance(taken);
                    if matched < END.len() {
                        self.frame = FrameState::Head {
                            matched: matched as u8,
                        };
                        return Ok(());
                    }
                    self.frame = FrameState::Header;
                }
                FrameState::Header => {
                    let Some(header) = parse_header(&self.input) else {
                        return Ok(());
                    };
                    let is_data = header.opcode == 0x1 || header.opcode == 0x2;
                    let ours = self.compressed_allowed
                        && ((is_data && header.rsv1) || (self.message.is_some() && header.opcode < 0x8));
                    if !ours {
                        // tungstenite checks it (and refuses RSV1 on a
                        // control frame, or an unknown opcode).
                        self.output.extend_from_slice(&self.input[..header.len]);
                        self.input.advance(header.len);
                        self.frame = FrameState::Pass {
                            remaining: header.payload,
                        };
                        continue;
                    }
                    self.start_collecting(&header)?;
                    self.input.advance(header.len);
                }
                FrameState::Pass { remaining } => {
                    let available = self
                        .input
                        .len()
                        .min(usize::try_from(remaining).unwrap_or(usize::MAX));
                    if available == 0 && remaining > 0 {
                        return Ok(());
                    }
                    self.output.extend_from_slice(&self.input[..available]);
                    self.input.advance(available);
                    let left = remaining - available as u64;
                    self.frame = match left {
                        0 => FrameState::Header,
                        _ => FrameState::Pass { remaining: left },
                    };
                }
                FrameState::Collect {
                    remaining,
                    mask,
                    offset,
                    fin,
                } => {
                    let available = self.input.len().min(remaining);
                    if available == 0 && remaining > 0 {
                        return Ok(());
                    }
                    let Some(message) = self.message.as_mut() else {
                        return Err(InflateError::Protocol("a continuation frame outside a message"));
                    };
                    let start = message.data.len();
                    message.data.extend_from_slice(&self.input[..available]);
                    if let Some(key) = mask {
                        for (i, byte) in message.data[start..].iter_mut().enumerate() {
                            *byte ^= key[(offset + i) % 4];
                        }
                    }
                    self.input.advance(available);
                    let left = remaining - available;
                    if left > 0 {
                        self.frame = FrameState::Collect {
                            remaining: left,
                            mask,
                            offset: offset + available,
                            fin,
                        };
                        return Ok(());
                    }
                    self.frame = FrameState::Header;
                    if fin {
                        self.finish_message()?;
                    }
                }
            }
        }
    }

    fn start_collecting(&mut self, header: &Header) -> Result<(), InflateError> {
        if header.rsv23 {
            return Err(InflateError::Protocol("a frame with RSV2 or RSV3 set"));
        }
        let masked_as_expected = match self.side {
            Side::Server => header.mask.is_some(),
            Side::Client => header.mask.is_none(),
        };
        if !masked_as_expected {
            return Err(InflateError::Protocol(
                "a frame masked the wrong way for its direction",
            ));
        }
        match (header.opcode, &self.message) {
            (0x0, Some(_)) if header.rsv1 => {
                return Err(InflateError::Protocol("a continuation frame with RSV1 set"));
            }
            (0x0, Some(_)) => {}
            (_, Some(_)) => {
                return Err(InflateError::Protocol(
                    "a new message before the compressed one ended",
                ));
            }
            (opcode, None) => {
                self.message = Some(Compressed {
                    opcode,
                    data: Vec::new(),
                });
            }
        }
        let collected = self.message.as_ref().map_or(0, |message| message.data.len());
        // RFC 6455 §5.2: the most significant bit of a 64-bit length is 0.
        if header.payload >> 63 != 0 {
            return Err(InflateError::Protocol("a frame length with its top bit set"));
        }
        let payload =
            usize::try_from(header.payload).map_err(|_| InflateError::TooLarge { limit: self.limit })?;
        if collected.saturating_add(payload) > self.limit {
            return Err(InflateError::TooLarge { limit: self.limit });
        }
        self.frame = FrameState::Collect {
            remaining: payload,
            mask: header.mask,
            offset: 0,
            fin: header.fin,
        };
        if payload == 0 && header.fin {
            self.frame = FrameState::Header;
            self.finish_message()?;
        }
        Ok(())
    }

    /// Inflates the collected message and hands it on as one plain frame.
    fn finish_message(&mut self) -> Result<(), InflateError> {
        let Some(message) = self.message.take() else {
            return Ok(());
        };
        let plain = match self.budget.as_deref_mut() {
            Some(budget) => inflate_charged(&message.data, self.limit, &mut |bytes| budget.hold(bytes))?,
            None => inflate(&message.data, self.limit)?,
        };
        let len = plain.len();
        // Masked with a zero key for a server's reader (which requires
        // masked client frames): the payload is unchanged.
        let mask_bit = match self.side {
            Side::Server => 0x80,
            Side::Client => 0x00,
        };
        self.output.reserve(len + 14);
        self.output.extend_from_slice(&[0x80 | message.opcode]);
        if len < 126 {
            self.output.extend_from_slice(&[mask_bit | len as u8]);
        } else if let Ok(short) = u16::try_from(len) {
            self.output.extend_from_slice(&[mask_bit | 126]);
            self.output.extend_from_slice(&short.to_be_bytes());
        } else {
            self.output.extend_from_slice(&[mask_bit | 127]);
            self.output.extend_from_slice(&(len as u64).to_be_bytes());
        }
        if self.side == Side::Server {
            self.output.extend_from_slice(&[0; 4]);
        }
        self.output.extend_from_slice(&plain);
        Ok(())
    }
}

/// Bytes read from the wrapped stream in one go.
const READ_CHUNK: usize = 8 * 1024;

impl<S: AsyncRead + Unpin> AsyncRead for Inflating<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let Inflating { inner, reader } = self.get_mut();
        let Some(reader) = reader.as_deref_mut().filter(|reader| !reader.failed) else {
            return Pin::new(inner).poll_read(cx, buf);
        };
        loop {
            if !reader.output.is_empty() {
                let n = buf.remaining().min(reader.output.len());
                buf.put_slice(&reader.output[..n]);
                reader.output.advance(n);
                if reader.output.is_empty() {
                    if let Some(budget) = reader.budget.as_deref_mut() {
                        budget.release();
                    }
                    if reader.output.capacity() > READ_CHUNK {
                        // A large message passed: give its buffer back.
                        reader.output = BytesMut::new();
                    }
                }
                if reader.input.is_empty() && reader.input.capacity() > READ_CHUNK {
                    reader.input = BytesMut::new();
                }
                return Poll::Ready(Ok(()));
            }
            let processed = match reader.pending_error.take() {
                Some(error) => Err(error),
                None => reader.process(),
            };
            if let Err(error) = processed {
                if !reader.output.is_empty() {
                    // The frames before the bad one go on first.
                    reader.pending_error = Some(error);
                    continue;
                }
                reader.failed = true;
                reader.message = None;
                if let Some(budget) = reader.budget.as_deref_mut() {
                    budget.release();
                }
                return Poll::Ready(Err(error.into()));
            }
            if !reader.output.is_empty() {
                continue;
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut *inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // End of stream (a frame cut short is the reader's to report).
                return Poll::Ready(Ok(()));
            }
            reader.input.extend_from_slice(read.filled());
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Inflating<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A client frame: FIN, RSV1 as given, masked with a fixed key.
    fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
        let key = [0x11, 0x22, 0x33, 0x44];
        let mut frame = vec![first];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&key);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        frame
    }

    async fn read_all(wire: Vec<u8>, limit: usize) -> io::Result<Vec<u8>> {
        let mut stream = Inflating::new(&wire[..], Side::Server, Some(limit));
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await?;
        Ok(out)
    }

    #[test]
    fn a_message_survives_a_round_trip_and_small_ones_too() {
        for text in ["", "a", "hello hello hello", &"é€😀".repeat(5000)] {
            let compressed = deflate(text.as_bytes()).unwrap();
            assert_eq!(inflate(&compressed, 1 << 20).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn inflating_stops_at_the_limit_without_allocating_the_expansion() {
        let bomb = deflate(&vec![0u8; 50 << 20]).unwrap();
        assert!(bomb.len() < 300_000, "{}", bomb.len());
        assert_eq!(
            inflate(&bomb, 1 << 20),
            Err(InflateError::TooLarge { limit: 1 << 20 })
        );
        assert_eq!(inflate(&[0x00, 0x05], 100), Err(InflateError::Corrupt));
    }

    #[test]
    fn offers_are_accepted_only_when_this_server_can_keep_them() {
        assert_eq!(accept_offer(["permessage-deflate"]), Some(ANSWER));
        assert_eq!(
            accept_offer(["x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=15"]),
            Some(ANSWER_WITH_WINDOW)
        );
        assert_eq!(
            accept_offer(["permessage-deflate; server_max_window_bits=9, permessage-deflate"]),
            Some(ANSWER)
        );
        for declined in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=99",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
            "permessage-deflate; server_no_context_takeover=1",
            "",
        ] {
            assert_eq!(accept_offer([declined]), None, "{declined}");
        }
        assert_eq!(check_answer(Some(ANSWER)), Ok(true));
        assert_eq!(check_answer(Some(ANSWER_WITH_WINDOW)), Ok(true));
        assert!(check_answer(Some("permessage-deflate; server_no_context_takeover, x")).is_err());
        assert!(check_answer(Some("permessage-deflate; server_no_context_takeover; what")).is_err());
    }

    #[tokio::test]
    async fn compressed_messages_become_plain_frames_and_the_rest_passes_unchanged() {
        let text = "the same words again and again ".repeat(100);
        let compressed = deflate(text.as_bytes()).unwrap();
        let (first, second) = compressed.split_at(compressed.len() / 2);
        let ping = client_frame(0x89, b"ping");
        let plain = client_frame(0x81, b"plain");
        let mut wire = Vec::new();
        // A compressed text message in two fragments with a ping between.
        wire.extend(client_frame(0x41, first));
        wire.extend(&ping);
        wire.extend(client_frame(0x80, second));
        wire.extend(&plain);
        let out = read_all(wire, 1 << 20).await.unwrap();
        // The ping first (it came before the message was complete), then
        // the message as one masked frame with a zero key, then the rest.
        assert_eq!(&out[..ping.len()], &ping[..]);
        let message = &out[ping.len()..];
        assert_eq!(message[0], 0x81);
        assert_eq!(message[1], 0x80 | 126);
        let len = usize::from(u16::from_be_bytes([message[2], message[3]]));
        assert_eq!(len, text.len());
        assert_eq!(&message[4..8], &[0; 4]);
        assert_eq!(&message[8..8 + len], text.as_bytes());
        assert_eq!(&message[8 + len..], &plain[..]);
    }

    #[tokio::test]
    async fn a_client_handshake_passes_the_answer_and_inflates_what_follows_it() {
        let text = "welcome ".repeat(300);
        let compressed = deflate(text.as_bytes()).unwrap();
        let mut wire = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n".to_vec();
        let head_len = wire.len();
        // A server frame (unmasked), compressed, in the same read as the answer.
        wire.extend_from_slice(&[0xc1, 126]);
        wire.extend_from_slice(&(compressed.len() as u16).to_be_bytes());
        wire.extend_from_slice(&compressed);
        for chunk in [1, 7, wire.len()] {
            let mut stream = Inflating::client_handshake(Trickle(&wire, chunk), 1 << 20);
            let mut out = Vec::new();
            stream.read_to_end(&mut out).await.unwrap();
            assert_eq!(&out[..head_len], &wire[..head_len]);
            assert_eq!(&out[head_len..head_len + 4], &[0x81, 126, 0x09, 0x60]);
            assert_eq!(&out[head_len + 4..], text.as_bytes());
        }
        // Declined: compressed frames pass unchanged.
        let mut stream = Inflating::client_handshake(&wire[..], 1 << 20);
        stream.refuse_compressed();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, wire);
    }

    /// A reader that hands out at most `.1` bytes at a time.
    struct Trickle<'a>(&'a [u8], usize);

    impl AsyncRead for Trickle<'_> {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            let n = self.1.min(self.0.len()).min(buf.remaining());
            buf.put_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn frames_before_a_bad_one_in_the_same_read_are_handed_on_first() {
        let good = deflate(b"\"fine\"").unwrap();
        let mut wire = client_frame(0xc1, &good);
        let plain_len = {
            let mut stream = Inflating::new(&wire[..], Side::Server, Some(100));
            let mut out = Vec::new();
            stream.read_to_end(&mut out).await.unwrap();
            out.len()
        };
        wire.extend(client_frame(0xc1, &[0xff, 0xff, 0xff]));
        let mut stream = Inflating::new(&wire[..], Side::Server, Some(100));
        let mut out = vec![0u8; 1024];
        let read = stream.read(&mut out).await.unwrap();
        assert_eq!(read, plain_len, "the good message comes first");
        let error = stream.read(&mut out).await.unwrap_err();
        assert_eq!(inflate_failure(&error), Some(InflateError::Corrupt));
    }

    #[tokio::test]
    async fn broken_compressed_frames_are_refused_with_the_reason() {
        let compressed = deflate(b"hello hello").unwrap();
        let cases: Vec<(Vec<u8>, InflateError)> = vec![
            // A continuation with RSV1 set.
            (
                [
                    client_frame(0x41, &compressed[..2]),
                    client_frame(0xc0, &compressed[2..]),
                ]
                .concat(),
                InflateError::Protocol("a continuation frame with RSV1 set"),
            ),
            // A new message inside a compressed one.
            (
                [client_frame(0x41, &compressed[..2]), client_frame(0x81, b"x")].concat(),
                InflateError::Protocol("a new message before the compressed one ended"),
            ),
            // Unmasked from a client.
            (
                vec![0xc1, compressed.len() as u8]
                    .into_iter()
                    .chain(compressed.iter().copied())
                    .collect(),
                InflateError::Protocol("a frame masked the wrong way for its direction"),
            ),
            (client_frame(0xc1, &[0xff, 0xff, 0xff]), InflateError::Corrupt),
            (
                client_frame(0xc1, &[0u8; 200]),
                InflateError::TooLarge { limit: 100 },
            ),
        ];
        for (wire, expected) in cases {
            let error = read_all(wire, 100).await.unwrap_err();
            assert_eq!(inflate_failure(&error), Some(expected));
        }
    }
}
