//! `primus::` control classification against a model of Primus' own split
//! (`spark.js` and `primus.js`), which works on JavaScript strings, that is
//! UTF-16 code units:
//!
//! ```js
//! var last = msg.indexOf(':', 8), value = msg.slice(last + 2);
//! switch (msg.slice(8, last)) { case 'ping': … }
//! ```
//!
//! Checked: `classify` never panics, finds the same type and the same value
//! as the model (where the model's value starts inside a surrogate pair,
//! which a Rust string cannot hold, `classify` keeps the whole character),
//! and the messages the crate writes classify as what they are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::protocol::{self, Control};

/// `(type, value)` as Primus splits `message`, in UTF-16 code units.
fn primus_split(message: &str) -> Option<(Vec<u16>, Vec<u16>)> {
    if !message.starts_with("primus::") {
        return None;
    }
    let units: Vec<u16> = message.encode_utf16().collect();
    let len = units.len() as isize;
    // `indexOf(':', 8)`: -1 when there is none.
    let last = units[8..]
        .iter()
        .position(|&u| u == u16::from(b':'))
        .map_or(-1, |i| i as isize + 8);
    // `slice(start, end)` with JavaScript's negative indices and clamping.
    let slice = |start: isize, end: isize| {
        let clamp = |i: isize| if i < 0 { (len + i).max(0) } else { i.min(len) } as usize;
        let (start, end) = (clamp(start), clamp(end));
        units[start..end.max(start)].to_vec()
    };
    Some((slice(8, last), slice(last + 2, len)))
}

fn utf16(text: &str) -> Vec<u16> {
    text.encode_utf16().collect()
}

fn check(message: &str) {
    let found = protocol::classify(message);
    let Some((kind, value)) = primus_split(message) else {
        assert_eq!(found, None, "{message:?} has no prefix");
        return;
    };
    let expected_kind = String::from_utf16(&kind).ok();
    let (found_kind, found_value) = match found {
        None => {
            assert!(
                !matches!(
                    expected_kind.as_deref(),
                    Some("ping" | "pong" | "id" | "server" | "recover" | "recovered")
                ),
                "{message:?}: Primus reads type {expected_kind:?}, classify found nothing"
            );
            return;
        }
        Some(Control::Ping(v)) => ("ping", v),
        Some(Control::Pong(v)) => ("pong", v),
        Some(Control::Id(v)) => ("id", v),
        Some(Control::ServerClose) => ("server", "close"),
        Some(Control::ServerOther(v)) => {
            assert_ne!(v, "close");
            ("server", v)
        }
        Some(Control::Recover(v)) => ("recover", v),
        Some(Control::Recovered(v)) => ("recovered", v),
    };
    assert_eq!(expected_kind.as_deref(), Some(found_kind), "{message:?}: type");
    let found_value = utf16(found_value);
    if value.first().is_some_and(|u| (0xDC00..0xE000).contains(u)) {
        // Primus' value starts with the second half of a surrogate pair.
        assert_eq!(
            &found_value[1..],
            &value[..],
            "{message:?}: value after a split pair"
        );
        assert!((0xD800..0xDC00).contains(&found_value[0]));
    } else {
        assert_eq!(found_value, value, "{message:?}: value");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&text);
    // The fuzzer rarely spells the prefix: try the text behind it too.
    let prefixed = format!("{}{text}", protocol::PREFIX);
    check(&prefixed);

    // What the crate writes classifies as what it is.
    let number = data
        .iter()
        .fold(0u64, |n, &b| n.wrapping_mul(31).wrapping_add(u64::from(b)));
    assert_eq!(
        protocol::classify(&protocol::ping(number)),
        Some(Control::Ping(&number.to_string()))
    );
    assert_eq!(
        protocol::classify(&protocol::pong(&text)),
        Some(Control::Pong(&text))
    );
    assert_eq!(protocol::classify(&protocol::id(&text)), Some(Control::Id(&text)));
    assert_eq!(
        protocol::classify(protocol::SERVER_CLOSE),
        Some(Control::ServerClose)
    );
    assert_eq!(protocol::classify(protocol::ID_REQUEST), Some(Control::Id("")));
    let _ = protocol::pong_value(&text);
});
