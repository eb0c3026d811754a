//! A fast syntax check of JSON text.
//!
//! Every incoming frame of the JSON parser is checked before it is handed
//! on (Primus drops an invalid frame with an `error`), so the check is on the
//! path of every message. [`scan`] accepts exactly what
//! `serde_json::from_slice::<serde::de::IgnoredAny>` accepts (RFC 8259 text,
//! surrounding whitespace, `\u` escapes not checked for surrogate pairs)
//! and is several times faster on long strings: it looks for the end of a
//! string 64 bytes at a time, in a loop the compiler turns into vector
//! instructions.
//!
//! When it answers `false` the text is invalid *or* nested deeper than
//! [`MAX_DEPTH`]; callers then ask serde_json, which also explains what is
//! wrong. While scanning, it reports the members of a top-level object, so a
//! typed event's envelope is read in the same pass.

/// Deepest nesting [`scan`] follows; deeper text is left to serde_json.
pub(crate) const MAX_DEPTH: usize = 128;

/// Checks that `bytes` is one JSON value with optional surrounding
/// whitespace. If the value is an object, `member` is called with each
/// member's key and value as they appear in the text (the key with its
/// quotes), in order.
///
/// ```ignore
/// let mut keys = Vec::new();
/// assert!(scan(br#" {"event":"say","data":[1,2]} "#, |key, _| keys.push(key.to_vec())));
/// assert_eq!(keys, [b"\"event\"".to_vec(), b"\"data\"".to_vec()]);
/// ```
pub(crate) fn scan(bytes: &[u8], mut member: impl FnMut(&[u8], &[u8])) -> bool {
    let mut text = Scanner { bytes, pos: 0 };
    // Bit `d` is set when the container at depth `d + 1` is an object.
    let mut objects: u128 = 0;
    let mut depth = 0usize;
    let mut key = 0..0;
    let mut member_start = 0;
    'value: loop {
        text.skip_whitespace();
        let in_top_object = depth == 1 && objects & 1 == 1;
        if in_top_object {
            member_start = text.pos;
        }
        match text.peek() {
            Some(open @ (b'{' | b'[')) => {
                if depth == MAX_DEPTH {
                    return false;
                }
                text.pos += 1;
                let object = open == b'{';
                if object {
                    objects |= 1 << depth;
                } else {
                    objects &= !(1 << depth);
                }
                depth += 1;
                text.skip_whitespace();
                let close = if object { b'}' } else { b']' };
                if text.peek() == Some(close) {
                    text.pos += 1;
                    depth -= 1;
                } else if object {
                    match text.key() {
                        Some(span) if depth == 1 => key = span,
                        Some(_) => {}
                        None => return false,
                    }
                    continue 'value;
                } else {
                    continue 'value;
                }
            }
            Some(b'"') => {
                if !text.string() {
                    return false;
                }
            }
            Some(b't') => {
                if !text.literal(b"true") {
                    return false;
                }
            }
            Some(b'f') => {
                if !text.literal(b"false") {
                    return false;
                }
            }
            Some(b'n') => {
                if !text.literal(b"null") {
                    return false;
                }
            }
            Some(b'-' | b'0'..=b'9') => {
                if !text.number() {
                    return false;
                }
            }
            _ => return false,
        }
        // A value just ended at `depth`; so may the containers around it.
        loop {
            if depth == 0 {
                text.skip_whitespace();
                return text.pos == bytes.len();
            }
            let in_object = (objects >> (depth - 1)) & 1 == 1;
            if depth == 1 && in_object {
                member(&bytes[key.clone()], &bytes[member_start..text.pos]);
            }
            text.skip_whitespace();
            match text.peek() {
                Some(b',') => {
                    text.pos += 1;
                    if in_object {
                        match text.key() {
                            Some(span) if depth == 1 => key = span,
                            Some(_) => {}
                            None => return false,
                        }
                    }
                    continue 'value;
                }
                Some(b'}') if in_object => {
                    text.pos += 1;
                    depth -= 1;
                }
                Some(b']') if !in_object => {
                    text.pos += 1;
                    depth -= 1;
                }
                _ => return false,
            }
        }
    }
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> bool {
        let found = self.bytes[self.pos..].starts_with(word);
        self.pos += word.len();
        found
    }

    /// An object key and its colon; returns the key's span (with quotes).
    fn key(&mut self) -> Option<std::ops::Range<usize>> {
        self.skip_whitespace();
        let start = self.pos;
        if self.peek() != Some(b'"') || !self.string() {
            return None;
        }
        let end = self.pos;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return None;
        }
        self.pos += 1;
        Some(start..end)
    }

    /// A string, at its opening quote.
    fn string(&mut self) -> bool {
        self.pos += 1;
        loop {
            self.pos = find_special(self.bytes, self.pos);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return true;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.pos += 1,
                        Some(b'u') => {
                            let hex = self.bytes.get(self.pos + 1..self.pos + 5);
                            if !hex.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                                return false;
                            }
                            self.pos += 5;
                        }
                        _ => return false,
                    }
                }
                // A control character, or the end of the text.
                _ => return false,
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> bool {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return false,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return false;
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return false;
            }
            self.digits();
        }
        true
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

/// The first position at or after `from` holding `"`, `\` or a control
/// character (or the length of `bytes`).
#[inline]
pub(crate) fn find_special(bytes: &[u8], from: usize) -> usize {
    find_first(bytes, from, |b| (b == b'"') | (b == b'\\') | (b < 0x20))
}

/// The first position at or after `from` whose byte is `special` (or the
/// length of `bytes`). `special` must be branch-free (`|`, not `||`) for
/// the chunk loop to vectorize.
#[inline(always)]
pub(crate) fn find_first(bytes: &[u8], mut from: usize, special: impl Fn(u8) -> bool) -> usize {
    const CHUNK: usize = 64;
    while from + CHUNK <= bytes.len() {
        // No early exit inside the chunk, so this compiles to vector code.
        let found = bytes[from..from + CHUNK]
            .iter()
            .fold(false, |found, &b| found | special(b));
        if found {
            break;
        }
        from += CHUNK;
    }
    match bytes[from..].iter().position(|&b| special(b)) {
        Some(offset) => from + offset,
        None => bytes.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::IgnoredAny;

    fn serde_accepts(bytes: &[u8]) -> bool {
        serde_json::from_slice::<IgnoredAny>(bytes).is_ok()
    }

    fn agree(bytes: &[u8]) {
        let ours = scan(bytes, |_, _| {});
        // `false` may also mean "too deep, ask serde_json"; `true` must be right.
        if ours {
            assert!(
                serde_accepts(bytes),
                "scan accepted what serde_json rejects: {:?}",
                String::from_utf8_lossy(bytes)
            );
        } else if depth_of(bytes) <= MAX_DEPTH {
            assert!(
                !serde_accepts(bytes),
                "scan rejected what serde_json accepts: {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    fn depth_of(bytes: &[u8]) -> usize {
        let (mut depth, mut deepest) = (0usize, 0usize);
        for b in bytes {
            match b {
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

    const SAMPLES: &[&str] = &[
        "0",
        "-0",
        "12",
        "-12.5e+3",
        "1E9",
        "0.0",
        "true",
        "false",
        "null",
        "\"\"",
        "\"a\\\"b\"",
        "\"\\u00e9\\ud800\"",
        "\"\\/\\b\\f\\n\\r\\t\"",
        "[]",
        "{}",
        " [ 1 , 2 ] ",
        "{\"a\":{\"b\":[null]}}",
        "{\"event\":\"say\",\"data\":\"hi\",\"request\":7}",
        "\"primus::ping::1\"",
        "\"é ü 漢字\"",
        // invalid
        "",
        " ",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "+1",
        "tru",
        "nul",
        "truex",
        "\"abc",
        "\"\\x\"",
        "\"\\u12\"",
        "\"a\nb\"",
        "[1,]",
        "[,1]",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "{a:1}",
        "[1 2]",
        "{\"a\":1 \"b\":2}",
        "1 2",
        "[",
        "]",
        "{",
        "}",
        "[}",
        "{]",
        "\"\\",
        "NaN",
        "[1]]",
        "{\"a\":1}}",
        "[\"\u{1}\"]",
    ];

    #[test]
    fn agrees_with_serde_json_on_samples() {
        for sample in SAMPLES {
            agree(sample.as_bytes());
        }
    }

    #[test]
    fn agrees_with_serde_json_on_every_truncation_and_byte_flip() {
        // Deterministic mutations of valid documents: every prefix, and
        // every position replaced by each of the bytes JSON gives meaning to.
        let documents = [
            "{\"event\":\"say\",\"data\":{\"text\":\"h\\u00e9\\\"y\",\"n\":[1,-2.5e3,true,null]},\"request\":12}",
            "[\"long string with no escapes at all, longer than one chunk of thirty-two bytes\",0]",
        ];
        let replacements = b"{}[]\",:\\ -+.eE0123456789tfnu\x01a";
        for document in documents {
            let bytes = document.as_bytes();
            for end in 0..=bytes.len() {
                agree(&bytes[..end]);
            }
            for position in 0..bytes.len() {
                for &replacement in replacements {
                    let mut mutated = bytes.to_vec();
                    mutated[position] = replacement;
                    agree(&mutated);
                }
            }
        }
    }

    #[test]
    fn long_strings_are_scanned_across_chunks() {
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100, 128, 16 * 1024] {
            for special in ["", "\\n", "\\\"", "\\u0041"] {
                let text = format!("\"{}{special}{}\"", "x".repeat(len), "y".repeat(len / 2));
                assert!(scan(text.as_bytes(), |_, _| {}), "{len} {special}");
                // A raw control character anywhere makes it invalid.
                let broken = format!("\"{}\u{1f}{}\"", "x".repeat(len), "y".repeat(len / 2));
                assert!(!scan(broken.as_bytes(), |_, _| {}));
                assert!(!serde_accepts(broken.as_bytes()));
            }
        }
    }

    #[test]
    fn reports_top_level_members_only() {
        let mut members = Vec::new();
        let text = br#" { "event" : "say" , "data" : { "event" : "inner" , "x" : [ {} ] } , "request":7 } "#;
        assert!(scan(text, |key, value| {
            members.push((
                String::from_utf8_lossy(key).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            ))
        }));
        let expected = [
            ("\"event\"", "\"say\""),
            ("\"data\"", "{ \"event\" : \"inner\" , \"x\" : [ {} ] }"),
            ("\"request\"", "7"),
        ];
        assert_eq!(members.len(), expected.len());
        for ((key, value), (want_key, want_value)) in members.iter().zip(expected) {
            assert_eq!((key.as_str(), value.as_str()), (want_key, want_value));
        }
        let mut called = false;
        assert!(scan(b"[{\"a\":1}]", |_, _| called = true));
        assert!(!called, "members of nested objects are not reported");
    }

    #[test]
    fn deep_nesting_is_left_to_serde_json() {
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(!scan(deep.as_bytes(), |_, _| {}));
        let limit = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(scan(limit.as_bytes(), |_, _| {}));
    }
}
