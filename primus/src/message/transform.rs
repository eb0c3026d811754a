//! Message transforms: rewrite, drop or reject messages on their way in and
//! out, as Primus' `primus.transform('incoming' | 'outgoing', fn)`.
//!
//! A transform sees a [`Packet`] holding the message as a JSON value. It can
//! change it, drop it (Primus' `return false`), or fail with a
//! [`TransformError`], which drops the message and reaches the spark's
//! `error` handlers. Transforms run **in order**: those of plugins in the
//! order the plugins were added, then the builder's, each direction in its
//! own chain; synchronous and asynchronous ones mix freely.
//!
//! * Incoming transforms run after control messages (pong, id) are handled
//!   and before typed routing, one message at a time per spark.
//! * Outgoing transforms run in the spark's connection task, so `write`
//!   stays non-blocking and order is kept. They do not see control messages.
//!   While any outgoing transform is active, a broadcast is transformed (and
//!   encoded) per spark instead of once.
//!
//! Transforms work on JSON values: with a parser that is not self-describing
//! (bincode) messages pass through untransformed; binary frames under the
//! JSON parser do too.
//!
//! The same types serve the Rust client (`primus_client::ClientBuilder::transform_incoming`
//! and friends), where the context is the client instead of a spark.
//!
//! ```no_run
//! use primus::transform::Flow;
//! # async fn demo() -> Result<(), primus::BuildError> {
//! let server = primus::Server::builder()
//!     // Stamp every outgoing object.
//!     .transform_outgoing(|_spark, packet| {
//!         if let Some(object) = packet.data.as_object_mut() {
//!             object.insert("server".into(), "eu-1".into());
//!         }
//!         Ok(Flow::Continue)
//!     })
//!     // Drop incoming messages with a "spam" flag.
//!     .transform_incoming(|_spark, packet| {
//!         Ok(if packet.data["spam"] == true { Flow::Drop } else { Flow::Continue })
//!     })
//!     .build()?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// One message going through transforms.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The message as a JSON value; change it to rewrite the message.
    pub data: serde_json::Value,
}

/// What a synchronous transform decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Pass the (possibly changed) message on.
    Continue,
    /// Drop the message silently.
    Drop,
}

/// A transform refused a message: it is dropped and the spark gets an
/// `error` with this reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TransformError(pub String);

impl TransformError {
    /// A refusal with this reason.
    pub fn new(reason: impl Into<String>) -> TransformError {
        TransformError(reason.into())
    }
}

/// The stored form of every transform: async, `None` drops the message.
/// `C` is what the transform runs for: a `Spark` on the server, the client
/// handle on the client.
pub type TransformFn<C> =
    Arc<dyn Fn(C, Packet) -> BoxFuture<Result<Option<Packet>, TransformError>> + Send + Sync>;

/// Wraps a synchronous transform.
pub fn sync<C, F>(transform: F) -> TransformFn<C>
where
    C: Send + 'static,
    F: Fn(&C, &mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
{
    Arc::new(move |spark, mut packet| {
        let outcome = transform(&spark, &mut packet).map(|flow| match flow {
            Flow::Continue => Some(packet),
            Flow::Drop => None,
        });
        Box::pin(std::future::ready(outcome))
    })
}

/// Wraps an asynchronous transform.
pub fn asynchronous<C, F, Fut>(transform: F) -> TransformFn<C>
where
    C: Send + 'static,
    F: Fn(C, Packet) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
{
    Arc::new(move |spark, packet| Box::pin(transform(spark, packet)))
}

/// The transforms of one direction, each with the plugin that added it
/// (`None` for the application's own).
pub struct Chain<C> {
    steps: Vec<(Option<&'static str>, TransformFn<C>)>,
}

impl<C> Default for Chain<C> {
    fn default() -> Chain<C> {
        Chain { steps: Vec::new() }
    }
}

impl<C> Clone for Chain<C> {
    fn clone(&self) -> Chain<C> {
        Chain {
            steps: self.steps.clone(),
        }
    }
}

impl<C: Clone> Chain<C> {
    /// Appends a transform.
    pub fn push(&mut self, owner: Option<&'static str>, transform: TransformFn<C>) {
        self.steps.push((owner, transform));
    }

    /// True without transforms.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Removes what a plugin added.
    pub fn remove_owner(&mut self, owner: &str) {
        self.steps.retain(|(o, _)| *o != Some(owner));
    }

    /// Adds a plugin's transforms after the other plugins' and before the
    /// application's.
    pub fn insert_plugin_steps(&mut self, steps: Chain<C>) {
        let builder = std::mem::take(&mut self.steps);
        let (plugins, own): (Vec<_>, Vec<_>) = builder.into_iter().partition(|(owner, _)| owner.is_some());
        self.steps = plugins.into_iter().chain(steps.steps).chain(own).collect();
    }

    /// Runs the chain; `Ok(None)` when a step dropped the message.
    pub async fn run(&self, context: &C, mut packet: Packet) -> Result<Option<Packet>, TransformError> {
        for (_, step) in &self.steps {
            match step(context.clone(), packet).await? {
                Some(next) => packet = next,
                None => return Ok(None),
            }
        }
        Ok(Some(packet))
    }
}

/// Both directions.
pub struct Transforms<C> {
    /// Messages coming in.
    pub incoming: Chain<C>,
    /// Messages going out.
    pub outgoing: Chain<C>,
}

impl<C> Default for Transforms<C> {
    fn default() -> Transforms<C> {
        Transforms {
            incoming: Chain::default(),
            outgoing: Chain::default(),
        }
    }
}

impl<C> Clone for Transforms<C> {
    fn clone(&self) -> Transforms<C> {
        Transforms {
            incoming: self.incoming.clone(),
            outgoing: self.outgoing.clone(),
        }
    }
}
