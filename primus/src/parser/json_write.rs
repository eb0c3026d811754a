//! Encoding for the built-in JSON parser: serde_json's compact output, byte
//! for byte, with strings escaped 64 bytes at a time.
//!
//! serde_json checks every byte of a string against its escape table one at
//! a time (~8 µs for a 16 KiB string, a third of a typed echo server's CPU
//! in the benchmarks). [`to_vec`] writes the same JSON but finds the
//! characters that need escaping with the chunked search of
//! [`json_scan`](super::json_scan), and copies the runs between them whole.
//! Numbers and booleans are written by serde_json itself, so their format is
//! serde_json's by construction.
//!
//! Shapes it does not handle (map keys that are not strings, serde_json's
//! private raw-value and arbitrary-precision types) and every error make it
//! answer `None`; the caller then encodes with serde_json, which gives the
//! same output or the same error as before.

use serde::ser::{self, Serialize};
use std::fmt;

/// Encodes `value` like `serde_json::to_vec`, or `None` to let serde_json do
/// it. The fuzz target compares it with serde_json byte for byte.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn to_vec<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    write(value, false, false)
}

/// [`to_vec`] as it goes on the wire: U+2028 and U+2029 inside strings
/// written as `\u2028` and `\u2029`, as Primus' parser does (what
/// `Json::text_frame` does to serde_json's output, here in the same pass).
pub(crate) fn to_wire_vec<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    write(value, false, true)
}

/// [`to_wire_vec`] in EJSON's forms: a non-finite float as
/// `{"$InfNaN":±1|0}` and bytes as `{"$binary":"<base64>"}` (where JSON
/// writes `null` and an array of numbers).
pub(crate) fn to_wire_vec_ejson<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    write(value, true, true)
}

fn write<T: Serialize + ?Sized>(value: &T, ejson: bool, escape_line_separators: bool) -> Option<Vec<u8>> {
    let mut writer = Writer {
        out: Vec::with_capacity(128),
        ejson,
        escape_line_separators,
    };
    value.serialize(&mut writer).ok()?;
    Some(writer.out)
}

/// Not handled here; the caller falls back to serde_json.
#[derive(Debug)]
pub(crate) struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Unsupported {
        Unsupported
    }
}

struct Writer {
    out: Vec<u8>,
    /// Write EJSON's forms for what JSON cannot carry.
    ejson: bool,
    /// Write U+2028 and U+2029 as `\u2028` and `\u2029`.
    escape_line_separators: bool,
}

impl Writer {
    /// A scalar, written by serde_json.
    fn scalar<T: Serialize>(&mut self, value: T) -> Result<(), Unsupported> {
        serde_json::to_writer(&mut self.out, &value).map_err(|_| Unsupported)
    }

    /// A float; under EJSON a non-finite one in its `$InfNaN` form.
    fn float(&mut self, value: f64) -> Result<(), Unsupported> {
        if !self.ejson || value.is_finite() {
            return self.scalar(value);
        }
        let sign = match value {
            v if v.is_nan() => "0",
            v if v > 0.0 => "1",
            _ => "-1",
        };
        self.out.extend_from_slice(b"{\"$InfNaN\":");
        self.out.extend_from_slice(sign.as_bytes());
        self.out.push(b'}');
        Ok(())
    }

    fn string(&mut self, text: &str) {
        write_escaped(&mut self.out, text, self.escape_line_separators);
    }
}

/// serde_json's private types are recognised by these names; leave them to it.
fn is_serde_json_private(name: &str) -> bool {
    name.starts_with("$serde_json::private::")
}

/// Room reserved past a string for what usually follows it (the closing
/// brackets of an envelope), so that they do not grow the buffer again.
const AFTER_STRING: usize = 16;

/// `"text"` with serde_json's escapes: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`,
/// `\t` and `\u00xx` (lower-case hex) for the other control characters;
/// with `line_separators`, also `\u2028` and `\u2029`.
fn write_escaped(out: &mut Vec<u8>, text: &str, line_separators: bool) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2 + AFTER_STRING);
    out.push(b'"');
    let mut start = 0;
    loop {
        // Both separators are E2 80 A8/A9 in UTF-8: stop at every E2.
        let special = match line_separators {
            true => super::json_scan::find_first(bytes, start, |b| {
                (b == b'"') | (b == b'\\') | (b < 0x20) | (b == 0xE2)
            }),
            false => super::json_scan::find_special(bytes, start),
        };
        out.extend_from_slice(&bytes[start..special]);
        let Some(&byte) = bytes.get(special) else {
            break;
        };
        match byte {
            0xE2 => match bytes.get(special + 1..special + 3) {
                Some([0x80, 0xA8]) => {
                    out.extend_from_slice(b"\\u2028");
                    start = special + 3;
                    continue;
                }
                Some([0x80, 0xA9]) => {
                    out.extend_from_slice(b"\\u2029");
                    start = special + 3;
                    continue;
                }
                _ => out.push(0xE2),
            },
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            control => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(control >> 4)]);
                out.push(HEX[usize::from(control & 0xF)]);
            }
        }
        start = special + 1;
    }
    out.push(b'"');
}

/// A sequence, map or struct being written: whether a comma is due.
struct Compound<'a> {
    writer: &'a mut Writer,
    first: bool,
    /// Closing bytes (`]`, `}`, or `]}`/`}}` for enum variants).
    close: &'static [u8],
}

impl Compound<'_> {
    fn comma(&mut self) {
        if !std::mem::replace(&mut self.first, false) {
            self.writer.out.push(b',');
        }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Unsupported> {
        self.comma();
        self.writer.string(key);
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }

    fn finish(self) -> Result<(), Unsupported> {
        self.writer.out.extend_from_slice(self.close);
        Ok(())
    }
}

impl Writer {
    fn open(&mut self, open: &[u8], close: &'static [u8]) -> Compound<'_> {
        self.out.extend_from_slice(open);
        Compound {
            writer: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` then the compound opened with `open`.
    fn open_variant(&mut self, variant: &str, open: u8, close: &'static [u8]) -> Compound<'_> {
        self.out.push(b'{');
        self.string(variant);
        self.out.push(b':');
        self.out.push(open);
        Compound {
            writer: self,
            first: true,
            close,
        }
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = MapCompound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        self.scalar(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        match self.ejson && !v.is_finite() {
            true => self.float(v.into()),
            false => self.scalar(v),
        }
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.string(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        if self.ejson {
            self.out.extend_from_slice(b"{\"$binary\":\"");
            self.out
                .extend_from_slice(data_encoding::BASE64.encode(v).as_bytes());
            self.out.extend_from_slice(b"\"}");
            return Ok(());
        }
        let mut seq = self.open(b"[", b"]");
        for byte in v {
            seq.element(byte)?;
        }
        seq.finish()
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if is_serde_json_private(name) {
            return Err(Unsupported);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        self.out.push(b'{');
        self.string(variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Unsupported> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound<'a>, Unsupported> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Unsupported> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        Ok(self.open_variant(variant, b'[', b"]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapCompound<'a>, Unsupported> {
        Ok(MapCompound(self.open(b"{", b"}")))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Compound<'a>, Unsupported> {
        if is_serde_json_private(name) {
            return Err(Unsupported);
        }
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a>, Unsupported> {
        Ok(self.open_variant(variant, b'{', b"}}"))
    }
}

/// The element-by-element traits all write `value` after a comma.
macro_rules! elements {
    ($($trait:ident::$method:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
                self.element(value)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.finish()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The field-by-field traits write `"key":value` after a comma.
macro_rules! fields {
    ($($trait:ident),*) => {$(
        impl ser::$trait for Compound<'_> {
            type Ok = ();
            type Error = Unsupported;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Unsupported> {
                self.finish()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

/// A map: keys must be strings (anything else is left to serde_json, which
/// quotes numbers or refuses the key).
struct MapCompound<'a>(Compound<'a>);

impl ser::SerializeMap for MapCompound<'_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.0.comma();
        key.serialize(KeyWriter(&mut *self.0.writer))?;
        self.0.writer.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut *self.0.writer)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.0.finish()
    }
}

/// Map-key methods for scalars serde_json would quote or refuse: left to it.
macro_rules! refuse_scalars {
    ($($method:ident($ty:ty)),*) => {$(
        fn $method(self, _: $ty) -> Result<(), Unsupported> {
            Err(Unsupported)
        }
    )*};
}

/// Writes a map key that is a string; refuses everything else.
struct KeyWriter<'a>(&'a mut Writer);

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = ser::Impossible<(), Unsupported>;
    type SerializeTuple = ser::Impossible<(), Unsupported>;
    type SerializeTupleStruct = ser::Impossible<(), Unsupported>;
    type SerializeTupleVariant = ser::Impossible<(), Unsupported>;
    type SerializeMap = ser::Impossible<(), Unsupported>;
    type SerializeStruct = ser::Impossible<(), Unsupported>;
    type SerializeStructVariant = ser::Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.0.string(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.0.string(v.encode_utf8(&mut [0u8; 4]));
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.0.string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        if is_serde_json_private(name) {
            return Err(Unsupported);
        }
        value.serialize(self)
    }
    refuse_scalars!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8])
    );
    fn serialize_none(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;
    use std::collections::{BTreeMap, HashMap};

    fn same<T: Serialize + ?Sized + fmt::Debug>(value: &T) {
        let expected = serde_json::to_vec(value).ok();
        // Falling back (`None`) is always allowed; `handled` checks it is
        // not what happens in the common cases.
        if let Some(ours) = to_vec(value) {
            assert_eq!(
                Some(String::from_utf8_lossy(&ours).into_owned()),
                expected.clone().map(|e| String::from_utf8_lossy(&e).into_owned()),
                "{value:?}"
            );
        }
        // On the wire: serde_json's bytes with the line separators escaped.
        if let Some(ours) = to_wire_vec(value) {
            let expected = expected.map(crate::parser::json::escape_line_separators);
            assert_eq!(
                Some(String::from_utf8_lossy(&ours).into_owned()),
                expected.map(|e| String::from_utf8_lossy(&e).into_owned()),
                "{value:?}"
            );
        }
    }

    fn handled<T: Serialize + ?Sized + fmt::Debug>(value: &T) {
        assert!(to_vec(value).is_some(), "not handled: {value:?}");
        same(value);
    }

    #[derive(Debug, Serialize)]
    enum Shapes {
        Unit,
        Newtype(String),
        Tuple(i32, f64),
        Struct { a: Option<u8>, b: Vec<bool> },
    }

    #[derive(Debug, Serialize)]
    struct Everything {
        text: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u32>,
        chars: Vec<char>,
        floats: Vec<f64>,
        small: (i8, u16, i64, u64, i128, u128, f32),
        shapes: Vec<Shapes>,
        unit: (),
        empty: Vec<u8>,
        map: BTreeMap<String, Option<i32>>,
        #[serde(flatten)]
        extra: HashMap<String, serde_json::Value>,
    }

    #[test]
    fn strings_escape_like_serde_json() {
        let mut every_byte = String::new();
        for c in (0u8..0x80).map(char::from) {
            every_byte.push(c);
        }
        handled(&every_byte);
        handled("");
        handled("plain");
        handled("é 漢字 😀 \u{2028} \u{7f}");
        // E2 starts the separators and other characters (→, U+2027, U+2030).
        handled("\u{2028}\u{2029}→\u{2027}\u{2030}x\u{2029}");
        for len in [0, 1, 62, 63, 64, 65, 127] {
            handled(&format!("{}\u{2028}{}\u{2029}", "a".repeat(len), "→".repeat(len)));
        }
        for len in [31, 32, 63, 64, 65, 200, 16 * 1024] {
            handled(&format!(
                "{}\"{}\\\n{}",
                "x".repeat(len),
                "y".repeat(len),
                "\u{1}".repeat(3)
            ));
            handled(&"z".repeat(len));
        }
    }

    #[test]
    fn values_of_every_shape_encode_like_serde_json() {
        handled(&json!(null));
        handled(&json!({"event":"say","data":{"text":"hi","n":[1,-2.5,1e300,0.1,true,null]},"request":7}));
        handled(&json!([[], {}, [[[]]], {"a":{"b":{}}}]));
        let mut extra = HashMap::new();
        extra.insert("flat\"key".to_owned(), json!({"x": [1, 2]}));
        handled(&Everything {
            text: "a\tb".into(),
            skipped: None,
            chars: vec!['a', '"', '\u{0}', 'ü'],
            floats: vec![
                0.0,
                -0.0,
                1.5,
                f64::MAX,
                f64::MIN_POSITIVE,
                f64::NAN,
                f64::INFINITY,
            ],
            small: (-8, 16, i64::MIN, u64::MAX, i128::MIN, u128::MAX, 0.1),
            shapes: vec![
                Shapes::Unit,
                Shapes::Newtype("n".into()),
                Shapes::Tuple(-1, 2.25),
                Shapes::Struct {
                    a: Some(3),
                    b: vec![true, false],
                },
                Shapes::Struct { a: None, b: vec![] },
            ],
            unit: (),
            empty: vec![],
            map: [("k".to_owned(), Some(1)), ("\n".to_owned(), None)]
                .into_iter()
                .collect(),
            extra,
        });
    }

    #[test]
    fn other_map_keys_are_left_to_serde_json() {
        let numbers: BTreeMap<i32, &str> = [(1, "one"), (-2, "minus two")].into_iter().collect();
        assert!(to_vec(&numbers).is_none());
        same(&numbers);
        let vectors: BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(to_vec(&vectors).is_none());
        assert!(
            serde_json::to_vec(&vectors).is_err(),
            "serde_json refuses it, so the caller reports its error"
        );
    }
}
