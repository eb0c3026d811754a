//! What a failing handler may tell its client.
//!
//! A request handler's error goes back to the requester as the reply's
//! `error` text. Only a [`PublicError`] is sent word for word: it is the
//! app saying "this text is for the client". Any other error (a `String`,
//! an I/O error, a database error) may carry internals, so the client gets
//! `internal error (error id 1f2e3d4c)` and the server's log gets the full
//! text under the same id ([`HandlerFailure`]).

use std::any::Any;
use std::borrow::Cow;
use std::fmt;

/// An error whose text is written for the client.
///
/// Returned from a request handler (`Result<T, PublicError>`), its message
/// is the reply's error, word for word; every other error type reaches the
/// client only as `internal error (error id …)`, its text going to the log.
///
/// ```
/// use primus::PublicError;
///
/// fn check_name(name: &str) -> Result<(), PublicError> {
///     if name.is_empty() || name.len() > 32 {
///         return Err(PublicError::new("a name has 1 to 32 characters"));
///     }
///     Ok(())
/// }
/// assert_eq!(check_name("").unwrap_err().message(), "a name has 1 to 32 characters");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicError(Cow<'static, str>);

impl PublicError {
    /// An error with this text for the client.
    pub fn new(message: impl Into<Cow<'static, str>>) -> PublicError {
        PublicError(message.into())
    }

    /// The text the client gets.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PublicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PublicError {}

/// How a handler failed: what the client may read, and what the log gets.
///
/// Made by generated code from a handler's error; see [`PublicError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerFailure {
    /// The text for the client when the app chose it ([`PublicError`]).
    public: Option<String>,
    /// The full text, for the log.
    detail: String,
}

impl HandlerFailure {
    /// The failure of a handler that returned `error`: public when `error`
    /// is a [`PublicError`] (also inside a [`BoxError`](crate::BoxError)),
    /// internal otherwise.
    pub fn from_error<E: fmt::Display + 'static>(error: E) -> HandlerFailure {
        let any: &dyn Any = &error;
        let public = any
            .downcast_ref::<PublicError>()
            .or_else(|| {
                any.downcast_ref::<crate::BoxError>()?
                    .downcast_ref::<PublicError>()
            })
            .map(|public| public.message().to_owned());
        HandlerFailure {
            public,
            detail: error.to_string(),
        }
    }

    /// An internal failure: `detail` goes to the log only.
    pub(crate) fn internal(detail: String) -> HandlerFailure {
        HandlerFailure { public: None, detail }
    }

    /// A failure whose client text is `public`, with more `detail` for the log.
    pub(crate) fn public(public: String, detail: String) -> HandlerFailure {
        HandlerFailure {
            public: Some(public),
            detail,
        }
    }

    /// The text the client may read, if the app chose one.
    pub fn public_text(&self) -> Option<&str> {
        self.public.as_deref()
    }

    /// The full text, for the log.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// A short random id tying an error reply to its log line.
pub(crate) fn error_id() -> String {
    format!("{:08x}", rand::random::<u32>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_errors_are_public() {
        let public = HandlerFailure::from_error(PublicError::new("no such room"));
        assert_eq!(public.public_text(), Some("no such room"));
        let boxed: crate::BoxError = Box::new(PublicError::new("boxed"));
        assert_eq!(HandlerFailure::from_error(boxed).public_text(), Some("boxed"));
        let string = HandlerFailure::from_error("db at 10.0.0.3 refused".to_owned());
        assert_eq!(string.public_text(), None);
        assert_eq!(string.detail(), "db at 10.0.0.3 refused");
        let io = HandlerFailure::from_error(std::io::Error::other("disk"));
        assert_eq!(io.public_text(), None);
    }

    #[test]
    fn error_ids_are_eight_hex_digits() {
        let id = error_id();
        assert_eq!(id.len(), 8);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
