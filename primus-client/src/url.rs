//! Turning the URL a user gives into the WebSocket URL Primus clients use.

use crate::ClientError;
use rand::Rng;
use url::Url;

/// Builds `ws[s]://host[:port]<pathname>?<user query>&_primuscb=<id>`.
///
/// As in Primus, only the scheme, credentials, host, port and query of the
/// given URL are used; its path is replaced by the server's pathname. For a
/// repeated query key the first value wins, and `_primuscb` (a cache buster)
/// is appended or replaces a user key of the same name.
pub(crate) fn websocket_url(given: &str, pathname: &str) -> Result<Url, ClientError> {
    let parsed = Url::parse(given).map_err(|error| ClientError::InvalidUrl {
        url: given.to_owned(),
        reason: error.to_string(),
    })?;
    let scheme = match parsed.scheme() {
        "http" | "ws" => "ws",
        "https" | "wss" => "wss",
        other => {
            return Err(ClientError::InvalidUrl {
                url: given.to_owned(),
                reason: format!("unsupported scheme `{other}`; use http, https, ws or wss"),
            })
        }
    };
    let mut url = parsed.clone();
    url.set_scheme(scheme).map_err(|()| ClientError::InvalidUrl {
        url: given.to_owned(),
        reason: "cannot change the scheme".to_owned(),
    })?;
    url.set_path(pathname);
    url.set_fragment(None);
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (key, value) in parsed.query_pairs() {
        if !pairs.iter().any(|(k, _)| *k == key) {
            pairs.push((key.into_owned(), value.into_owned()));
        }
    }
    let buster = cache_buster();
    match pairs.iter_mut().find(|(k, _)| k == "_primuscb") {
        Some(pair) => pair.1 = buster,
        None => pairs.push(("_primuscb".to_owned(), buster)),
    }
    url.query_pairs_mut().clear().extend_pairs(pairs);
    Ok(url)
}

/// `url` with a new `_primuscb` value: each connection attempt gets its
/// own, as Primus' clients do, so no cache or proxy answers a reconnect
/// from an earlier attempt.
pub(crate) fn with_fresh_cache_buster(url: &Url) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let value = if key == "_primuscb" {
                cache_buster()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    let mut fresh = url.clone();
    fresh.query_pairs_mut().clear().extend_pairs(pairs);
    fresh
}

/// `url` with `key` set to `value` (replacing a value the user gave).
pub(crate) fn with_query_pair(url: &Url, key: &str, value: &str) -> Url {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.push((key.to_owned(), value.to_owned()));
    let mut changed = url.clone();
    changed.query_pairs_mut().clear().extend_pairs(pairs);
    changed
}

/// A short random token in Primus' `yeast` alphabet.
fn cache_buster() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_";
    let mut rng = rand::rng();
    (0..7)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_pair_is_set_once() {
        let url = websocket_url("http://example.com/?primus_recover=x&room=a", "/primus").unwrap();
        let set = with_query_pair(&url, "primus_recover", "new");
        let values: Vec<_> = set.query_pairs().filter(|(k, _)| k == "primus_recover").collect();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].1, "new");
        assert!(set.query_pairs().any(|(k, v)| k == "room" && v == "a"));
    }

    #[test]
    fn every_attempt_gets_its_own_cache_buster() {
        let first = websocket_url("http://example.com/?room=a", "/primus").unwrap();
        let buster = |url: &Url| {
            url.query_pairs()
                .find(|(k, _)| k == "_primuscb")
                .map(|(_, v)| v.into_owned())
        };
        let attempts: Vec<Url> = (0..5).map(|_| with_fresh_cache_buster(&first)).collect();
        for attempt in &attempts {
            assert_ne!(buster(attempt), buster(&first));
            assert_eq!(
                attempt
                    .query_pairs()
                    .next()
                    .map(|(k, v)| (k.into_owned(), v.into_owned())),
                Some(("room".into(), "a".into()))
            );
            assert_eq!(attempt.path(), "/primus");
        }
        assert_ne!(buster(&attempts[0]), buster(&attempts[1]));
    }

    #[test]
    fn converts_like_primus() {
        let url = websocket_url(
            "https://user:pw@example.com:8443/some/path?a=1&a=2&b=%20x",
            "/primus",
        )
        .unwrap();
        assert_eq!(url.scheme(), "wss");
        assert_eq!(url.username(), "user");
        assert_eq!(url.port(), Some(8443));
        assert_eq!(url.path(), "/primus");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("a".into(), "1".into()));
        assert_eq!(pairs[1], ("b".into(), " x".into()));
        assert_eq!(pairs[2].0, "_primuscb");
        assert_eq!(pairs.len(), 3);
        assert_eq!(
            websocket_url("http://h:80", "/p")
                .unwrap()
                .as_str()
                .split('?')
                .next(),
            Some("ws://h/p")
        );
        assert!(websocket_url("ftp://h", "/p").is_err());
    }
}
