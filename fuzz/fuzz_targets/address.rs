//! The remote address from proxy headers (`x-forwarded-for` and its
//! families) and the socket's peer.
//!
//! Checked: `Address::resolve` never panics; without trust it is the peer;
//! with trust it is the first header family whose every comma-separated
//! entry is an IP address (with or without a port), its first entry's
//! address and port (else the family's port header, else 0) and whether its
//! proto header says HTTPS; with no such family, the peer.
#![no_main]

use arbitrary::Arbitrary;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use primus::spark::Address;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `(ip, port, proto)` header names, in the order they are trusted.
const FAMILIES: [[&str; 3]; 5] = [
    ["fastly-client-ip", "fastly-client-port", "fastly-ssl"],
    ["x-forwarded-for", "x-forwarded-port", "x-forwarded-proto"],
    ["z-forwarded-for", "z-forwarded-port", "z-forwarded-proto"],
    ["forwarded", "forwarded-port", "forwarded-proto"],
    ["x-real-ip", "x-real-port", "x-real-proto"],
];

#[derive(Debug, Arbitrary)]
struct Input {
    /// `(header, value)`: the header is a family's (ip, port or proto) by
    /// index, or `host` for anything out of range.
    headers: Vec<(u8, Vec<u8>)>,
    peer: Option<(bool, u128, u16)>,
    trust_proxy: bool,
}

fn header_name(index: u8) -> &'static str {
    let index = usize::from(index);
    FAMILIES
        .get(index / 3 % 6)
        .map_or("host", |family| family[index % 3])
}

/// The header's value as text, if it is visible ASCII (trimmed).
fn text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok().map(str::trim)
}

fn entry(entry: &str) -> Option<(IpAddr, Option<u16>)> {
    match entry.parse::<IpAddr>() {
        Ok(ip) => Some((ip, None)),
        Err(_) => entry.parse::<SocketAddr>().ok().map(|s| (s.ip(), Some(s.port()))),
    }
}

fn model(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> Address {
    if trust_proxy {
        for [ip, port, proto] in FAMILIES {
            let Some(list) = text(headers, ip) else {
                continue;
            };
            let entries: Option<Vec<_>> = list.split(',').map(|e| entry(e.trim())).collect();
            let Some(&(address, entry_port)) = entries.as_ref().and_then(|e| e.first()) else {
                continue;
            };
            let port = entry_port
                .or_else(|| text(headers, port)?.parse().ok())
                .unwrap_or(0);
            let secure = matches!(text(headers, proto), Some("https" | "1"));
            return Address {
                ip: Some(address),
                port,
                secure,
            };
        }
    }
    Address {
        ip: peer.map(|p| p.ip()),
        port: peer.map_or(0, |p| p.port()),
        secure: false,
    }
}

fuzz_target!(|input: Input| {
    let mut headers = HeaderMap::new();
    for (index, value) in &input.headers {
        if let Ok(value) = HeaderValue::from_bytes(value) {
            // Appended: a repeated header keeps every value, as hyper does.
            headers.append(HeaderName::from_static(header_name(*index)), value);
        }
    }
    let peer = input.peer.map(|(v6, bits, port)| {
        let ip = match v6 {
            true => IpAddr::V6(Ipv6Addr::from(bits)),
            false => IpAddr::V4(Ipv4Addr::from(bits as u32)),
        };
        SocketAddr::new(ip, port)
    });
    let address = Address::resolve(&headers, peer, input.trust_proxy);
    assert_eq!(
        address,
        model(&headers, peer, input.trust_proxy),
        "{headers:?} {peer:?}"
    );
    if !input.trust_proxy {
        assert_eq!(address.ip, peer.map(|p| p.ip()));
        assert!(!address.secure);
    }
    serde_json::to_string(&address).expect("an address serializes");
});
