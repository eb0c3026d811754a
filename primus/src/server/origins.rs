//! Which web origins may use the server: [`Origins`].
//!
//! Browsers send an `Origin` header with cross-origin requests and with
//! every WebSocket upgrade; nothing else stops a page of another site from
//! opening a WebSocket with the user's cookies (cross-site WebSocket
//! hijacking) or reading CORS responses with credentials. So by default
//! only the server's **own origin** is accepted: requests without an
//! `Origin` (native clients: the Rust client, Node Primus clients, curl) and
//! requests whose `Origin` is the origin they were sent to (scheme, host
//! and port of the request) pass; any other origin is refused, on upgrades
//! by the built-in `origin` middleware (`403 Origin not allowed`) and on
//! plain HTTP requests by CORS (`403`, no CORS headers). Add origins with
//! [`Origins::allow`]; [`Origins::any`] restores Primus' permissive
//! behaviour (every origin reflected, with credentials).

use http::header::{self, HeaderMap};

/// The origins a server accepts (set with
/// [`ServerBuilder::origins`](crate::ServerBuilder::origins)).
///
/// ```
/// use primus::server::Origins;
///
/// let own = Origins::default();
/// assert!(own.permits(None, Some("chat.example"), true));
/// assert!(own.permits(Some("https://chat.example"), Some("chat.example"), true));
/// assert!(!own.permits(Some("http://chat.example"), Some("chat.example"), true));
/// assert!(!own.permits(Some("https://evil.example"), Some("chat.example"), true));
///
/// let listed = Origins::allow(["https://app.example"]);
/// assert!(listed.permits(Some("https://app.example"), Some("api.example"), true));
/// assert!(Origins::any().permits(Some("null"), Some("api.example"), false));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origins {
    any: bool,
    /// Normalised (`scheme://host[:port]`, lower case, no default port).
    listed: Vec<String>,
}

impl Origins {
    /// The default: only the server's own origin (and requests without an
    /// `Origin` header).
    pub fn same_origin() -> Origins {
        Origins::default()
    }

    /// The server's own origin plus these (`https://app.example`, exact
    /// scheme, host and port; `null` for sandboxed pages and files).
    pub fn allow<I, S>(origins: I) -> Origins
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Origins {
            any: false,
            listed: origins
                .into_iter()
                .filter_map(|origin| normalise(origin.as_ref()))
                .collect(),
        }
    }

    /// Every origin, as Primus does: a page of any site may connect and
    /// read CORS responses with credentials. Only for servers that do not
    /// rely on cookies or other ambient credentials.
    pub fn any() -> Origins {
        Origins {
            any: true,
            listed: Vec::new(),
        }
    }

    /// True when every origin is accepted ([`Origins::any`]).
    pub fn is_any(&self) -> bool {
        self.any
    }

    /// Whether a request with this `Origin` header, sent to `host` (its
    /// `Host` header) over a secure connection or not, is accepted.
    pub fn permits(&self, origin: Option<&str>, host: Option<&str>, secure: bool) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        if self.any {
            return true;
        }
        let Some(origin) = normalise(origin) else {
            return false;
        };
        if self.listed.contains(&origin) {
            return true;
        }
        let scheme = if secure { "https" } else { "http" };
        host.and_then(|host| normalise(&format!("{scheme}://{host}")))
            .is_some_and(|own| own == origin)
    }

    /// [`permits`](Self::permits) for a request's headers.
    pub(crate) fn permits_request(&self, headers: &HeaderMap, secure: bool) -> bool {
        let text = |name| {
            headers
                .get(name)
                .map(|value: &http::HeaderValue| value.to_str().ok())
        };
        match text(header::ORIGIN) {
            None => true,
            // An Origin that is not even text is nobody's.
            Some(None) => self.any,
            Some(Some(origin)) => self.permits(Some(origin), text(header::HOST).flatten(), secure),
        }
    }
}

/// `scheme://host[:port]` in lower case without the scheme's default port;
/// `None` for anything else (paths, user info, garbage). `null` stays.
fn normalise(origin: &str) -> Option<String> {
    if origin == "null" {
        return Some(origin.to_owned());
    }
    let (scheme, authority) = origin.split_once("://")?;
    let valid_scheme = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    let valid_authority = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    if !valid_scheme || !valid_authority {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let mut authority = authority.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some(":80"),
        "https" | "wss" => Some(":443"),
        _ => None,
    };
    if let Some(port) = default_port {
        if authority.ends_with(port) {
            authority.truncate(authority.len() - port.len());
        }
    }
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_counts_and_default_ports_do_not() {
        let own = Origins::same_origin();
        assert!(own.permits(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080"), false));
        assert!(!own.permits(Some("evil://127.0.0.1:8080"), Some("127.0.0.1:8080"), false));
        assert!(!own.permits(Some("https://127.0.0.1:8080"), Some("127.0.0.1:8080"), false));
        assert!(own.permits(Some("HTTP://Example.COM:80"), Some("example.com"), false));
        assert!(own.permits(Some("https://example.com"), Some("example.com:443"), true));
        assert!(!own.permits(Some("http://example.com.evil"), Some("example.com"), false));
        assert!(!own.permits(Some("null"), Some("example.com"), false));
        assert!(!own.permits(Some("http://example.com"), None, false));
        assert!(!own.permits(Some("http://user@example.com"), Some("user@example.com"), false));
        assert!(Origins::allow(["null"]).permits(Some("null"), Some("example.com"), false));
    }
}
