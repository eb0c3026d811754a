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
//! reads these objects by hand. Over bincode, which has no field names,
//! typed messages take a [positional](positional) form instead.
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

pub use super::envelope::{decode_reply, encode_request, event_name, refusal, reply, reply_id, request_id};
pub use super::positional;

use serde::de::DeserializeOwned;
use serde::Serialize;
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
