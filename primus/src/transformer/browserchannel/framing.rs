//! BrowserChannel's wire, as npm `browserchannel` 2.1 writes and reads it.
//!
//! Server to client, every response body is made of chunks, each the
//! length of its text in UTF-16 code units (what JavaScript's `length`
//! counts), a newline, and the text: `69\n[[0,["c","sid",null,8]],[1,"\"hi\""]]\n`.
//! An array is `[id, data]`; a Primus message is a JSON string (the
//! encoded message, quoted again), `["noop"]` is the keep-alive and
//! `["stop"]` ends the channel. U+2028 and U+2029 are escaped.
//!
//! Client to server, a forward request carries maps, form-encoded
//! (`count=2&ofs=5&req0__S=…&req1_JSON=…`) or as JSON
//! (`{"ofs":5,"data":[…]}` with `Content-Type: application/json`): `_S`
//! is a string message, `JSON` a JSON text.

use crate::wire::Frame;
use bytes::Bytes;

/// Most maps in one forward request.
pub(crate) const MAX_MAPS: usize = 1_000;

/// A message as the data of an array: the frame's text as a JSON string,
/// U+2028 and U+2029 escaped; `None` for a binary frame (BrowserChannel
/// carries text only).
pub(crate) fn quote(frame: &Frame) -> Option<Bytes> {
    let text = frame.as_str()?;
    let quoted = serde_json::to_string(text).ok()?;
    Some(Bytes::from(escape_separators(quoted)))
}

/// The keep-alive array's data.
pub(crate) const NOOP: &[u8] = br#"["noop"]"#;
/// The data of the array that ends the channel.
pub(crate) const STOP: &[u8] = br#"["stop"]"#;

fn escape_separators(text: String) -> String {
    if !text.contains(['\u{2028}', '\u{2029}']) {
        return text;
    }
    text.replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029")
}

/// The array that opens a session: `["c", sid, hostPrefix, version]`.
pub(crate) fn created(session: &str) -> Bytes {
    let id = serde_json::to_string(session).unwrap_or_else(|_| "\"\"".to_owned());
    Bytes::from(format!(r#"["c",{id},null,8]"#))
}

/// A chunk: the text's length in UTF-16 code units, a newline, the text.
pub(crate) fn chunk(text: &[u8]) -> Bytes {
    let units: usize = String::from_utf8_lossy(text).encode_utf16().count();
    let mut out = Vec::with_capacity(text.len() + 8);
    out.extend_from_slice(units.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(text);
    Bytes::from(out)
}

/// Arrays as the text of one back-channel chunk: `[[id,data],…]\n`.
pub(crate) fn arrays<'a>(arrays: impl IntoIterator<Item = (u64, &'a [u8])>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(b'[');
    for (index, (id, data)) in arrays.into_iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.push(b'[');
        out.extend_from_slice(id.to_string().as_bytes());
        out.push(b',');
        out.extend_from_slice(data);
        out.push(b']');
    }
    out.extend_from_slice(b"]\n");
    out
}

/// `JSON.stringify` length (UTF-16 code units) of a list of array data, as
/// the forward channel reports outstanding bytes: 0 for none.
pub(crate) fn outstanding<'a>(data: impl IntoIterator<Item = &'a [u8]>) -> usize {
    let mut count = 0;
    let mut units = 0;
    for item in data {
        count += 1;
        units += String::from_utf8_lossy(item).encode_utf16().count();
    }
    match count {
        0 => 0,
        n => units + (n - 1) + 2,
    }
}

/// Why a forward request's body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ForwardError {
    /// Not maps as BrowserChannel sends them.
    #[error("Bad data")]
    BadData,
    /// A message over `maxLength`, or too many maps.
    #[error("Payload Too Large")]
    TooLarge,
}

/// The maps of a forward request: the id of the first and the messages in
/// order (`None`: a map that is neither `_S` nor `JSON`, which still takes
/// its id).
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Maps {
    pub(crate) offset: u64,
    pub(crate) messages: Vec<Option<Frame>>,
}

/// Reads a forward request's body (`json`: sent as `application/json`).
pub(crate) fn maps(body: &[u8], json: bool, max_length: usize) -> Result<Maps, ForwardError> {
    match json {
        true => json_maps(body, max_length),
        false => form_maps(body, max_length),
    }
}

fn form_maps(body: &[u8], max_length: usize) -> Result<Maps, ForwardError> {
    let mut count: Option<usize> = None;
    let mut offset: Option<u64> = None;
    // By index: a body of many keys costs a lookup each, not a scan.
    let mut maps: std::collections::BTreeMap<usize, Option<Frame>> = std::collections::BTreeMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        match key.as_ref() {
            "count" => count = Some(value.parse().map_err(|_| ForwardError::BadData)?),
            "ofs" => offset = Some(value.parse().map_err(|_| ForwardError::BadData)?),
            key => {
                let Some(rest) = key.strip_prefix("req") else {
                    continue;
                };
                let Some((index, field)) = rest.split_once('_') else {
                    continue;
                };
                let Ok(index) = index.parse::<usize>() else {
                    continue;
                };
                if index >= MAX_MAPS {
                    return Err(ForwardError::TooLarge);
                }
                let frame = match field {
                    "_S" | "JSON" if value.len() > max_length => return Err(ForwardError::TooLarge),
                    "_S" | "JSON" => Some(Frame::text(value.into_owned())),
                    _ => None,
                };
                let slot = maps.entry(index).or_default();
                if frame.is_some() {
                    *slot = frame;
                }
            }
        }
    }
    let count = count.ok_or(ForwardError::BadData)?;
    if count > MAX_MAPS {
        return Err(ForwardError::TooLarge);
    }
    if count == 0 {
        return Ok(Maps::default());
    }
    let offset = offset.ok_or(ForwardError::BadData)?;
    let mut messages: Vec<Option<Frame>> = vec![None; count];
    for (index, frame) in maps {
        let slot = messages.get_mut(index).ok_or(ForwardError::BadData)?;
        *slot = frame;
    }
    Ok(Maps { offset, messages })
}

fn json_maps(body: &[u8], max_length: usize) -> Result<Maps, ForwardError> {
    use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
    use serde_json::value::RawValue;

    /// The `data` array, borrowed from the body and at most `MAX_MAPS`
    /// long: nothing of a hostile body is expanded into values.
    struct Data<'a>(Vec<&'a RawValue>);

    impl<'de> Deserialize<'de> for Data<'de> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Data<'de>, D::Error> {
            struct Items;
            impl<'de> Visitor<'de> for Items {
                type Value = Data<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("an array of messages")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Data<'de>, A::Error> {
                    let mut items = Vec::new();
                    while let Some(item) = seq.next_element::<&'de RawValue>()? {
                        if items.len() == MAX_MAPS {
                            return Err(serde::de::Error::custom("too many maps"));
                        }
                        items.push(item);
                    }
                    Ok(Data(items))
                }
            }
            deserializer.deserialize_seq(Items)
        }
    }

    #[derive(serde::Deserialize)]
    struct Body<'a> {
        ofs: u64,
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let body: Body<'_> = serde_json::from_slice(body).map_err(|_| ForwardError::BadData)?;
    let mut items = serde_json::Deserializer::from_str(body.data.get());
    let data = Data::deserialize(&mut items).map_err(|_| ForwardError::BadData)?;
    let mut messages = Vec::with_capacity(data.0.len());
    for raw in data.0 {
        let json = raw.get();
        if json.len() > max_length.saturating_add(2) {
            return Err(ForwardError::TooLarge);
        }
        // A string is the message itself; any other value is its JSON text.
        let text = match json.starts_with('"') {
            true => serde_json::from_str::<String>(json).map_err(|_| ForwardError::BadData)?,
            false => json.to_owned(),
        };
        if text.len() > max_length {
            return Err(ForwardError::TooLarge);
        }
        messages.push(Some(Frame::text(text)));
    }
    Ok(Maps {
        offset: body.ofs,
        messages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_count_utf16_units_as_javascript_does() {
        // Node's browserchannel wrote exactly this for the same arrays
        // (captured from npm browserchannel 2.1 behind Primus 8.0.9).
        let messages = [
            quote(&Frame::text("\"hi\\u2028é😀\"")).unwrap(),
            quote(&Frame::text("\"first\"")).unwrap(),
        ];
        let created = created("355j51ed");
        let text = arrays([(0, &created[..]), (1, &messages[0][..]), (2, &messages[1][..])]);
        let chunk = chunk(&text);
        assert_eq!(
            String::from_utf8(chunk.to_vec()).unwrap(),
            "69\n[[0,[\"c\",\"355j51ed\",null,8]],[1,\"\\\"hi\\\\u2028é😀\\\"\"],[2,\"\\\"first\\\"\"]]\n"
        );
        assert_eq!(outstanding([&messages[1][..]]), 13);
        assert_eq!(outstanding(std::iter::empty()), 0);
        let raw_separator = quote(&Frame::text("a\u{2028}b\u{2029}")).unwrap();
        assert_eq!(&raw_separator[..], br#""a\u2028b\u2029""#);
        assert_eq!(quote(&Frame::binary(vec![1])), None);
    }

    #[test]
    fn form_maps_are_read_in_order_with_their_offset() {
        let body = b"count=3&ofs=5&req1_JSON=%7B%22a%22%3A1%7D&req0__S=%22two%22&req2_other=x";
        let read = maps(body, false, 1024).unwrap();
        assert_eq!(read.offset, 5);
        assert_eq!(
            read.messages,
            vec![Some(Frame::text("\"two\"")), Some(Frame::text("{\"a\":1}")), None]
        );
        assert_eq!(maps(b"count=0", false, 1024).unwrap(), Maps::default());
        for bad in [
            &b"ofs=1"[..],
            b"count=x",
            b"count=2",
            b"count=1&ofs=0&req7__S=x",
            b"count=1&ofs=-1",
        ] {
            assert_eq!(maps(bad, false, 1024), Err(ForwardError::BadData), "{bad:?}");
        }
        assert_eq!(
            maps(b"count=1&ofs=0&req0__S=0123456789", false, 5),
            Err(ForwardError::TooLarge)
        );
        assert_eq!(maps(b"count=100000&ofs=0", false, 5), Err(ForwardError::TooLarge));
    }

    #[test]
    fn json_maps_take_strings_as_messages_and_other_values_as_json_text() {
        let read = maps(br#"{"ofs":2,"data":["\"x\"",{"a":[1]}]}"#, true, 1024).unwrap();
        assert_eq!(read.offset, 2);
        assert_eq!(
            read.messages,
            vec![Some(Frame::text("\"x\"")), Some(Frame::text(r#"{"a":[1]}"#))]
        );
        assert_eq!(maps(b"[1,2]", true, 1024), Err(ForwardError::BadData));
    }
}
