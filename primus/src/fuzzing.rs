//! The decoders' entry points for the fuzz targets in `fuzz/` (feature
//! `fuzzing`, off by default; not a public API, it changes without notice).
//!
//! The fast JSON check, the JSON writer and the envelope reader are
//! crate-private; these thin wrappers let the fuzz targets compare them with
//! serde_json. The WebSocket settings are the ones the server gives
//! tungstenite, so a target decodes frames exactly as a connection does.
//! Query strings, addresses and control messages are fuzzed through their
//! public API ([`Query`](crate::spark::Query),
//! [`Address`](crate::spark::Address), [`protocol`](crate::protocol)).

use serde::Serialize;

/// tokio-tungstenite's tungstenite, the WebSocket implementation the server
/// reads frames with (the same version, so the same decoder).
pub use tokio_tungstenite::tungstenite;

/// The deepest nesting [`json_scan`] follows before it leaves the text to
/// serde_json.
///
/// ```
/// assert_eq!(primus::fuzzing::JSON_MAX_DEPTH, 128);
/// ```
pub const JSON_MAX_DEPTH: usize = crate::parser::json_scan::MAX_DEPTH;

/// The fast syntax check the JSON parser runs on every incoming frame:
/// `true` when `bytes` is one JSON value (with optional surrounding
/// whitespace). `false` means invalid, or nested deeper than
/// [`JSON_MAX_DEPTH`].
///
/// ```
/// use primus::fuzzing::json_scan;
///
/// assert!(json_scan(br#" {"event":"say","data":[1,2]} "#));
/// assert!(!json_scan(b"[1,]"));
/// ```
pub fn json_scan(bytes: &[u8]) -> bool {
    crate::parser::json_scan::scan(bytes, |_, _| {})
}

/// [`json_scan`], reporting each member of a top-level object: its key as it
/// appears in the text (with its quotes) and its value's text.
///
/// ```
/// use primus::fuzzing::json_scan_members;
///
/// let mut keys = Vec::new();
/// assert!(json_scan_members(br#"{"event":"say","data":{"x":1}}"#, |key, _| keys.push(key.to_vec())));
/// assert_eq!(keys, [b"\"event\"".to_vec(), b"\"data\"".to_vec()]);
/// ```
pub fn json_scan_members(bytes: &[u8], member: impl FnMut(&[u8], &[u8])) -> bool {
    crate::parser::json_scan::scan(bytes, member)
}

/// The JSON parser's fast writer: what `serde_json::to_vec` writes, or
/// `None` when it leaves the value to serde_json (non-string map keys,
/// serde_json's private types, errors).
///
/// ```
/// use primus::fuzzing::json_to_vec;
///
/// let value = serde_json::json!({"text": "tab\there", "n": [1, 2.5]});
/// assert_eq!(json_to_vec(&value), serde_json::to_vec(&value).ok());
/// ```
pub fn json_to_vec<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    crate::parser::json_write::to_vec(value)
}

/// The routing fields of a typed message, as read by [`envelope_scan`] or
/// [`envelope_decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeFields {
    /// `"event"`: the event's wire name.
    pub event: Option<String>,
    /// `"request"`: the request number.
    pub request: Option<u64>,
    /// `"reply"`: the number of the request this answers.
    pub reply: Option<u64>,
}

impl From<crate::message::envelope::Envelope> for EnvelopeFields {
    fn from(envelope: crate::message::envelope::Envelope) -> EnvelopeFields {
        EnvelopeFields {
            event: envelope.event,
            request: envelope.request,
            reply: envelope.reply,
        }
    }
}

/// The fast envelope reader (one pass with the syntax check): `None` when
/// the text is invalid, not an object, or leaves the decision to serde_json
/// (an escaped top-level key, a field that does not decode).
///
/// ```
/// use primus::fuzzing::{envelope_scan, EnvelopeFields};
///
/// let fields = envelope_scan(br#"{"event":"say","data":"hi","request":7}"#).unwrap();
/// assert_eq!(fields, EnvelopeFields { event: Some("say".into()), request: Some(7), reply: None });
/// assert_eq!(envelope_scan(b"[1]"), None);
/// ```
pub fn envelope_scan(bytes: &[u8]) -> Option<EnvelopeFields> {
    crate::message::envelope::Envelope::scan(bytes).map(EnvelopeFields::from)
}

/// The same envelope read by serde_json (what the server falls back to).
///
/// ```
/// use primus::fuzzing::envelope_decode;
///
/// let fields = envelope_decode(br#"{"reply":3,"data":null}"#).unwrap();
/// assert_eq!(fields.reply, Some(3));
/// assert!(envelope_decode(br#"{"event":5}"#).is_err());
/// ```
pub fn envelope_decode(bytes: &[u8]) -> Result<EnvelopeFields, serde_json::Error> {
    serde_json::from_slice::<crate::message::envelope::Envelope>(bytes).map(EnvelopeFields::from)
}

/// The tungstenite settings a WebSocket connection of the server reads with,
/// for a server whose `max_length` is `max_length` and whose transformer's
/// read buffer is `read_buffer_size` bytes.
/// The same settings the transformer uses (`WebSockets::config`); the fuzz
/// target `websocket_frames` decodes with them.
///
/// ```
/// let config = primus::fuzzing::websocket_config(1024, primus::transformer::DEFAULT_READ_BUFFER_SIZE);
/// assert_eq!(config.max_message_size, Some(1024));
/// assert_eq!(config.max_frame_size, Some(1024));
/// ```
pub fn websocket_config(
    max_length: usize,
    read_buffer_size: usize,
) -> tungstenite::protocol::WebSocketConfig {
    crate::transformer::WebSockets::default()
        .read_buffer_size(read_buffer_size)
        .config(max_length)
}
