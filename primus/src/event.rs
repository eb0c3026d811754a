//! Typed events: the wire shape and the traits `#[primus::event]` implements.
//!
//! An event enum is one Primus message per value, *adjacently tagged*:
//!
//! | Rust | wire (JSON) |
//! |---|---|
//! | `ClientEvent::Say("hi".into())` | `{"event":"say","data":"hi"}` |
//! | `ClientEvent::Move(1, 2)` | `{"event":"move","data":[1,2]}` |
//! | `ClientEvent::Join { room: "a".into() }` | `{"event":"join","data":{"room":"a"}}` |
//! | `ClientEvent::Leave` | `{"event":"leave"}` |
//!
//! Event names are the variant names in `snake_case` unless renamed with
//! `#[primus(rename = "...")]`. A plain JavaScript Primus client writes and
//! reads these objects by hand.
//!
//! ## Requests and replies
//!
//! A variant marked `#[primus(reply = T)]` is a request: the sender adds a
//! request number and the handler's return value goes back to it alone.
//!
//! | | wire (JSON) |
//! |---|---|
//! | request | `{"event":"list_rooms","data":…,"request":7}` |
//! | reply | `{"reply":7,"data":["lobby"]}` |
//! | failed | `{"reply":7,"error":"why it failed"}` |
//!
//! Request numbers are chosen by the sender and only need to be unique among
//! its requests in flight. A request sent without `"request"` is handled like
//! an ordinary event and nothing is answered.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// A typed event enum. Implemented by `#[primus::event]`; not meant to be
/// implemented by hand.
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The enum's name (e.g. `"ClientEvent"`).
    const TYPE_NAME: &'static str;
    /// Every event of the enum, in declaration order.
    const EVENTS: &'static [EventInfo];

    /// The wire name of this value's event (e.g. `"say"`).
    fn event_name(&self) -> &'static str;
}

/// Describes one event (one variant) of an [`Event`] enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventInfo {
    /// The wire name, e.g. `"say"`.
    pub name: &'static str,
    /// The Rust variant name, e.g. `"Say"`.
    pub variant: &'static str,
    /// The payload type as written in the source (`"String"`, `"()"`).
    pub payload: &'static str,
    /// The reply type of a request (`Some("Vec<String>")`), `None` otherwise.
    pub reply: Option<&'static str>,
}

/// One variant of an event enum, identified by a hash of its name (see
/// [`variant_id`]). Implemented by `#[primus::event]`.
pub trait Variant<const ID: u64>: Event {
    /// The payload: the variant's field, a tuple of its fields, `()` for a
    /// unit variant, or the generated struct for a struct variant.
    type Payload: Send + 'static;
    /// The reply type of a request, [`NoReply`] otherwise.
    type Reply: Send + 'static;
    /// The wire name of the event.
    const NAME: &'static str;
    /// True when the variant is a request (`#[primus(reply = T)]`).
    const IS_REQUEST: bool;
    /// The payload, if `self` is this variant.
    fn into_payload(self) -> Option<Self::Payload>;
}

/// The `Reply` of an event that is not a request.
#[derive(Debug, Clone, Copy)]
pub struct NoReply;

/// FNV-1a of a variant name: the const parameter of [`Variant`].
pub const fn variant_id(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The decoded payload of a typed event, as a handler argument (server and
/// client handlers alike).
///
/// ```
/// use primus::Payload;
/// let Payload(text) = Payload("hi".to_owned());
/// assert_eq!(text, "hi");
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Payload<T>(pub T);

/// A request built by the constructors `#[primus::event]` generates for
/// variants with `#[primus(reply = T)]`: the event plus the reply type.
///
/// ```
/// #[primus::event]
/// #[derive(Debug, PartialEq)]
/// enum ClientEvent {
///     #[primus(reply = Vec<String>)]
///     ListRooms,
/// }
///
/// let request: primus::Request<ClientEvent, Vec<String>> = ClientEvent::list_rooms();
/// assert_eq!(request.event(), &ClientEvent::ListRooms);
/// // With primus-client: `let rooms = client.request(ClientEvent::list_rooms()).await?;`
/// ```
pub struct Request<E, R> {
    event: E,
    reply: PhantomData<fn() -> R>,
}

impl<E: Event, R: DeserializeOwned> Request<E, R> {
    /// Wraps an event whose reply is an `R` (used by generated code).
    pub fn new(event: E) -> Request<E, R> {
        Request {
            event,
            reply: PhantomData,
        }
    }

    /// The event sent.
    pub fn event(&self) -> &E {
        &self.event
    }

    /// Takes the event out.
    pub fn into_event(self) -> E {
        self.event
    }
}

impl<E: std::fmt::Debug, R> std::fmt::Debug for Request<E, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("event", &self.event)
            .field("reply", &std::any::type_name::<R>())
            .finish()
    }
}

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
struct OutgoingRequest<'a, E> {
    #[serde(flatten)]
    event: &'a E,
    request: u64,
}

/// Encodes `event` as request number `id` (`{"event":…,"data":…,"request":id}`).
///
/// ```
/// # #[derive(serde::Serialize)] #[serde(tag = "event", content = "data")] enum E { #[serde(rename = "say")] Say(String) }
/// use primus::parser::{Json, Parser};
/// let frame = primus::event::encode_request(&Json as &dyn Parser, &E::Say("hi".into()), 7).unwrap();
/// assert_eq!(frame.as_str(), Some(r#"{"event":"say","data":"hi","request":7}"#));
/// ```
pub fn encode_request<E: Serialize>(
    parser: &dyn crate::parser::Parser,
    event: &E,
    id: u64,
) -> Result<crate::Frame, crate::parser::ParserError> {
    parser.encode_value(&OutgoingRequest { event, request: id })
}

/// If `message` is a reply (`{"reply":id,…}`), returns its request number.
pub fn reply_id(message: &crate::Message) -> Option<u64> {
    message
        .decode::<Envelope>()
        .ok()
        .filter(|e| e.event.is_none())
        .and_then(|e| e.reply)
}

/// Decodes a reply: `Ok(value)`, or `Err(reason)` for `{"reply":id,"error":reason}`.
pub fn decode_reply<R: DeserializeOwned>(
    message: &crate::Message,
) -> Result<Result<R, String>, crate::parser::ParserError> {
    let reply: IncomingReply<R> = message.decode()?;
    match (reply.error, reply.data) {
        (Some(error), _) => Ok(Err(error)),
        (None, Some(data)) => Ok(Ok(data)),
        // `null` data decodes as `None`; let `R` decide whether that is valid.
        (None, None) => serde_json::from_value(serde_json::Value::Null)
            .map(Ok)
            .map_err(crate::parser::ParserError::decode),
    }
}

/// The wire name of the event in `message`, if it is a typed event.
pub fn event_name(message: &crate::Message) -> Option<String> {
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
        ];
        for case in cases {
            let serde = serde_json::from_slice::<Envelope>(case.as_bytes()).ok();
            match Envelope::scan(case.as_bytes()) {
                // When the scan answers, it answers like serde_json.
                Some(scanned) => assert_eq!(Some(fields(&scanned)), serde.as_ref().map(fields), "{case}"),
                // When it does not, the caller asks serde_json; only fine
                // for cases the scan deliberately leaves to it.
                None => assert!(
                    serde.is_none() || case.contains('\\'),
                    "scan gave up on {case}, which serde reads as {serde:?}"
                ),
            }
        }
    }
}
