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
//! ```no_run
//! use primus::server::transform::Flow;
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

use super::handlers::BoxFuture;
use crate::spark::Spark;
use std::future::Future;
use std::sync::Arc;

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
pub(crate) type TransformFn =
    Arc<dyn Fn(Spark, Packet) -> BoxFuture<Result<Option<Packet>, TransformError>> + Send + Sync>;

pub(crate) fn sync<F>(transform: F) -> TransformFn
where
    F: Fn(&Spark, &mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
{
    Arc::new(move |spark, mut packet| {
        let outcome = transform(&spark, &mut packet).map(|flow| match flow {
            Flow::Continue => Some(packet),
            Flow::Drop => None,
        });
        Box::pin(std::future::ready(outcome))
    })
}

pub(crate) fn asynchronous<F, Fut>(transform: F) -> TransformFn
where
    F: Fn(Spark, Packet) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
{
    Arc::new(move |spark, packet| Box::pin(transform(spark, packet)))
}

/// The transforms of one direction, each with the plugin that added it.
#[derive(Clone, Default)]
pub(crate) struct Chain {
    steps: Vec<(Option<&'static str>, TransformFn)>,
}

impl Chain {
    pub(crate) fn push(&mut self, owner: Option<&'static str>, transform: TransformFn) {
        self.steps.push((owner, transform));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Removes what a plugin added.
    pub(crate) fn remove_owner(&mut self, owner: &str) {
        self.steps.retain(|(o, _)| *o != Some(owner));
    }

    /// Puts plugin transforms before the builder's.
    pub(crate) fn insert_front(&mut self, steps: Chain) {
        let builder = std::mem::take(&mut self.steps);
        let (plugins, own): (Vec<_>, Vec<_>) = builder.into_iter().partition(|(owner, _)| owner.is_some());
        self.steps = plugins.into_iter().chain(steps.steps).chain(own).collect();
    }

    /// Runs the chain; `Ok(None)` when a step dropped the message.
    pub(crate) async fn run(
        &self,
        spark: &Spark,
        mut packet: Packet,
    ) -> Result<Option<Packet>, TransformError> {
        for (_, step) in &self.steps {
            match step(spark.clone(), packet).await? {
                Some(next) => packet = next,
                None => return Ok(None),
            }
        }
        Ok(Some(packet))
    }
}

/// Both directions.
#[derive(Clone, Default)]
pub(crate) struct Transforms {
    pub(crate) incoming: Chain,
    pub(crate) outgoing: Chain,
}
