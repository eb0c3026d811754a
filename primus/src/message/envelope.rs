//! The envelope of a typed message: the `event`, `request` and `reply`
//! fields every typed message is routed by, read without decoding the
//! payload; and the wire shape of requests and replies (see [the typed
//! events docs](crate::event#requests-and-replies)).

use super::Message;
use crate::parser::{Parser, ParserError};
use crate::wire::Frame;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The fields every typed message is looked up by; the payload is skipped
/// without being decoded.
#[derive(Debug, Deserialize)]
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct Envelope {
    #[serde(default)]
    pub(crate) event: Option<String>,
    #[serde(default)]
    pub(crate) request: Option<u64>,
    #[serde(default)]
    pub(crate) reply: Option<u64>,
}

#[cfg(feature = "server")]
impl Envelope {
    /// Checks that `bytes` is valid JSON and reads the envelope of a
    /// top-level object in the same pass. `None` when the text is invalid,
    /// not an object, or its envelope fields would not decode (the caller
    /// then lets serde_json decide, as for any other frame).
    pub(crate) fn scan(bytes: &[u8]) -> Option<Envelope> {
        fn field<T: serde::de::DeserializeOwned>(
            slot: &mut Option<T>,
            seen: &mut bool,
            value: &[u8],
        ) -> bool {
            // A repeated field is an error for serde's derive; keep that.
            let first = !std::mem::replace(seen, true);
            match serde_json::from_slice::<Option<T>>(value) {
                Ok(decoded) if first => {
                    *slot = decoded;
                    true
                }
                _ => false,
            }
        }
        // Only an object has an envelope. The scan reports the members of
        // a top-level object and nothing else, so without this check an
        // array or a string read as an empty envelope, where serde_json
        // reads an array's elements as the fields (found by the fuzz target
        // `envelope`).
        let first = bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if first != Some(&b'{') {
            return None;
        }
        let mut envelope = Envelope {
            event: None,
            request: None,
            reply: None,
        };
        let mut seen = [false; 3];
        let mut decodes = true;
        let valid = crate::parser::json_scan::scan(bytes, |key, value| {
            decodes &= match key {
                b"\"event\"" => field(&mut envelope.event, &mut seen[0], value),
                b"\"request\"" => field(&mut envelope.request, &mut seen[1], value),
                b"\"reply\"" => field(&mut envelope.reply, &mut seen[2], value),
                // An escaped key may spell one of the above: serde_json decides.
                _ => !key.contains(&b'\\'),
            };
        });
        (valid && decodes).then_some(envelope)
    }
}

/// A request on the wire: the event's fields plus `"request"`.
#[derive(Serialize)]
pub(crate) struct OutgoingRequest<'a, E> {
    #[serde(flatten)]
    pub(crate) event: &'a E,
    pub(crate) request: u64,
}

/// Encodes `event` as request number `id` (`{"event":…,"data":…,"request":id}`).
///
/// ```
/// # #[derive(serde::Serialize)] #[serde(tag = "event", content = "data")] enum E { #[serde(rename = "say")] Say(String) }
/// use primus::parser::{Json, Parser};
/// let frame = primus::event::encode_request(&Json as &dyn Parser, &E::Say("hi".into()), 7).unwrap();
/// assert_eq!(frame.as_str(), Some(r#"{"event":"say","data":"hi","request":7}"#));
/// ```
pub fn encode_request<E: Serialize>(parser: &dyn Parser, event: &E, id: u64) -> Result<Frame, ParserError> {
    parser.encode_value(&OutgoingRequest { event, request: id })
}

/// If `message` is a reply, returns its request number. A reply is an
/// object with exactly two keys: `reply` (the request number) and either
/// `data` or a string `error`. Anything else, such as `{"reply":3,"x":1}`,
/// is application data.
///
/// ```
/// use primus::parser::{Json, Parser};
/// use primus::{Frame, Message};
/// use std::sync::Arc;
///
/// let parser: Arc<dyn Parser> = Arc::new(Json);
/// let message = |text: &str| Message::new(Frame::text(text), parser.clone());
/// assert_eq!(primus::event::reply_id(&message(r#"{"reply":7,"data":[1]}"#)), Some(7));
/// assert_eq!(primus::event::reply_id(&message(r#"{"reply":7,"error":"no"}"#)), Some(7));
/// assert_eq!(primus::event::reply_id(&message(r#"{"reply":7,"score":10}"#)), None);
/// assert_eq!(primus::event::reply_id(&message(r#"{"reply":7,"data":1,"extra":2}"#)), None);
/// assert_eq!(primus::event::reply_id(&message(r#"{"reply":7}"#)), None);
/// ```
pub fn reply_id(message: &Message) -> Option<u64> {
    let shape = message.decode::<ReplyShape>().ok()?;
    match (shape.data, shape.error) {
        (Some(()), None) | (None, Some(_)) => Some(shape.reply),
        _ => None,
    }
}

/// What makes a message a reply (see [`reply_id`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyShape {
    reply: u64,
    /// `Some` when the key is there, whatever its value (`null` included).
    #[serde(default, deserialize_with = "present")]
    data: Option<()>,
    #[serde(default)]
    error: Option<String>,
}

fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<()>, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(Some(()))
}

/// Decodes a reply: `Ok(value)`, or `Err(reason)` for `{"reply":id,"error":reason}`.
pub fn decode_reply<R: DeserializeOwned>(message: &Message) -> Result<Result<R, String>, ParserError> {
    let reply: IncomingReply<R> = message.decode()?;
    match (reply.error, reply.data) {
        (Some(error), _) => Ok(Err(error)),
        (None, Some(data)) => Ok(Ok(data)),
        // `null` data decodes as `None`; let `R` decide whether that is valid.
        (None, None) => serde_json::from_value(serde_json::Value::Null)
            .map(Ok)
            .map_err(ParserError::decode),
    }
}

/// The request number of `message`, if it is a typed request
/// (`{"event":…,"request":n}`).
///
/// ```
/// use primus::parser::{Json, Parser};
/// use primus::{Frame, Message};
/// use std::sync::Arc;
///
/// let parser: Arc<dyn Parser> = Arc::new(Json);
/// let request = Message::new(Frame::text(r#"{"event":"confirm","data":"sure?","request":4}"#), parser.clone());
/// assert_eq!(primus::event::request_id(&request), Some(4));
/// let event = Message::new(Frame::text(r#"{"event":"news"}"#), parser);
/// assert_eq!(primus::event::request_id(&event), None);
/// ```
pub fn request_id(message: &Message) -> Option<u64> {
    message
        .decode::<Envelope>()
        .ok()
        .filter(|e| e.event.is_some())
        .and_then(|e| e.request)
}

/// The wire name of the event in `message`, if it is a typed event.
pub fn event_name(message: &Message) -> Option<String> {
    message.decode::<Envelope>().ok().and_then(|e| e.event)
}

/// A reply on the wire.
#[derive(Serialize)]
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct OutgoingReply<'a, R: ?Sized> {
    pub(crate) reply: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<&'a str>,
}

impl<'a> OutgoingReply<'a, ()> {
    /// The reply to request `reply` that says it failed with `error`.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub(crate) fn failure(reply: u64, error: &'a str) -> OutgoingReply<'a, ()> {
        OutgoingReply {
            reply,
            data: None,
            error: Some(error),
        }
    }
}

/// A reply as received.
#[derive(Deserialize)]
#[serde(bound = "R: DeserializeOwned")]
struct IncomingReply<R> {
    #[serde(default = "Option::default")]
    data: Option<R>,
    #[serde(default)]
    error: Option<String>,
}

#[cfg(all(test, feature = "server"))]
mod envelope_tests {
    use super::Envelope;

    fn fields(envelope: &Envelope) -> (Option<String>, Option<u64>, Option<u64>) {
        (envelope.event.clone(), envelope.request, envelope.reply)
    }

    #[test]
    fn scanned_envelopes_match_serde() {
        let cases = [
            r#"{"event":"say","data":"hi"}"#,
            r#"{"data":{"event":"inner"},"event":"say","request":3}"#,
            r#" { "reply" : 9 , "data" : [1,{"x":null}] } "#,
            r#"{"event":null,"request":null}"#,
            r#"{"event":"caf\u00e9"}"#,
            r#"{"event":5}"#,
            r#"{"request":-1,"event":"x"}"#,
            r#"{"event":"a","event":"b"}"#,
            r#"{"ev\u0065nt":"escaped key"}"#,
            r#"{"other":1}"#,
            r#"{}"#,
            r#"{"event":"x",}"#,
            // Not objects: serde_json reads an array's elements as the fields.
            r#"["say",1,2]"#,
            r#" [] "#,
            r#""primus::ping::1""#,
            "0",
        ];
        for case in cases {
            let serde = serde_json::from_slice::<Envelope>(case.as_bytes()).ok();
            match Envelope::scan(case.as_bytes()) {
                // When the scan answers, it answers like serde_json.
                Some(scanned) => {
                    assert!(case.trim_start().starts_with('{'), "{case} is no object");
                    assert_eq!(Some(fields(&scanned)), serde.as_ref().map(fields), "{case}");
                }
                // When it does not, the caller asks serde_json; only fine
                // for cases the scan deliberately leaves to it.
                None => assert!(
                    serde.is_none() || case.contains('\\') || !case.trim_start().starts_with('{'),
                    "scan gave up on {case}, which serde reads as {serde:?}"
                ),
            }
        }
    }

    /// Regression (fuzz target `envelope`): an array or any other value
    /// that is not an object was read as an empty envelope.
    #[test]
    fn only_objects_have_an_envelope() {
        for text in [
            &b"[\"say\",1,2]"[..],
            b" [] ",
            b"\"primus::ping::1\"",
            b"0",
            b"null",
            b"",
        ] {
            assert!(
                Envelope::scan(text).is_none(),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(Envelope::scan(b" {} ").is_some());
    }
}
