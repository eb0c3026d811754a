//! What goes over the WebSocket for each server transformer: Primus'
//! `websockets` (one message per WebSocket message), engine.io's WebSocket
//! transport (Engine.IO v4 packets: `4` and the message, the server's `2`
//! ping answered with `3`) and SockJS' `websocket` transport (`o`, `h`,
//! `a[...]` arrays of messages, `c[...]`; messages sent as `["…"]`).

use primus::{Frame, FrameKind};
use rand::Rng;
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use url::Url;

/// The server transformer a client speaks (Primus' `transformer` option).
/// Only the WebSocket transport of engine.io and SockJS is spoken.
///
/// ```
/// use primus_client::Transport;
///
/// assert_eq!(Transport::default(), Transport::WebSockets);
/// assert_eq!(Transport::EngineIo.name(), "engine.io");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Transport {
    /// Primus' `websockets` (the default).
    #[default]
    WebSockets,
    /// Primus' `engine.io`, over Engine.IO v4's WebSocket transport.
    EngineIo,
    /// Primus' `sockjs`, over SockJS' `websocket` transport.
    SockJs,
}

impl Transport {
    /// The name Primus and `/spec` use.
    ///
    /// ```
    /// assert_eq!(primus_client::Transport::SockJs.name(), "sockjs");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Transport::WebSockets => "websockets",
            Transport::EngineIo => "engine.io",
            Transport::SockJs => "sockjs",
        }
    }

    /// The URL of one connection: `base` is the server's WebSocket URL
    /// (pathname and query); engine.io adds its query, SockJS a new session.
    pub(crate) fn session_url(self, base: &Url) -> Url {
        let mut url = base.clone();
        let path = base.path().trim_end_matches('/').to_owned();
        match self {
            Transport::WebSockets => {}
            Transport::EngineIo => {
                url.set_path(&format!("{path}/"));
                url.query_pairs_mut()
                    .append_pair("EIO", "4")
                    .append_pair("transport", "websocket");
            }
            Transport::SockJs => {
                const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz012345";
                let mut rng = rand::rng();
                let server = rng.random_range(0..1000);
                let session: String = (0..8)
                    .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                    .collect();
                url.set_path(&format!("{path}/{server:03}/{session}/websocket"));
            }
        }
        url
    }

    /// A message as this transport sends it; `None` when it cannot (SockJS
    /// carries text only).
    pub(crate) fn encode(self, frame: Frame) -> Option<WsMessage> {
        let (kind, bytes) = frame.into_parts();
        let text = match kind {
            // engine.io takes binary WebSocket messages as binary messages.
            FrameKind::Binary if self == Transport::SockJs => return None,
            FrameKind::Binary => return Some(WsMessage::Binary(bytes)),
            // Frames keep text valid UTF-8.
            FrameKind::Text => Utf8Bytes::try_from(bytes).ok()?,
        };
        let text = match self {
            Transport::WebSockets => text,
            Transport::EngineIo => Utf8Bytes::from(format!("4{}", text.as_str())),
            Transport::SockJs => Utf8Bytes::from(serde_json::to_string(&[text.as_str()]).ok()?),
        };
        Some(WsMessage::Text(text))
    }

    /// What one WebSocket message from the server carries.
    pub(crate) fn decode(self, message: WsMessage) -> Incoming {
        match (self, message) {
            (Transport::WebSockets | Transport::EngineIo, WsMessage::Binary(bytes)) => {
                Incoming::Frames(vec![Frame::binary(bytes)])
            }
            (Transport::WebSockets, WsMessage::Text(text)) => match Frame::text_from_bytes(text.into()) {
                Ok(frame) => Incoming::Frames(vec![frame]),
                Err(_) => Incoming::Nothing,
            },
            (Transport::EngineIo, WsMessage::Text(text)) => {
                let text = text.as_str();
                match text.as_bytes().first() {
                    Some(b'4') => Incoming::Frames(vec![Frame::text(&text[1..])]),
                    // A binary message as the server sends it to clients
                    // that force base64 (Primus' engine.io clients do).
                    Some(b'b') => match base64(&text.as_bytes()[1..]) {
                        Some(bytes) => Incoming::Frames(vec![Frame::binary(bytes)]),
                        None => Incoming::Nothing,
                    },
                    Some(b'2') => {
                        Incoming::Answer(WsMessage::Text(Utf8Bytes::from(format!("3{}", &text[1..]))))
                    }
                    Some(b'1') => Incoming::Closed,
                    _ => Incoming::Nothing,
                }
            }
            (Transport::SockJs, WsMessage::Text(text)) => {
                let text = text.as_str();
                match text.as_bytes().first() {
                    Some(b'a') => match serde_json::from_str::<Vec<String>>(&text[1..]) {
                        Ok(messages) => Incoming::Frames(messages.into_iter().map(Frame::text).collect()),
                        Err(_) => Incoming::Nothing,
                    },
                    Some(b'c') => Incoming::Closed,
                    _ => Incoming::Nothing,
                }
            }
            _ => Incoming::Nothing,
        }
    }
}

/// Standard base64 (with or without padding); `None` when invalid.
fn base64(text: &[u8]) -> Option<Vec<u8>> {
    let digits = text
        .strip_suffix(b"==")
        .or_else(|| text.strip_suffix(b"="))
        .unwrap_or(text);
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in digits {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// What a WebSocket message from the server carried.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// Primus messages.
    Frames(Vec<Frame>),
    /// A transport-level message to answer (engine.io's ping).
    Answer(WsMessage),
    /// The transport's close (engine.io `1`, SockJS `c[...]`).
    Closed,
    /// Nothing for the client (open packets, heartbeats).
    Nothing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_made_per_transport() {
        let base = Url::parse("ws://h:1/primus?a=1").unwrap();
        assert_eq!(
            Transport::WebSockets.session_url(&base).as_str(),
            "ws://h:1/primus?a=1"
        );
        assert_eq!(
            Transport::EngineIo.session_url(&base).as_str(),
            "ws://h:1/primus/?a=1&EIO=4&transport=websocket"
        );
        let sockjs = Transport::SockJs.session_url(&base);
        let segments: Vec<&str> = sockjs.path().split('/').collect();
        assert_eq!(segments[1], "primus");
        assert_eq!(segments[2].len(), 3);
        assert_eq!(segments[3].len(), 8);
        assert_eq!(segments[4], "websocket");
        assert_eq!(sockjs.query(), Some("a=1"));
    }

    #[test]
    fn messages_are_framed_per_transport() {
        let frame = || Frame::text("\"hi\"");
        let text = |m: Option<WsMessage>| m.unwrap().into_text().unwrap().as_str().to_owned();
        assert_eq!(text(Transport::WebSockets.encode(frame())), "\"hi\"");
        assert_eq!(text(Transport::EngineIo.encode(frame())), "4\"hi\"");
        assert_eq!(text(Transport::SockJs.encode(frame())), r#"["\"hi\""]"#);
        assert!(Transport::SockJs.encode(Frame::binary(vec![1])).is_none());

        let message = |t: &str| WsMessage::Text(Utf8Bytes::from(t.to_owned()));
        assert!(
            matches!(Transport::EngineIo.decode(message("4\"hi\"")), Incoming::Frames(f) if f[0].as_str() == Some("\"hi\""))
        );
        assert!(
            matches!(Transport::EngineIo.decode(message("2")), Incoming::Answer(WsMessage::Text(t)) if t.as_str() == "3")
        );
        assert!(matches!(
            Transport::EngineIo.decode(message("1")),
            Incoming::Closed
        ));
        assert!(
            matches!(Transport::SockJs.decode(message(r#"a["1","2"]"#)), Incoming::Frames(f) if f.len() == 2)
        );
        assert!(matches!(
            Transport::SockJs.decode(message("o")),
            Incoming::Nothing
        ));
        assert!(matches!(
            Transport::SockJs.decode(message(r#"c[1000,"Normal closure"]"#)),
            Incoming::Closed
        ));
    }
}
