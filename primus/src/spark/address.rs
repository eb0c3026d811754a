//! Where a spark connects from, honouring proxy headers like Primus.

use http::HeaderMap;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// The remote address of a spark: `{ip, port, secure}` as in Primus.
///
/// Proxy headers are trusted by default, as Primus does (its whitelist is
/// empty): the first header family present among `fastly-client-ip`,
/// `x-forwarded-for`, `z-forwarded-for`, `forwarded` and `x-real-ip` wins,
/// with its `*-port` and `*-proto`/`fastly-ssl` companions. The first
/// comma-separated entry is the client; if any entry is not an IP address the
/// header family is ignored. Turn trust off with
/// [`ServerBuilder::trust_proxy`](crate::ServerBuilder::trust_proxy).
///
/// ```
/// use primus::spark::Address;
/// use http::HeaderMap;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("x-forwarded-for", "203.0.113.7, 10.0.0.1".parse().unwrap());
/// headers.insert("x-forwarded-port", "4444".parse().unwrap());
/// headers.insert("x-forwarded-proto", "https".parse().unwrap());
/// let address = Address::resolve(&headers, Some("127.0.0.1:5000".parse().unwrap()), true);
/// assert_eq!(address.ip, Some("203.0.113.7".parse().unwrap()));
/// assert_eq!(address.port, 4444);
/// assert!(address.secure);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    /// The client's IP address. `None` only when the server was mounted
    /// without connect info and no proxy header named the client (serve the
    /// router with `into_make_service_with_connect_info::<SocketAddr>()`).
    pub ip: Option<IpAddr>,
    /// The client's port (0 when unknown).
    pub port: u16,
    /// True when a proxy said the client used HTTPS.
    pub secure: bool,
}

struct Family {
    ip: &'static str,
    port: &'static str,
    proto: &'static str,
}

const FAMILIES: [Family; 5] = [
    Family {
        ip: "fastly-client-ip",
        port: "fastly-client-port",
        proto: "fastly-ssl",
    },
    Family {
        ip: "x-forwarded-for",
        port: "x-forwarded-port",
        proto: "x-forwarded-proto",
    },
    Family {
        ip: "z-forwarded-for",
        port: "z-forwarded-port",
        proto: "z-forwarded-proto",
    },
    Family {
        ip: "forwarded",
        port: "forwarded-port",
        proto: "forwarded-proto",
    },
    Family {
        ip: "x-real-ip",
        port: "x-real-port",
        proto: "x-real-proto",
    },
];

impl Address {
    /// Resolves the address from request headers and the socket's peer.
    pub fn resolve(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> Address {
        if trust_proxy {
            for family in &FAMILIES {
                if let Some(address) = from_family(headers, family) {
                    return address;
                }
            }
        }
        Address {
            ip: peer.map(|p| p.ip()),
            port: peer.map_or(0, |p| p.port()),
            secure: false,
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn from_family(headers: &HeaderMap, family: &Family) -> Option<Address> {
    let list = header(headers, family.ip)?;
    let mut first = None;
    for entry in list.split(',').map(str::trim) {
        let parsed = parse_entry(entry)?;
        first.get_or_insert(parsed);
    }
    let (ip, entry_port) = first?;
    let port = entry_port
        .or_else(|| header(headers, family.port).and_then(|p| p.parse().ok()))
        .unwrap_or(0);
    let secure = matches!(header(headers, family.proto), Some("https") | Some("1"));
    Some(Address {
        ip: Some(ip),
        port,
        secure,
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1` or `[::1]:80`.
fn parse_entry(entry: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some((ip, None));
    }
    entry.parse::<SocketAddr>().ok().map(|s| (s.ip(), Some(s.port())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn invalid_entry_falls_back_to_socket() {
        let peer = Some("127.0.0.1:9".parse().unwrap());
        let a = Address::resolve(&headers(&[("x-forwarded-for", "not-an-ip")]), peer, true);
        assert_eq!(a.ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(a.port, 9);
    }

    #[test]
    fn real_ip_has_port_zero_and_untrusted_ignores_headers() {
        let h = headers(&[("x-real-ip", "198.51.100.9")]);
        let a = Address::resolve(&h, None, true);
        assert_eq!((a.ip, a.port), (Some("198.51.100.9".parse().unwrap()), 0));
        let b = Address::resolve(&h, Some("127.0.0.1:9".parse().unwrap()), false);
        assert_eq!(b.ip, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn entry_with_port() {
        let a = Address::resolve(&headers(&[("x-forwarded-for", "203.0.113.1:8080")]), None, true);
        assert_eq!(a.port, 8080);
    }
}
