//! Query strings, against a model of Node's `querystring.parse` (what
//! Primus parses `spark.query` with): pairs separated by `&`, empty ones
//! skipped, the first `=` splits key and value, `+` is a space, `%XX`
//! escapes are decoded (invalid ones kept as they are) and the bytes read as
//! UTF-8 with U+FFFD for invalid sequences; only the first 1,000 pairs count
//! (`maxKeys`), and a repeated key keeps every value in order.
//!
//! Checked: `Query::parse` never panics and agrees with the model, its
//! accessors agree with each other, and it serializes to valid JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::spark::Query;
use std::collections::BTreeMap;

/// Node's `querystring.parse` default `maxKeys`.
const MAX_KEYS: usize = 1000;

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| char::from(b).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn node_parse(raw: &str) -> BTreeMap<String, Vec<String>> {
    let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for pair in raw.split('&').take(MAX_KEYS).filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        values.entry(unescape(key)).or_default().push(unescape(value));
    }
    values
}

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let query = Query::parse(&raw);
    let expected = node_parse(&raw);
    let parsed: BTreeMap<String, Vec<String>> = query
        .iter()
        .map(|(key, values)| (key.to_owned(), values.to_vec()))
        .collect();
    assert_eq!(parsed, expected, "{raw:?}");

    assert_eq!(query.len(), expected.len());
    assert_eq!(query.is_empty(), expected.is_empty());
    for (key, values) in &expected {
        assert!(query.contains(key));
        assert_eq!(query.get(key), values.first().map(String::as_str));
        assert_eq!(query.get_all(key), values.as_slice());
    }
    let json = serde_json::to_value(&query).expect("a query serializes");
    let object = json.as_object().expect("as an object");
    assert_eq!(object.len(), expected.len());
    for (key, values) in &expected {
        match values.as_slice() {
            [one] => assert_eq!(object[key], serde_json::Value::from(one.as_str())),
            many => assert_eq!(object[key], serde_json::Value::from(many.to_vec())),
        }
    }
});
