//! Typed data that travels with a spark: the identity the authorization
//! hook (or a middleware layer) found, and whatever handlers store later.
//!
//! Before the spark exists, the hook and the layers write into the
//! request's [`RequestExtensions`] (`HttpRequest::set_extension`); the
//! spark opened by that request starts with those values. Then
//! [`Spark::extension`](crate::Spark::extension) reads them,
//! [`Spark::set_extension`](crate::Spark::set_extension) changes them, and
//! handlers take one with the `Extension<T>` extractor.

use crate::lock::lock;
use std::sync::{Arc, Mutex};

/// What the authorization hook and middleware set while a request was
/// checked, shared by every view of that request, for the spark it opens.
///
/// ```
/// use primus::spark::RequestExtensions;
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct User(String);
///
/// let pending = RequestExtensions::default();
/// pending.insert(User("ada".into()));
/// assert_eq!(pending.snapshot().get::<User>(), Some(&User("ada".into())));
/// ```
#[derive(Clone, Default, Debug)]
pub struct RequestExtensions(Arc<Mutex<http::Extensions>>);

impl RequestExtensions {
    /// Stores `value` (replacing one of the same type).
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) {
        lock(&self.0).insert(value);
    }

    /// A copy of what was stored so far.
    pub fn snapshot(&self) -> http::Extensions {
        lock(&self.0).clone()
    }
}
