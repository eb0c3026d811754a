//! The framing of the HTTP transports: SockJS payloads (`xhr_send` bodies,
//! WebSocket frames) and Engine.IO polling payloads.
//!
//! Checked: neither decoder panics; SockJS accepts exactly what serde_json
//! reads as an array of strings (or one string, over WebSocket) within the
//! size limit, and what the server writes (`a[...]`) reads back as the same
//! messages; Engine.IO payloads the server writes decode to the messages
//! written, and a decoded payload written again decodes to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::fuzzing::{engine_io_messages, engine_io_payload, sockjs_array, sockjs_messages};

const LIMIT: usize = 64;

fn sockjs(data: &[u8]) {
    for bare in [false, true] {
        let ours = sockjs_messages(data, bare, LIMIT);
        let theirs = match serde_json::from_slice::<Vec<String>>(data) {
            Ok(strings) => Some(strings),
            Err(_) if bare => serde_json::from_slice::<String>(data).ok().map(|s| vec![s]),
            Err(_) => None,
        };
        let theirs = theirs.filter(|strings| strings.iter().all(|s| s.len() <= LIMIT));
        assert_eq!(
            ours,
            theirs,
            "{:?} (bare string: {bare})",
            String::from_utf8_lossy(data)
        );
        if let Some(messages) = ours {
            let refs: Vec<&str> = messages.iter().map(String::as_str).collect();
            let written = sockjs_array(&refs);
            let inner = written.strip_prefix(b"a").expect("an a[...] frame");
            let read: Vec<String> = serde_json::from_slice(inner).expect("the server's frame is JSON");
            assert_eq!(read, messages);
        }
    }
}

fn engine_io(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(messages) = engine_io_messages(&text, LIMIT) {
        let written = engine_io_payload(&messages);
        if !messages.is_empty() {
            assert_eq!(
                engine_io_messages(&written, LIMIT).as_ref(),
                Some(&messages),
                "{written:?}"
            );
        }
    }
    // What the server writes reads back: the input as one text message and
    // as one binary message.
    // At most LIMIT bytes (the limit counts bytes, not characters).
    let mut fitting = String::new();
    for c in text.chars() {
        if fitting.len() + c.len_utf8() > LIMIT {
            break;
        }
        fitting.push(c);
    }
    let as_text = primus::fuzzing::EngineIoMessage::Text(fitting);
    let as_binary = primus::fuzzing::EngineIoMessage::Binary(data.iter().copied().take(LIMIT).collect());
    for message in [as_text, as_binary] {
        let written = engine_io_payload(std::slice::from_ref(&message));
        let read = engine_io_messages(&written, LIMIT);
        // A text containing the record separator is split by it, as in
        // engine.io itself; anything else reads back whole.
        if !matches!(&message, primus::fuzzing::EngineIoMessage::Text(t) if t.contains('\u{1e}')) {
            assert_eq!(read, Some(vec![message]), "{written:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    sockjs(data);
    engine_io(data);
});
