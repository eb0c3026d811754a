//! What a spark needs from whoever runs it: the [`SparkHub`].
//!
//! A spark is created by the pipeline for a server, but it must not know
//! the server: it only asks its hub where errors go (and, for the server
//! layer, to be the server). The server is
//! the one implementation; this small trait is what keeps the spark layer
//! below it.

use super::{Spark, SparkError};
use std::any::Any;
use std::sync::Arc;

/// The services a [`Spark`] uses (implemented by the server).
pub(crate) trait SparkHub: Any + Send + Sync {
    /// Reports an error of `spark` to the application's `error` handlers
    /// (and the log).
    fn report(&self, spark: &Spark, error: &SparkError);

    /// The hub itself, for the layer that knows its concrete type (the
    /// server's `Spark::server`).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}
