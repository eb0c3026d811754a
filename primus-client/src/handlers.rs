//! Client-side handlers: `#[primus_client::on(ServerEvent::Said)]`.
//!
//! A client built with [`ClientBuilder::handlers_from_registry`](crate::ClientBuilder::handlers_from_registry)
//! routes every incoming typed event that has a registered handler to it;
//! everything else still arrives on the [`Events`](crate::Events) stream.
//! Handlers run one at a time, in the order the messages arrived, on a task
//! of their own (so a slow handler never stalls heartbeats).
//!
//! Handler arguments are extractors: [`Client`] (the handle, e.g. to answer)
//! and [`Payload<T>`](primus::Payload) (the event's payload).

use crate::Client;
use primus::event::{NoReply, Variant};
use primus::{Message, Payload};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A handler as stored by a client.
pub(crate) type ClientHandler = Arc<dyn Fn(Client, Message) -> BoxFuture<()> + Send + Sync>;

/// A handler declared with `#[primus_client::on]`.
pub struct ClientHandlerRegistration {
    /// The enum's name.
    pub type_name: &'static str,
    /// The event's wire name.
    pub name: &'static str,
    /// Module path of the handler.
    pub module: &'static str,
    /// Function name of the handler.
    pub function: &'static str,
    /// Builds the runtime handler.
    pub make: fn() -> ErasedClientHandler,
}

inventory::collect!(ClientHandlerRegistration);

/// A handler made by generated code.
pub struct ErasedClientHandler(pub(crate) ClientHandler);

/// Why the client registry cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientRegistryError {
    /// Nothing was registered.
    #[error(
        "no `#[primus_client::on]` handler is registered. If your handlers live in another crate, \
         add `use that_crate as _;` to your binary so the compiler links it"
    )]
    Empty,
    /// Two handlers for one event.
    #[error("`{type_name}::{event}` has two client handlers, `{first}` and `{second}`; keep one")]
    Duplicate {
        /// The enum.
        type_name: &'static str,
        /// The event.
        event: &'static str,
        /// One handler.
        first: String,
        /// The other.
        second: String,
    },
}

/// Every registered client handler by event name.
pub(crate) fn collect() -> Result<HashMap<&'static str, ClientHandler>, ClientRegistryError> {
    let mut all: Vec<&ClientHandlerRegistration> =
        inventory::iter::<ClientHandlerRegistration>.into_iter().collect();
    if all.is_empty() {
        return Err(ClientRegistryError::Empty);
    }
    all.sort_by_key(|r| (r.module, r.function));
    let mut by_name: HashMap<&'static str, &ClientHandlerRegistration> = HashMap::new();
    for registration in all {
        if let Some(first) = by_name.insert(registration.name, registration) {
            return Err(ClientRegistryError::Duplicate {
                type_name: registration.type_name,
                event: registration.name,
                first: format!("{}::{}", first.module, first.function),
                second: format!("{}::{}", registration.module, registration.function),
            });
        }
    }
    Ok(by_name
        .into_iter()
        .map(|(name, r)| (name, (r.make)().0))
        .collect())
}

/// What a client handler's arguments come from.
pub struct ClientContext<P> {
    client: Client,
    payload: Option<P>,
}

/// Produces one client handler argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a client handler",
    label = "not an extractor for a client handler whose payload is `{P}`",
    note = "client handler arguments are `Client` or the event's payload as `Payload<{P}>`"
)]
pub trait FromClientContext<P>: Sized + Send {
    /// Takes the argument from the context.
    fn from_context(context: &mut ClientContext<P>) -> Result<Self, String>;
}

impl<P> FromClientContext<P> for Client {
    fn from_context(context: &mut ClientContext<P>) -> Result<Client, String> {
        Ok(context.client.clone())
    }
}

impl<P: Send> FromClientContext<P> for Payload<P> {
    fn from_context(context: &mut ClientContext<P>) -> Result<Payload<P>, String> {
        context
            .payload
            .take()
            .map(Payload)
            .ok_or_else(|| "the payload was already taken".to_owned())
    }
}

/// A client handler's reply, encoded by the client's parser when it is
/// sent (bincode keeps its own encoding of the value).
pub type Reply = Box<dyn erased_serde::Serialize + Send>;

/// What a client handler may return, checked against the event's reply
/// type `R`: an event from the server that is not a request (`NoReply`) is
/// handled by a function returning `()` or `Result<(), E>`; a request
/// (`#[primus(reply = T)]`, sent by `spark.request(..)`) by one returning
/// `T` or `Result<T, E>`, which becomes the reply.
#[diagnostic::on_unimplemented(
    message = "a client handler for this event cannot return `{Self}`",
    label = "the event's reply type is `{R}`",
    note = "client handlers of events return `()` or `Result<(), E>` with `E: Display`; handlers of requests (`#[primus(reply = T)]`) return `T` or `Result<T, E>`"
)]
pub trait ClientReturn<R>: Send {
    /// The reply (`Some` for a request), or the failure reason.
    fn into_reply(self) -> Result<Option<Reply>, String>;
}

impl ClientReturn<NoReply> for () {
    fn into_reply(self) -> Result<Option<Reply>, String> {
        Ok(None)
    }
}

impl<E: Display + Send> ClientReturn<NoReply> for Result<(), E> {
    fn into_reply(self) -> Result<Option<Reply>, String> {
        self.map(|()| None).map_err(|e| e.to_string())
    }
}

impl<R: Serialize + Send + 'static> ClientReturn<R> for R {
    fn into_reply(self) -> Result<Option<Reply>, String> {
        Ok(Some(Box::new(self)))
    }
}

impl<R: Serialize + Send + 'static, E: Display + Send> ClientReturn<R> for Result<R, E> {
    fn into_reply(self) -> Result<Option<Reply>, String> {
        match self {
            Ok(reply) => reply.into_reply(),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Glue for a typed client handler (used by generated code).
pub fn event_handler<E, const ID: u64, F, Fut, Ret>(function: &'static str, handler: F) -> ErasedClientHandler
where
    E: Variant<ID>,
    F: Fn(ClientContext<E::Payload>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Ret, String>> + Send + 'static,
    Ret: ClientReturn<<E as Variant<ID>>::Reply>,
{
    ErasedClientHandler(Arc::new(move |client: Client, message: Message| {
        // A request from the server (`spark.request`) is answered with the
        // handler's return value, or its failure.
        let request = primus::event::request_id(&message);
        let refuse = |client: &Client| {
            if let Some(id) = request {
                let text = format!("invalid payload for event \"{}\"", <E as Variant<ID>>::NAME);
                let refusal = primus::event::refusal(id, &text);
                if let Err(error) = client.write(&refusal) {
                    tracing::warn!(function, %error, "the refusal of a server request could not be sent");
                }
            }
        };
        let payload = match message.decode::<E>() {
            Ok(event) => event.into_payload(),
            Err(error) => {
                tracing::warn!(function, %error, "event payload does not match; handler not called");
                refuse(&client);
                return Box::pin(std::future::ready(()));
            }
        };
        let Some(payload) = payload else {
            refuse(&client);
            return Box::pin(std::future::ready(()));
        };
        let future = handler(ClientContext {
            client: client.clone(),
            payload: Some(payload),
        });
        Box::pin(async move {
            let outcome = future.await.and_then(ClientReturn::into_reply);
            let sent = match (request, outcome) {
                (Some(id), Ok(reply)) => match reply {
                    Some(reply) => client.write(&primus::event::reply(id, &*reply)),
                    None => client.write(&primus::event::reply(id, &())),
                },
                (Some(id), Err(reason)) => {
                    tracing::warn!(function, %reason, "client handler of a server request failed");
                    client.write(&primus::event::refusal(id, &reason))
                }
                (None, Ok(_)) => return,
                (None, Err(reason)) => return tracing::warn!(function, %reason, "client handler failed"),
            };
            if let Err(error) = sent {
                tracing::warn!(function, %error, "the reply to a server request could not be sent");
                // A reply the parser could not encode: the server is told at
                // once instead of waiting for its timeout.
                if let (Some(id), crate::ClientError::Parser(_)) = (request, &error) {
                    let refusal = primus::event::refusal(id, "the reply could not be encoded");
                    let _ = client.write(&refusal);
                }
            }
        })
    }))
}
