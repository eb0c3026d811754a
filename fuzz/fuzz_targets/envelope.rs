//! The typed-envelope reader (`event`, `request`, `reply` read in the same
//! pass as the syntax check), differential against serde_json reading the
//! same struct: when the reader answers, serde_json answers the same; it
//! may leave the text to serde_json only when the text is not an object,
//! serde_json refuses it, a top-level key is escaped, or it is nested deeper
//! than the fast check follows. Inputs are made UTF-8 first, as text frames
//! are.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::fuzzing::{envelope_decode, envelope_scan, json_scan_members, JSON_MAX_DEPTH};

fn is_whitespace(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn check(bytes: &[u8]) {
    let serde = envelope_decode(bytes);
    let is_object = bytes.iter().find(|b| !is_whitespace(b)) == Some(&b'{');
    match envelope_scan(bytes) {
        Some(scanned) => {
            assert!(is_object, "an envelope read from a non-object");
            match serde {
                Ok(decoded) => assert_eq!(scanned, decoded),
                Err(error) => panic!("the reader read {scanned:?}, serde_json refuses it: {error}"),
            }
        }
        None => {
            let Ok(decoded) = serde else {
                return;
            };
            if !is_object {
                return;
            }
            let mut escaped_key = false;
            let valid = json_scan_members(bytes, |key, _| escaped_key |= key.contains(&b'\\'));
            assert!(
                escaped_key || !valid && nesting(bytes) > JSON_MAX_DEPTH,
                "the reader gave up on {:?}, which serde_json reads as {decoded:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}

/// The deepest nesting of `[`/`{` outside strings (the text is valid JSON
/// here: serde_json read it).
fn nesting(bytes: &[u8]) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

fuzz_target!(|data: &[u8]| {
    // Envelopes are read from text frames only, which are UTF-8 (serde_json
    // refuses other bytes in a key, the fast check does not look).
    let text = String::from_utf8_lossy(data);
    let data = text.as_bytes();
    check(data);
    // Most random text is no object: try it as the members of one too.
    let mut object = Vec::with_capacity(data.len() + 2);
    object.push(b'{');
    object.extend_from_slice(data);
    object.push(b'}');
    check(&object);
});
