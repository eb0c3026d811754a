//! The JSON syntax check, differential against serde_json: it must accept
//! exactly what `serde_json::from_slice::<IgnoredAny>` accepts (nesting
//! deeper than `JSON_MAX_DEPTH` may be refused: it is left to serde_json),
//! and report exactly the members of a top-level object that serde_json
//! reads. The JSON parser's `inspect` is checked on the same text: an error
//! exactly when serde_json refuses it, a control message exactly when the
//! text is a string starting with `primus::`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::fuzzing::{json_scan, json_scan_members, JSON_MAX_DEPTH};
use primus::parser::{Inspection, Json, Parser};
use primus::Frame;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// The deepest nesting of `[`/`{` outside strings.
fn depth(bytes: &[u8]) -> usize {
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

/// The keys of a top-level object as serde_json reads them (`None` for
/// anything else, or keys that are not Rust strings: lone surrogates).
struct Keys;

impl<'de> Visitor<'de> for Keys {
    type Value = Option<Vec<String>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("anything")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<IgnoredAny>()?;
            keys.push(key);
        }
        Ok(Some(keys))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

fn serde_keys(bytes: &[u8]) -> Option<Vec<String>> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let keys = deserializer.deserialize_any(Keys).ok()?;
    deserializer.end().ok()?;
    keys
}

fn is_whitespace(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fuzz_target!(|bytes: &[u8]| {
    let serde = serde_json::from_slice::<IgnoredAny>(bytes).is_ok();
    let mut members: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let ours = json_scan_members(bytes, |key, value| members.push((key.to_vec(), value.to_vec())));
    assert_eq!(ours, json_scan(bytes), "the callback changes nothing");
    if ours {
        assert!(serde, "scan accepts what serde_json refuses");
    } else {
        assert!(
            !serde || depth(bytes) > JSON_MAX_DEPTH,
            "scan refuses what serde_json accepts (depth {})",
            depth(bytes)
        );
    }
    if ours {
        // Members: exactly the top-level object's, keys as serde_json reads them.
        if let Some(keys) = serde_keys(bytes) {
            let reported: Vec<Option<String>> = members
                .iter()
                .map(|(key, _)| serde_json::from_slice::<String>(key).ok())
                .collect();
            let expected: Vec<Option<String>> = keys.into_iter().map(Some).collect();
            assert_eq!(reported, expected, "members' keys");
        } else {
            let top_is_object = bytes.iter().find(|b| !is_whitespace(b)) == Some(&b'{');
            assert!(
                members.is_empty() || top_is_object,
                "members reported for a non-object"
            );
        }
        for (key, value) in &members {
            assert_eq!(key.first(), Some(&b'"'));
            assert!(
                serde_json::from_slice::<IgnoredAny>(key).is_ok(),
                "key is a JSON string"
            );
            assert!(!value.first().is_some_and(is_whitespace) && !value.last().is_some_and(is_whitespace));
            assert!(
                json_scan(value) || depth(value) > JSON_MAX_DEPTH,
                "member value is one JSON value"
            );
        }
    }

    // The parser's inspection of the same text as a frame.
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    match Json.inspect(&Frame::text(text)) {
        Err(_) => assert!(!serde, "inspect refuses what serde_json accepts"),
        Ok(inspection) => {
            assert!(serde, "inspect accepts what serde_json refuses");
            let control = serde_json::from_slice::<String>(bytes)
                .ok()
                .filter(|s| s.starts_with(primus::protocol::PREFIX));
            match inspection {
                Inspection::Control(found) => assert_eq!(Some(found), control),
                Inspection::Data => assert_eq!(control, None, "a control message taken for data"),
            }
        }
    }
});
