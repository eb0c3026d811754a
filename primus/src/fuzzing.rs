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

/// SockJS: the messages of a client's payload (a JSON array of strings, or
/// one JSON string when `bare_string`, as over WebSocket), each at most
/// `max_length` bytes; `None` when the payload is refused.
///
/// ```
/// use primus::fuzzing::sockjs_messages;
///
/// assert_eq!(sockjs_messages(br#"["a","b"]"#, false, 10), Some(vec!["a".to_owned(), "b".to_owned()]));
/// assert_eq!(sockjs_messages(b"[1]", false, 10), None);
/// ```
pub fn sockjs_messages(payload: &[u8], bare_string: bool, max_length: usize) -> Option<Vec<String>> {
    let frames = crate::transformer::sockjs::framing::messages(payload, bare_string, max_length).ok()?;
    Some(
        frames
            .iter()
            .map(|f| f.as_str().unwrap_or_default().to_owned())
            .collect(),
    )
}

/// BrowserChannel: the maps of a forward request's body (form-encoded, or
/// JSON with `json`), each message at most `max_length` bytes: the id of
/// the first map and each map's message (`None` for a map that carries
/// none); `None` when the body is refused.
///
/// ```
/// use primus::fuzzing::browserchannel_maps;
///
/// let maps = browserchannel_maps(b"count=2&ofs=4&req0__S=a&req1_x=y", false, 10).unwrap();
/// assert_eq!(maps, (4, vec![Some("a".to_owned()), None]));
/// assert_eq!(browserchannel_maps(b"count=1", false, 10), None);
/// ```
pub fn browserchannel_maps(body: &[u8], json: bool, max_length: usize) -> Option<(u64, Vec<Option<String>>)> {
    let maps = crate::transformer::browserchannel::framing::maps(body, json, max_length).ok()?;
    let messages = maps
        .messages
        .iter()
        .map(|frame| frame.as_ref().map(|f| f.as_str().unwrap_or_default().to_owned()))
        .collect();
    Some((maps.offset, messages))
}

/// BrowserChannel: the back-channel chunk the server writes for these
/// messages (arrays numbered from `first`): the length in UTF-16 units, a
/// newline, `[[id,"…"],…]` and a newline.
///
/// ```
/// assert_eq!(primus::fuzzing::browserchannel_chunk(3, &["hi"]), b"11\n[[3,\"hi\"]]\n".to_vec());
/// ```
pub fn browserchannel_chunk(first: u64, messages: &[&str]) -> Vec<u8> {
    use crate::transformer::browserchannel::framing;
    let quoted: Vec<bytes::Bytes> = messages
        .iter()
        .filter_map(|m| framing::quote(&crate::wire::Frame::text(*m)))
        .collect();
    let text = framing::arrays(quoted.iter().enumerate().map(|(i, q)| (first + i as u64, &q[..])));
    framing::chunk(&text).to_vec()
}

/// SockJS: the `a[...]` frame the server sends for these messages.
///
/// ```
/// assert_eq!(primus::fuzzing::sockjs_array(&["hi"]), br#"a["hi"]"#.to_vec());
/// ```
pub fn sockjs_array(messages: &[&str]) -> Vec<u8> {
    use crate::transformer::sockjs::framing;
    let quoted: Vec<bytes::Bytes> = messages
        .iter()
        .filter_map(|m| framing::quote(&crate::wire::Frame::text(*m)))
        .collect();
    framing::array(&quoted, b"").to_vec()
}

/// A message of an Engine.IO payload: text, or binary (a `b` packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineIoMessage {
    /// A `4` packet.
    Text(String),
    /// A `b` packet, base64 decoded.
    Binary(Vec<u8>),
}

/// Engine.IO: the messages of a polling payload (other packets are left
/// out), each at most `max_length` bytes; `None` when it is refused.
///
/// ```
/// use primus::fuzzing::{engine_io_messages, EngineIoMessage};
///
/// let messages = engine_io_messages("4a\u{1e}3\u{1e}bAQI=", 10).unwrap();
/// assert_eq!(messages, [EngineIoMessage::Text("a".into()), EngineIoMessage::Binary(vec![1, 2])]);
/// ```
pub fn engine_io_messages(payload: &str, max_length: usize) -> Option<Vec<EngineIoMessage>> {
    use crate::transformer::engine_io::packet::{self, Packet};
    let packets = packet::decode_payload(payload, max_length).ok()?;
    Some(
        packets
            .into_iter()
            .filter_map(|p| match p {
                Packet::Message(frame) => Some(match frame.as_str() {
                    Some(text) => EngineIoMessage::Text(text.to_owned()),
                    None => EngineIoMessage::Binary(frame.as_bytes().to_vec()),
                }),
                _ => None,
            })
            .collect(),
    )
}

/// Engine.IO: the polling payload the server sends for these messages.
///
/// ```
/// use primus::fuzzing::{engine_io_payload, EngineIoMessage};
///
/// let payload = engine_io_payload(&[EngineIoMessage::Text("a".into()), EngineIoMessage::Binary(vec![1, 2])]);
/// assert_eq!(payload, "4a\u{1e}bAQI=");
/// ```
pub fn engine_io_payload(messages: &[EngineIoMessage]) -> String {
    use crate::transformer::engine_io::packet;
    let packets: Vec<bytes::Bytes> = messages
        .iter()
        .filter_map(|m| {
            packet::encode(&match m {
                EngineIoMessage::Text(text) => crate::wire::Frame::text(text.clone()),
                EngineIoMessage::Binary(bytes) => crate::wire::Frame::binary(bytes.clone()),
            })
        })
        .collect();
    String::from_utf8_lossy(&packet::payload(&packets)).into_owned()
}
