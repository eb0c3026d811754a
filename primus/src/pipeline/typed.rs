//! Running typed handlers: decoding the event, extracting arguments,
//! answering requests. Generated code calls into this module through
//! `primus::__private`; users never call it directly.

use super::extract::{HandlerContext, NoPayload, Rejection};
use super::handlers::EventCall;
use super::public_error::{error_id, HandlerFailure};
use crate::message::envelope::OutgoingReply;
use crate::message::event::{NoReply, Variant};
use crate::message::Message;
use crate::spark::BoxError;
use crate::spark::{Spark, SparkError};
use futures_util::FutureExt;
use serde::Serialize;
use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tracing::Instrument;

/// What a handler's return value means.
pub enum HandlerOutcome {
    /// Nothing to send.
    Done,
    /// Send this reply to the requester.
    Reply(Box<dyn erased_serde::Serialize + Send>),
    /// The handler failed (see [`PublicError`](crate::PublicError) for what
    /// the client reads).
    Failed(HandlerFailure),
}

/// A handler's return type, checked against the event's reply type `R`.
#[diagnostic::on_unimplemented(
    message = "a handler for this event cannot return `{Self}`",
    label = "the event's reply type is `{R}`",
    note = "an event that is not a request (reply type `NoReply`) is handled by a function returning `()` or `Result<(), E>`; a request declared with `#[primus(reply = T)]` by one returning `T` or `Result<T, E>` (`E: Display`; a `primus::PublicError` is the only error whose text reaches the client)"
)]
pub trait HandlerReturn<R>: Send {
    /// Converts the value into what the handler produced: a reply, or nothing.
    fn into_outcome(self) -> HandlerOutcome;
}

impl HandlerReturn<NoReply> for () {
    fn into_outcome(self) -> HandlerOutcome {
        HandlerOutcome::Done
    }
}

impl<E: Display + Send + 'static> HandlerReturn<NoReply> for Result<(), E> {
    fn into_outcome(self) -> HandlerOutcome {
        match self {
            Ok(()) => HandlerOutcome::Done,
            Err(error) => HandlerOutcome::Failed(HandlerFailure::from_error(error)),
        }
    }
}

impl<R: Serialize + Send + 'static> HandlerReturn<R> for R {
    fn into_outcome(self) -> HandlerOutcome {
        HandlerOutcome::Reply(Box::new(self))
    }
}

impl<R: Serialize + Send + 'static, E: Display + Send + 'static> HandlerReturn<R> for Result<R, E> {
    fn into_outcome(self) -> HandlerOutcome {
        match self {
            Ok(reply) => HandlerOutcome::Reply(Box::new(reply)),
            Err(error) => HandlerOutcome::Failed(HandlerFailure::from_error(error)),
        }
    }
}

/// A handler made by generated code, before it is placed in a server.
pub enum ErasedHandler {
    /// `#[primus::on("connection")]`
    Connection(super::handlers::ConnectionHandler),
    /// `#[primus::on("disconnection")]`
    Disconnection(super::handlers::DisconnectionHandler),
    /// `#[primus::on("data")]`
    Data(super::handlers::DataHandler),
    /// `#[primus::on(Enum::Variant)]`
    Event {
        /// The event's wire name.
        name: &'static str,
        /// The glue that decodes and calls the handler.
        call: EventCall,
    },
}

impl std::fmt::Debug for ErasedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ErasedHandler::Connection(_) => f.write_str("ErasedHandler::Connection"),
            ErasedHandler::Disconnection(_) => f.write_str("ErasedHandler::Disconnection"),
            ErasedHandler::Data(_) => f.write_str("ErasedHandler::Data"),
            ErasedHandler::Event { name, .. } => write!(f, "ErasedHandler::Event({name})"),
        }
    }
}

fn report_rejection(spark: &Spark, function: &str, rejection: Rejection) {
    spark.report(&SparkError::Handler(
        format!("`{function}` was not called: {rejection}").into(),
    ));
}

/// Glue for `connection` handlers.
pub fn connection_handler<F, Fut, Ret>(function: &'static str, handler: F) -> ErasedHandler
where
    F: Fn(HandlerContext<NoPayload>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Ret, Rejection>> + Send + 'static,
    Ret: HandlerReturn<NoReply>,
{
    ErasedHandler::Connection(Arc::new(move |spark: Spark| {
        let future = handler(HandlerContext::new(spark, None, None));
        Box::pin(async move {
            match future.await {
                Ok(returned) => match returned.into_outcome() {
                    HandlerOutcome::Failed(failure) => Err(BoxError::from(failure.detail().to_owned())),
                    HandlerOutcome::Done | HandlerOutcome::Reply(_) => Ok(()),
                },
                Err(rejection) => Err(format!("`{function}` was not called: {rejection}").into()),
            }
        })
    }))
}

/// Glue for `disconnection` handlers.
pub fn disconnection_handler<F, Fut, Ret>(function: &'static str, handler: F) -> ErasedHandler
where
    F: Fn(HandlerContext<NoPayload>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Ret, Rejection>> + Send + 'static,
    Ret: HandlerReturn<NoReply>,
{
    ErasedHandler::Disconnection(Arc::new(move |spark: Spark| {
        let future = handler(HandlerContext::new(spark.clone(), None, None));
        Box::pin(async move {
            match future.await.map(HandlerReturn::into_outcome) {
                Ok(HandlerOutcome::Failed(failure)) => {
                    tracing::warn!(
                        spark = spark.id(),
                        function,
                        message = failure.detail(),
                        "disconnection handler failed"
                    )
                }
                Ok(_) => {}
                Err(rejection) => {
                    tracing::warn!(spark = spark.id(), function, %rejection, "handler not called")
                }
            }
        })
    }))
}

/// Glue for `data` handlers.
pub fn data_handler<F, Fut, Ret>(function: &'static str, handler: F) -> ErasedHandler
where
    F: Fn(HandlerContext<NoPayload>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Ret, Rejection>> + Send + 'static,
    Ret: HandlerReturn<NoReply>,
{
    ErasedHandler::Data(Arc::new(move |spark: Spark, message: Message| {
        let future = handler(HandlerContext::new(spark.clone(), Some(message), None));
        Box::pin(async move {
            match future.await.map(HandlerReturn::into_outcome) {
                Ok(HandlerOutcome::Failed(failure)) => spark.report(&SparkError::Handler(
                    format!("`{function}` failed: {}", failure.detail()).into(),
                )),
                Ok(_) => {}
                Err(rejection) => report_rejection(&spark, function, rejection),
            }
        })
    }))
}

/// Glue for typed event handlers.
pub fn event_handler<E, const ID: u64, F, Fut, Ret>(function: &'static str, handler: F) -> ErasedHandler
where
    E: Variant<ID>,
    F: Fn(HandlerContext<E::Payload>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Ret, Rejection>> + Send + 'static,
    Ret: HandlerReturn<E::Reply>,
{
    let name = <E as Variant<ID>>::NAME;
    let timer = Arc::new(crate::telemetry::HandlerTimer::new(name));
    let call: EventCall = Arc::new(move |spark: Spark, message: Message, request: Option<u64>| {
        let event: E = match message.decode() {
            Ok(event) => event,
            Err(error) => {
                // The client learns which event; serde's text and the Rust
                // type go to the log only.
                let failure = HandlerFailure::public(
                    format!("invalid payload for event \"{name}\""),
                    format!("the payload does not match `{}`: {error}", E::TYPE_NAME),
                );
                fail(&spark, request, &format!("event `{name}`"), &failure);
                return Box::pin(std::future::ready(()));
            }
        };
        let Some(payload) = event.into_payload() else {
            // Another variant carries the same wire name: not this handler's.
            return Box::pin(std::future::ready(()));
        };
        let future = handler(HandlerContext::new(spark.clone(), Some(message), Some(payload)));
        // One span per typed event (inside the spark's): its name, and the
        // request number when it is a request.
        let span = tracing::info_span!("event", name, request);
        let timer = timer.clone();
        Box::pin(
            async move {
                // A panic is answered like an internal error (the requester
                // does not wait for its timeout); the connection goes on.
                let started = std::time::Instant::now();
                let finished = AssertUnwindSafe(future).catch_unwind().await;
                timer.record(started.elapsed().as_secs_f64());
                let finished = match finished {
                    Ok(finished) => finished,
                    Err(panic) => {
                        let failure = HandlerFailure::internal(panic_text(&*panic));
                        return fail(&spark, request, &format!("`{function}` panicked"), &failure);
                    }
                };
                match finished {
                    Ok(returned) => match returned.into_outcome() {
                        HandlerOutcome::Done => {}
                        HandlerOutcome::Reply(reply) => match request {
                            Some(id) => {
                                let _ = spark.write(&OutgoingReply {
                                    reply: id,
                                    data: Some(&*reply),
                                    error: None,
                                });
                            }
                            None => {
                                tracing::debug!(
                                    function,
                                    "reply dropped: the event was not sent as a request"
                                )
                            }
                        },
                        HandlerOutcome::Failed(failure) => {
                            fail(&spark, request, &format!("`{function}` failed"), &failure)
                        }
                    },
                    Err(rejection) => fail(
                        &spark,
                        request,
                        &format!("`{function}` was not called"),
                        &HandlerFailure::internal(rejection.to_string()),
                    ),
                }
            }
            .instrument(span),
        )
    });
    ErasedHandler::Event { name, call }
}

/// Answers a failed request and reports the failure. The client reads the
/// app's public text, or `internal error (error id …)`; the log (and the
/// `error` handlers) get `context`, the id and the whole detail.
fn fail(spark: &Spark, request: Option<u64>, context: &str, failure: &HandlerFailure) {
    let id = error_id();
    if let Some(request) = request {
        let internal;
        let text = match failure.public_text() {
            Some(text) => text,
            None => {
                internal = format!("internal error (error id {id})");
                &internal
            }
        };
        let _ = spark.write(&OutgoingReply::failure(request, text));
    }
    let logged = format!("{context} [error id {id}]: {}", failure.detail());
    spark.report(&SparkError::Handler(logged.into()));
}

/// The message of a panic, when it has one.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "a panic without a message".to_owned(),
    }
}
