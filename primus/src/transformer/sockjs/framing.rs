//! SockJS framing: what goes over every SockJS transport.
//!
//! The server sends `o` (open), `h` (heartbeat), `a[...]` (an array of
//! message strings) and `c[code,"reason"]` (close). The client sends a JSON
//! array of message strings (`xhr_send`, `websocket`), or a bare JSON string
//! over `websocket`. A Primus message is a string of its parser's text, so
//! it is JSON-encoded twice: once by the parser, once here.

use crate::wire::Frame;
use bytes::{BufMut, Bytes, BytesMut};

/// The open frame, sent once per session.
pub(super) const OPEN: &str = "o";

/// Most messages in one client payload (sockjs-client sends what was
/// written meanwhile in one `xhr_send`: thousands at most).
pub(crate) const MAX_MESSAGES: usize = 10_000;

/// The heartbeat frame.
pub(super) const HEARTBEAT: &str = "h";

/// Why a client's SockJS payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FramingError {
    /// An empty body (`xhr_send`).
    #[error("Payload expected.")]
    Empty,
    /// Not a JSON array of strings (nor one string).
    #[error("Broken JSON encoding.")]
    Broken,
    /// One message is longer than `max_length`.
    #[error("a message is larger than the server's limit of {limit} bytes")]
    TooLarge { limit: usize },
}

/// The largest client payload (an `xhr_send` body, a WebSocket frame) for
/// messages of at most `max_length` bytes: quoting inside the array can
/// double a message (every `"` becomes `\"`). Each message is checked
/// against `max_length` itself once decoded.
pub(super) fn payload_limit(max_length: usize) -> usize {
    max_length.saturating_mul(2).saturating_add(64)
}

/// A close frame, `c[<code>,"<reason>"]`.
///
/// ```ignore
/// assert_eq!(close(1000, "Normal closure"), r#"c[1000,"Normal closure"]"#);
/// ```
pub(super) fn close(code: u16, reason: &str) -> Bytes {
    let mut out = format!("c[{code},").into_bytes();
    quote_into(&mut out, reason);
    out.push(b']');
    Bytes::from(out)
}

/// A message as a JSON string, ready to go into an `a[...]` frame; `None`
/// for a binary frame (SockJS carries text only).
pub(crate) fn quote(frame: &Frame) -> Option<Bytes> {
    let text = frame.as_str()?;
    let mut out = Vec::with_capacity(text.len() + 8);
    quote_into(&mut out, text);
    Some(Bytes::from(out))
}

fn quote_into(out: &mut Vec<u8>, text: &str) {
    // A `&str` always serializes.
    if serde_json::to_writer(&mut *out, text).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// An `a[...]` frame of already quoted messages, followed by `suffix`
/// (`\n` for the XHR transports, nothing for WebSocket).
pub(crate) fn array(quoted: &[Bytes], suffix: &[u8]) -> Bytes {
    let len: usize = quoted.iter().map(|q| q.len() + 1).sum::<usize>() + 2 + suffix.len();
    let mut out = BytesMut::with_capacity(len);
    out.put_slice(b"a[");
    for (i, message) in quoted.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(message);
    }
    out.put_u8(b']');
    out.put_slice(suffix);
    out.freeze()
}

/// The messages of a client's payload: a JSON array of strings or, when
/// `bare_string` (WebSocket), one JSON string. Each message must fit in
/// `max_length` bytes.
pub(crate) fn messages(
    payload: &[u8],
    bare_string: bool,
    max_length: usize,
) -> Result<Vec<Frame>, FramingError> {
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Err(FramingError::Empty);
    }
    let strings: Vec<String> = match serde_json::from_slice::<Vec<String>>(payload) {
        Ok(strings) => strings,
        Err(_) if bare_string => {
            vec![serde_json::from_slice::<String>(payload).map_err(|_| FramingError::Broken)?]
        }
        Err(_) => return Err(FramingError::Broken),
    };
    if strings.iter().any(|s| s.len() > max_length) {
        return Err(FramingError::TooLarge { limit: max_length });
    }
    Ok(strings.into_iter().map(Frame::text).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_written_as_sockjs_does() {
        assert_eq!(close(1000, "Normal closure"), r#"c[1000,"Normal closure"]"#);
        let hello = quote(&Frame::text(r#""hello""#)).unwrap();
        let object = quote(&Frame::text(r#"{"a":1}"#)).unwrap();
        assert_eq!(array(std::slice::from_ref(&hello), b""), r#"a["\"hello\""]"#);
        assert_eq!(
            array(&[hello, object], b"\n"),
            "a[\"\\\"hello\\\"\",\"{\\\"a\\\":1}\"]\n"
        );
        assert_eq!(quote(&Frame::binary(vec![1, 2])), None);
    }

    #[test]
    fn client_payloads_are_arrays_of_strings() {
        let frames = messages(br#"["\"hi\"","\"primus::id::\""]"#, false, 100).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].as_str(), Some(r#""primus::id::""#));
        assert_eq!(messages(br#""\"hi\"""#, true, 100).unwrap().len(), 1);
        assert_eq!(messages(br#""\"hi\"""#, false, 100), Err(FramingError::Broken));
        assert_eq!(messages(b"", false, 100), Err(FramingError::Empty));
        assert_eq!(messages(b"[1,2]", false, 100), Err(FramingError::Broken));
        assert_eq!(messages(b"[\"", false, 100), Err(FramingError::Broken));
        assert_eq!(
            messages(br#"["0123456789"]"#, false, 4),
            Err(FramingError::TooLarge { limit: 4 })
        );
    }
}
