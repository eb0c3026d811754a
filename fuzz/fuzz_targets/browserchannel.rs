//! BrowserChannel's forward requests (what a client POSTs to `bind`) and
//! back-channel chunks (what the server writes).
//!
//! The first byte picks the form: any bytes as a form body, any bytes as a
//! JSON body, or the rest split on `\0` into messages that are form-encoded
//! as `req<i>__S` (what `BCSocket` sends), read back, and written into a
//! back-channel chunk.
//!
//! Checked: no panic; no message over the limit, at most 1,000 maps; form
//! bodies made of messages read back as those messages; a chunk's length
//! prefix is its text's length in UTF-16 units and its text is JSON whose
//! arrays carry the messages, numbered in order.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::fuzzing::{browserchannel_chunk, browserchannel_maps};

const LIMIT: usize = 64;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 | 1 => {
            if let Some((_, messages)) = browserchannel_maps(rest, mode % 3 == 1, LIMIT) {
                assert!(messages.len() <= 1_000);
                assert!(messages.iter().flatten().all(|m| m.len() <= LIMIT));
            }
        }
        _ => {
            let Ok(text) = std::str::from_utf8(rest) else {
                return;
            };
            let messages: Vec<&str> = text.split('\0').collect();
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("count", &messages.len().to_string());
            form.append_pair("ofs", "7");
            for (i, message) in messages.iter().enumerate() {
                form.append_pair(&format!("req{i}__S"), message);
            }
            let body = form.finish();
            let read = browserchannel_maps(body.as_bytes(), false, LIMIT);
            let fits = messages.len() <= 1_000 && messages.iter().all(|m| m.len() <= LIMIT);
            match read {
                Some((offset, read)) => {
                    assert!(fits);
                    assert_eq!(offset, 7);
                    let read: Vec<String> = read.into_iter().map(|m| m.expect("a _S map")).collect();
                    assert_eq!(read, messages);
                }
                None => assert!(!fits, "refused: {body:?}"),
            }
            let chunk = browserchannel_chunk(5, &messages);
            let newline = chunk.iter().position(|b| *b == b'\n').expect("a length line");
            let length: usize = std::str::from_utf8(&chunk[..newline]).unwrap().parse().unwrap();
            let text = std::str::from_utf8(&chunk[newline + 1..]).expect("UTF-8");
            assert_eq!(length, text.encode_utf16().count());
            assert!(!text.contains(['\u{2028}', '\u{2029}']));
            let arrays: Vec<(u64, String)> = serde_json::from_str(text).expect("arrays JSON");
            for (i, ((id, quoted), message)) in arrays.iter().zip(&messages).enumerate() {
                assert_eq!(*id, 5 + i as u64);
                assert_eq!(quoted, message);
            }
            assert_eq!(arrays.len(), messages.len());
        }
    }
});
