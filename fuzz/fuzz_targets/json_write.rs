//! The JSON writer, differential against serde_json: whenever it writes a
//! value, the bytes are exactly `serde_json::to_vec`'s; it leaves a value to
//! serde_json (`None`) only for map keys that are not strings. The JSON
//! parser's `encode_value` (the writer, or serde_json as a fallback, then
//! Primus' U+2028/U+2029 escapes) is checked against serde_json too.
//!
//! Values are built with `arbitrary` in every shape serde has: all the
//! integer widths, floats (NaN and infinities included), chars, strings
//! with control characters, quotes, backslashes, U+2028/U+2029 and any
//! Unicode, bytes, options, units, enums of each kind, sequences, tuples,
//! structs, and maps with keys of every kind.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use primus::fuzzing::json_to_vec;
use primus::parser::{Json, Parser};
use serde::ser::{
    SerializeMap, SerializeSeq, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleStruct, SerializeTupleVariant,
};
use serde::{Serialize, Serializer};

/// Field and variant names: they are `&'static str` in serde.
const NAMES: [&str; 8] = [
    "event",
    "data",
    "",
    "with \"quote\"",
    "tab\tand\\",
    "é漢😀",
    "\u{2028}\u{2029}",
    "\u{1}",
];

fn name(index: u8) -> &'static str {
    NAMES[usize::from(index) % NAMES.len()]
}

#[derive(Debug, Arbitrary)]
enum Value {
    Null,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    Some(Box<Value>),
    None,
    Unit,
    UnitStruct,
    UnitVariant(u8),
    NewtypeStruct(Box<Value>),
    NewtypeVariant(u8, Box<Value>),
    Seq(Vec<Value>),
    Tuple(Vec<Value>),
    TupleStruct(Vec<Value>),
    TupleVariant(u8, Vec<Value>),
    Map(Vec<(Key, Value)>),
    Struct(Vec<(u8, Value)>),
    StructVariant(u8, Vec<(u8, Value)>),
    /// A `serde_json::Value` read from text, as the server echoes them.
    Json(String),
}

/// Map keys: strings and chars are written; the rest serde_json quotes
/// (numbers, bools) or refuses, and the writer leaves them to it.
#[derive(Debug, Arbitrary)]
enum Key {
    Str(String),
    Char(char),
    UnitVariant(u8),
    NewtypeStruct(String),
    Bool(bool),
    I32(i32),
    U64(u64),
    F64(f64),
    Unit,
    Some(String),
    Seq(Vec<u8>),
}

impl Serialize for Key {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Key::Str(v) => s.serialize_str(v),
            Key::Char(v) => s.serialize_char(*v),
            Key::UnitVariant(i) => s.serialize_unit_variant("Key", u32::from(*i), name(*i)),
            Key::NewtypeStruct(v) => s.serialize_newtype_struct("Key", v),
            Key::Bool(v) => s.serialize_bool(*v),
            Key::I32(v) => s.serialize_i32(*v),
            Key::U64(v) => s.serialize_u64(*v),
            Key::F64(v) => s.serialize_f64(*v),
            Key::Unit => s.serialize_unit(),
            Key::Some(v) => s.serialize_some(v),
            Key::Seq(v) => v.serialize(s),
        }
    }
}

impl Key {
    /// Keys the writer writes itself.
    fn is_string(&self) -> bool {
        matches!(
            self,
            Key::Str(_) | Key::Char(_) | Key::UnitVariant(_) | Key::NewtypeStruct(_)
        )
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null | Value::None => s.serialize_none(),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::I8(v) => s.serialize_i8(*v),
            Value::I16(v) => s.serialize_i16(*v),
            Value::I32(v) => s.serialize_i32(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::I128(v) => s.serialize_i128(*v),
            Value::U8(v) => s.serialize_u8(*v),
            Value::U16(v) => s.serialize_u16(*v),
            Value::U32(v) => s.serialize_u32(*v),
            Value::U64(v) => s.serialize_u64(*v),
            Value::U128(v) => s.serialize_u128(*v),
            Value::F32(v) => s.serialize_f32(*v),
            Value::F64(v) => s.serialize_f64(*v),
            Value::Char(v) => s.serialize_char(*v),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(v) => s.serialize_bytes(v),
            Value::Some(v) => s.serialize_some(v),
            Value::Unit => s.serialize_unit(),
            Value::UnitStruct => s.serialize_unit_struct("UnitStruct"),
            Value::UnitVariant(i) => s.serialize_unit_variant("Value", u32::from(*i), name(*i)),
            Value::NewtypeStruct(v) => s.serialize_newtype_struct("NewtypeStruct", v),
            Value::NewtypeVariant(i, v) => s.serialize_newtype_variant("Value", u32::from(*i), name(*i), v),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Tuple(items) => {
                let mut tuple = s.serialize_tuple(items.len())?;
                for item in items {
                    tuple.serialize_element(item)?;
                }
                tuple.end()
            }
            Value::TupleStruct(items) => {
                let mut tuple = s.serialize_tuple_struct("TupleStruct", items.len())?;
                for item in items {
                    tuple.serialize_field(item)?;
                }
                tuple.end()
            }
            Value::TupleVariant(i, items) => {
                let mut tuple = s.serialize_tuple_variant("Value", u32::from(*i), name(*i), items.len())?;
                for item in items {
                    tuple.serialize_field(item)?;
                }
                tuple.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Value::Struct(fields) => {
                let mut object = s.serialize_struct("Struct", fields.len())?;
                for (key, value) in fields {
                    object.serialize_field(name(*key), value)?;
                }
                object.end()
            }
            Value::StructVariant(i, fields) => {
                let mut object =
                    s.serialize_struct_variant("Value", u32::from(*i), name(*i), fields.len())?;
                for (key, value) in fields {
                    object.serialize_field(name(*key), value)?;
                }
                object.end()
            }
            Value::Json(text) => match serde_json::from_str::<serde_json::Value>(text) {
                Ok(value) => value.serialize(s),
                Err(_) => s.serialize_str(text),
            },
        }
    }
}

impl Value {
    /// True when every map key is one the writer writes itself.
    fn has_string_keys_only(&self) -> bool {
        match self {
            Value::Some(v) | Value::NewtypeStruct(v) | Value::NewtypeVariant(_, v) => {
                v.has_string_keys_only()
            }
            Value::Seq(items)
            | Value::Tuple(items)
            | Value::TupleStruct(items)
            | Value::TupleVariant(_, items) => items.iter().all(Value::has_string_keys_only),
            Value::Map(entries) => entries
                .iter()
                .all(|(k, v)| k.is_string() && v.has_string_keys_only()),
            Value::Struct(fields) | Value::StructVariant(_, fields) => {
                fields.iter().all(|(_, v)| v.has_string_keys_only())
            }
            _ => true,
        }
    }
}

/// Primus' rule on top of JSON text: U+2028/U+2029 written as escapes.
fn escape_line_separators(json: &str) -> String {
    json.replace('\u{2028}', "\\u2028").replace('\u{2029}', "\\u2029")
}

fuzz_target!(|value: Value| {
    let expected = serde_json::to_vec(&value);
    match json_to_vec(&value) {
        Some(ours) => {
            let expected = expected
                .as_deref()
                .expect("the writer wrote what serde_json refuses");
            assert!(
                ours == expected,
                "differs from serde_json:\n ours: {}\nserde: {}",
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(expected)
            );
        }
        None => assert!(
            !value.has_string_keys_only(),
            "the writer gave up on a value with string keys only: {value:?}"
        ),
    }
    let parser: &dyn Parser = &Json;
    match (parser.encode_value(&value), serde_json::to_string(&value)) {
        (Ok(frame), Ok(text)) => assert_eq!(frame.as_str(), Some(escape_line_separators(&text).as_str())),
        (Err(_), Err(_)) => {}
        (ours, serde) => panic!("encode_value {ours:?}, serde_json {serde:?}"),
    }
});
