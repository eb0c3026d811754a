//! The envelope of a typed message: the `event`, `request` and `reply`
//! fields every typed message is routed by, read without decoding the
//! payload; and the wire shape of requests and replies (see [the typed
//! events docs](crate::event#requests-and-replies)).

use super::positional::{self, next, read_tag, FAILED, MARKER, MAX_FIELDS, REPLY, REQUEST};
use super::Message;
use crate::parser::{Parser, ParserError};
use crate::wire::Frame;
use serde::de::{DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// The fields every typed message is looked up by; the payload is skipped
/// without being decoded. In the [positional](super::positional) form, the
/// tags and numbers that come before the payload.
#[derive(Debug)]
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct Envelope {
    pub(crate) event: Option<String>,
    pub(crate) request: Option<u64>,
    pub(crate) reply: Option<u64>,
}

/// [`Envelope`] on a self-describing wire: fields by name.
#[derive(Deserialize)]
struct NamedEnvelope {
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    request: Option<u64>,
    #[serde(default)]
    reply: Option<u64>,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Envelope, D::Error> {
        if positional::active() {
            return deserializer.deserialize_tuple(MAX_FIELDS, PositionalEnvelope);
        }
        let named = NamedEnvelope::deserialize(deserializer)?;
        Ok(Envelope {
            event: named.event,
            request: named.request,
            reply: named.reply,
        })
    }
}

/// Reads the start of a positional typed message.
struct PositionalEnvelope;

impl<'de> Visitor<'de> for PositionalEnvelope {
    type Value = Envelope;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a typed message")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Envelope, A::Error> {
        let mut envelope = Envelope {
            event: None,
            request: None,
            reply: None,
        };
        match read_tag(&mut seq, 0)? {
            REPLY | FAILED => envelope.reply = Some(next(&mut seq, 2)?),
            tag => {
                if tag == REQUEST {
                    envelope.request = Some(next(&mut seq, 2)?);
                    if read_tag(&mut seq, 3)? != positional::EVENT {
                        return Err(serde::de::Error::custom("not a typed request"));
                    }
                } else if tag != positional::EVENT {
                    return Err(serde::de::Error::custom("not a typed message"));
                }
                envelope.event = Some(next(&mut seq, 5)?);
            }
        }
        Ok(envelope)
    }
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

/// A request on the wire: the event's fields plus `"request"` (in the
/// positional form: its tag, the number, then the event).
pub(crate) struct OutgoingRequest<'a, E> {
    pub(crate) event: &'a E,
    pub(crate) request: u64,
}

/// [`OutgoingRequest`] on a self-describing wire.
#[derive(Serialize)]
struct NamedRequest<'a, E> {
    #[serde(flatten)]
    event: &'a E,
    request: u64,
}

impl<E: Serialize> Serialize for OutgoingRequest<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if positional::active() {
            let mut tuple = serializer.serialize_tuple(4)?;
            tuple.serialize_element(&MARKER)?;
            tuple.serialize_element(&REQUEST)?;
            tuple.serialize_element(&self.request)?;
            tuple.serialize_element(self.event)?;
            return tuple.end();
        }
        NamedRequest {
            event: self.event,
            request: self.request,
        }
        .serialize(serializer)
    }
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
    message.decode::<ReplyNumber>().ok()?.0
}

/// The number of a reply (`None`: not a reply), read by name or by
/// position, as the parser at work asks.
struct ReplyNumber(Option<u64>);

impl<'de> Deserialize<'de> for ReplyNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ReplyNumber, D::Error> {
        if positional::active() {
            return Envelope::deserialize(deserializer).map(|envelope| ReplyNumber(envelope.reply));
        }
        let shape = ReplyShape::deserialize(deserializer)?;
        Ok(ReplyNumber(match (shape.data, shape.error) {
            (Some(()), None) | (None, Some(_)) => Some(shape.reply),
            _ => None,
        }))
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
    let reply = match message.decode::<AnyReply<R>>()? {
        AnyReply::Positional(reply) => return Ok(reply),
        AnyReply::Named(reply) => reply,
    };
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

/// A reply on the wire (`{"reply":n,"data":…}` or `{"reply":n,"error":…}`;
/// in the positional form: a tag, the number, the data or the reason).
#[cfg_attr(not(feature = "server"), allow(dead_code))]
pub(crate) struct OutgoingReply<'a, R: ?Sized> {
    pub(crate) reply: u64,
    pub(crate) data: Option<&'a R>,
    pub(crate) error: Option<&'a str>,
}

/// [`OutgoingReply`] on a self-describing wire.
#[derive(Serialize)]
struct NamedReply<'a, R: ?Sized> {
    reply: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a R>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

impl<R: Serialize + ?Sized> Serialize for OutgoingReply<'_, R> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if positional::active() {
            let mut tuple = serializer.serialize_tuple(4)?;
            tuple.serialize_element(&MARKER)?;
            match (self.error, self.data) {
                (Some(error), _) => {
                    tuple.serialize_element(&FAILED)?;
                    tuple.serialize_element(&self.reply)?;
                    tuple.serialize_element(error)?;
                }
                (None, data) => {
                    tuple.serialize_element(&REPLY)?;
                    tuple.serialize_element(&self.reply)?;
                    match data {
                        Some(data) => tuple.serialize_element(data)?,
                        None => tuple.serialize_element(&())?,
                    }
                }
            }
            return tuple.end();
        }
        NamedReply {
            reply: self.reply,
            data: self.data,
            error: self.error,
        }
        .serialize(serializer)
    }
}

/// The reply to request `id` with `data`, as a value to write with any
/// parser (`{"reply":id,"data":…}`, or the [positional](super::positional)
/// form).
///
/// ```
/// use primus::parser::{Json, Parser};
/// let frame = (&Json as &dyn Parser).encode_value(&primus::event::reply(7, &[1, 2])).unwrap();
/// assert_eq!(frame.as_str(), Some(r#"{"reply":7,"data":[1,2]}"#));
/// ```
pub fn reply<R: Serialize + ?Sized>(id: u64, data: &R) -> impl Serialize + '_ {
    OutgoingReply {
        reply: id,
        data: Some(data),
        error: None,
    }
}

/// The refusal of request `id` with `reason`, as a value to write with any
/// parser (`{"reply":id,"error":reason}`, or the positional form).
///
/// ```
/// use primus::parser::{Json, Parser};
/// let frame = (&Json as &dyn Parser).encode_value(&primus::event::refusal(7, "no")).unwrap();
/// assert_eq!(frame.as_str(), Some(r#"{"reply":7,"error":"no"}"#));
/// ```
pub fn refusal(id: u64, reason: &str) -> impl Serialize + '_ {
    OutgoingReply::<()>::failure(id, reason)
}

/// A reply read by name or by position, as the parser at work asks.
enum AnyReply<R> {
    Positional(Result<R, String>),
    Named(IncomingReply<R>),
}

impl<'de, R: DeserializeOwned> Deserialize<'de> for AnyReply<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AnyReply<R>, D::Error> {
        if positional::active() {
            return PositionalReply::deserialize(deserializer).map(|reply| AnyReply::Positional(reply.0));
        }
        IncomingReply::deserialize(deserializer).map(AnyReply::Named)
    }
}

/// A reply in the positional form: `Ok(data)` or `Err(reason)`.
struct PositionalReply<R>(Result<R, String>);

impl<'de, R: DeserializeOwned> Deserialize<'de> for PositionalReply<R> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PositionalReply<R>, D::Error> {
        struct Read<R>(PhantomData<R>);
        impl<'de, R: DeserializeOwned> Visitor<'de> for Read<R> {
            type Value = PositionalReply<R>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                formatter.write_str("a reply")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PositionalReply<R>, A::Error> {
                let tag = read_tag(&mut seq, 0)?;
                let _number: u64 = next(&mut seq, 2)?;
                match tag {
                    REPLY => Ok(PositionalReply(Ok(next(&mut seq, 3)?))),
                    FAILED => Ok(PositionalReply(Err(next(&mut seq, 3)?))),
                    _ => Err(serde::de::Error::custom("not a reply")),
                }
            }
        }
        deserializer.deserialize_tuple(4, Read(PhantomData))
    }
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

    /// The positional form read from hostile bincode: lengths far beyond
    /// the bytes carried, unknown tags and cut frames are errors (read as
    /// plain data), never an allocation of the claimed size or a panic.
    #[test]
    fn positional_envelopes_from_hostile_bytes_are_refused() {
        use crate::parser::{Bincode, Parser};
        use crate::wire::Frame;
        let parser: &dyn Parser = &Bincode;
        let probe = |bytes: &[u8]| {
            parser
                .decode_value::<Envelope>(&Frame::binary(bytes.to_vec()))
                .ok()
        };
        // An event named with a length of 2^64 - 1 (varint 253 + u64).
        let mut huge = vec![0xFF, 0, 253];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        huge.extend_from_slice(b"say");
        assert!(probe(&huge).is_none());
        // A request whose event is missing, and one cut in its number.
        assert!(probe(&[0xFF, 1, 7]).is_none());
        assert!(probe(&[0xFF, 1, 251]).is_none());
        // No marker (plain data), unknown tags, and nothing at all.
        assert!(probe(&[0, 3, b's', b'a', b'y']).is_none());
        assert!(probe(&[2, 1, 7]).is_none());
        assert!(probe(&[0xFF, 9, 3, b's', b'a', b'y']).is_none());
        assert!(probe(&[]).is_none());
        // The real thing, for contrast.
        let event = probe(&[0xFF, 0, 3, b's', b'a', b'y', 2, b'h', b'i']).expect("an event");
        assert_eq!(fields(&event), (Some("say".to_owned()), None, None));
        let request = probe(&[0xFF, 1, 7, 0xFF, 0, 3, b's', b'a', b'y']).expect("a request");
        assert_eq!(fields(&request), (Some("say".to_owned()), Some(7), None));
        let reply = probe(&[0xFF, 2, 7, 1]).expect("a reply");
        assert_eq!(fields(&reply), (None, None, Some(7)));
    }
}
