//! Extractors: what a `#[primus::on]` handler can take as arguments.
//!
//! Every argument of a handler is produced by [`FromHandlerContext`], in
//! order, before the handler runs:
//!
//! | argument | gives | handlers |
//! |---|---|---|
//! | [`Spark`] | the connection | all |
//! | [`Server`] | the server, e.g. to broadcast | all |
//! | [`State<T>`] | a clone of the state added with [`ServerBuilder::state`](crate::ServerBuilder::state) | all |
//! | [`Extension<T>`] | a clone of the spark's value of type `T` (the identity set at authorization, see [`Spark::extension`]) | all |
//! | [`Payload<T>`] | the event's payload, decoded (`T` must be the variant's payload type) | typed events |
//! | [`Message`] | the message as it arrived | `data` and typed events |
//!
//! ```
//! use primus::{Payload, Server, Spark, State};
//! use std::sync::{Arc, Mutex};
//!
//! #[primus::event]
//! enum ClientEvent { Say(String) }
//!
//! #[primus::event]
//! enum ServerEvent { Said { who: String, text: String } }
//!
//! #[derive(Clone, Default)]
//! struct Log(Arc<Mutex<Vec<String>>>);
//!
//! #[primus::on(ClientEvent::Say)]
//! async fn say(spark: Spark, server: Server, State(log): State<Log>, Payload(text): Payload<String>) {
//!     log.0.lock().unwrap().push(format!("{}: {text}", spark.id()));
//!     server.write(&ServerEvent::Said { who: spark.id().into(), text }).ok();
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let server = Server::builder().state(Log::default()).handlers_from_registry().build().unwrap();
//! # let _ = server; }
//! ```

use crate::message::event::Payload;
use crate::message::Message;
use crate::spark::Spark;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

/// Shared application state, added with [`ServerBuilder::state`](crate::ServerBuilder::state)
/// and cloned into every handler that takes `State<T>`.
///
/// ```
/// use primus::State;
/// let State(count) = State(3);
/// assert_eq!(count, 3);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

/// A value the spark carries ([`Spark::extension`]), typically who the
/// client is, set by the authorization hook with
/// [`HttpRequest::set_extension`](crate::middleware::HttpRequest::set_extension).
///
/// A handler taking `Extension<T>` on a spark that has no `T` is not
/// called: a request is answered `internal error (error id …)` and the log
/// names the missing type. Take `Option<Extension<T>>` when it may be
/// missing (an anonymous client).
///
/// ```
/// use primus::{Extension, Payload};
///
/// #[derive(Clone)]
/// struct User { name: String }
///
/// #[primus::event]
/// enum Ask { #[primus(reply = String)] WhoAmI }
///
/// #[primus::on(Ask::WhoAmI)]
/// async fn who_am_i(Extension(user): Extension<User>) -> String {
///     user.name
/// }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Extension<T>(pub T);

/// The payload type of `connection` and `disconnection` handlers: there is
/// none, so `Payload<_>` cannot be an argument there.
#[derive(Debug, Clone, Copy)]
pub struct NoPayload;

/// The state values of a server, by type.
#[derive(Default, Clone)]
pub(crate) struct StateMap {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl StateMap {
    pub(crate) fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    pub(crate) fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.values.get(&TypeId::of::<T>())?.downcast_ref::<T>().cloned()
    }

    pub(crate) fn contains<T: 'static>(&self) -> bool {
        self.values.contains_key(&TypeId::of::<T>())
    }
}

/// What a handler's arguments are extracted from.
pub struct HandlerContext<P> {
    spark: Spark,
    message: Option<Message>,
    payload: Option<P>,
}

impl<P> HandlerContext<P> {
    pub(crate) fn new(spark: Spark, message: Option<Message>, payload: Option<P>) -> HandlerContext<P> {
        HandlerContext {
            spark,
            message,
            payload,
        }
    }

    /// The spark the handler runs for.
    pub fn spark(&self) -> &Spark {
        &self.spark
    }
}

/// Why an argument could not be extracted; the handler is not called and
/// the spark gets an `error`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(pub(crate) String);

impl Rejection {
    /// A rejection with this reason.
    pub fn new(reason: impl Into<String>) -> Rejection {
        Rejection(reason.into())
    }
}

/// Produces one handler argument. `P` is the handler's payload type.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of this primus handler",
    label = "not an extractor for a handler whose payload is `{P}`",
    note = "handler arguments are extractors: `Spark`, `Server`, `State<T>`, `Extension<T>`, `Message`, or the event's payload as `Payload<T>`, where `T` is the variant's payload type (here `{P}`)"
)]
pub trait FromHandlerContext<P>: Sized + Send {
    /// Takes the argument from the context.
    fn from_context(context: &mut HandlerContext<P>) -> Result<Self, Rejection>;

    /// Checked when the server is built: can this argument ever be produced?
    /// (`State<T>` fails when no state of type `T` was added.)
    #[doc(hidden)]
    fn check(_state: &StateMapView<'_>) -> Result<(), String> {
        Ok(())
    }
}

/// Read access to the server's state for [`FromHandlerContext::check`].
#[doc(hidden)]
pub struct StateMapView<'a>(pub(crate) &'a StateMap);

impl StateMapView<'_> {
    /// True when state of type `T` was added.
    pub(crate) fn contains<T: 'static>(&self) -> bool {
        self.0.contains::<T>()
    }
}

impl<P> FromHandlerContext<P> for Spark {
    fn from_context(context: &mut HandlerContext<P>) -> Result<Spark, Rejection> {
        Ok(context.spark.clone())
    }
}

impl<P: Send> FromHandlerContext<P> for Payload<P> {
    fn from_context(context: &mut HandlerContext<P>) -> Result<Payload<P>, Rejection> {
        context
            .payload
            .take()
            .map(Payload)
            .ok_or_else(|| Rejection::new("the payload was already taken by another argument"))
    }
}

impl<P> FromHandlerContext<P> for Message {
    fn from_context(context: &mut HandlerContext<P>) -> Result<Message, Rejection> {
        context
            .message
            .clone()
            .ok_or_else(|| Rejection::new("`Message` is only available in `data` and typed event handlers"))
    }
}

impl<P, T: Clone + Send + Sync + 'static> FromHandlerContext<P> for Extension<T> {
    fn from_context(context: &mut HandlerContext<P>) -> Result<Extension<T>, Rejection> {
        context.spark().extension::<T>().map(Extension).ok_or_else(|| {
            Rejection::new(format!(
                "this spark carries no `{}` (set it in the authorization hook with `HttpRequest::set_extension`, or with `Spark::set_extension`)",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl<P, T: Clone + Send + Sync + 'static> FromHandlerContext<P> for Option<Extension<T>> {
    fn from_context(context: &mut HandlerContext<P>) -> Result<Option<Extension<T>>, Rejection> {
        Ok(context.spark().extension::<T>().map(Extension))
    }
}
