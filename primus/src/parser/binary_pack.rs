//! The BinaryPack parser: Primus' `binary` parser (npm `binary-pack` 1.x,
//! Eric Zhang's BinaryPack) on the wire, written here.
//!
//! BinaryPack is a MessagePack dialect with its own tags for strings:
//!
//! | value | tags |
//! |---|---|
//! | integer | `00`–`7f`, `e0`–`ff` (fixnums), `cc` `cd` `ce` `cf` (u8–u64), `d0` `d1` `d2` `d3` (i8–i64) |
//! | float | `cb` (float64; `ca` float32 is read) |
//! | `null`, `false`, `true` | `c0`, `c2`, `c3` (`c1`, `d4`–`d7`: `undefined`) |
//! | bytes | `a0`–`af` (up to 15), `da` (u16 length), `db` (u32 length) |
//! | string (UTF-8) | `b0`–`bf` (up to 15 bytes), `d8` (u16 length), `d9` (u32 length) |
//! | array | `90`–`9f`, `dc`, `dd` |
//! | object | `80`–`8f`, `de`, `df` (keys are strings) |
//!
//! Numbers are written as the JavaScript packer writes them: a whole number
//! (float or integer) as the smallest integer form in its ladder, anything
//! else as a float64.

use super::{Inspection, Parser, ParserError};
use crate::wire::protocol;
use crate::wire::Frame;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::ser::{self, Serialize};
use std::fmt;

/// BinaryPack in *binary* frames (name `"binary"`), byte-compatible with
/// Primus' `binary` parser: a Primus 8 client or server made with
/// `parser: 'binary'` (npm `binary-pack`) and primus-rs understand each
/// other. Bytes (`serde_bytes`, or [`Frame`]-like `Vec<u8>` fields with
/// `#[serde(with = "serde_bytes")]`) travel as BinaryPack raw data, which
/// arrives in Node.js as a `Buffer`; structs are objects with their field
/// names; enums are tagged as JSON tags them. One value per frame, nested
/// at most 128 deep; a text frame is refused.
///
/// ```
/// use primus::parser::{BinaryPack, Parser};
///
/// let parser: &dyn Parser = &BinaryPack;
/// let frame = parser.encode_value(&serde_json::json!({"a": 1, "b": [true, null]})).unwrap();
/// assert_eq!(frame.as_bytes(), [0x82, 0xb1, b'a', 0x01, 0xb1, b'b', 0x92, 0xc3, 0xc0]);
/// let back: serde_json::Value = parser.decode_value(&frame).unwrap();
/// assert_eq!(back, serde_json::json!({"a": 1, "b": [true, null]}));
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct BinaryPack;

/// Deepest nesting of arrays and objects accepted (as for JSON).
const MAX_DEPTH: usize = 128;

const NOT_BINARY: &str = "text frame: the binary parser expects binary frames";

impl Parser for BinaryPack {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        let mut writer = Writer { out: Vec::new() };
        value.serialize(&mut writer).map_err(ParserError::encode)?;
        Ok(Frame::binary(writer.out))
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(NOT_BINARY));
        }
        let mut reader = Reader::new(frame.as_bytes());
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut reader)).map_err(ParserError::decode)?;
        reader.end().map_err(ParserError::decode)
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        if !frame.is_binary() {
            return Err(ParserError::decode(NOT_BINARY));
        }
        let bytes = frame.as_bytes();
        // A string that starts with the prefix is a control message; any
        // other well-formed value is data.
        let mut reader = Reader::new(bytes);
        de::IgnoredAny::deserialize(&mut reader).map_err(ParserError::decode)?;
        reader.end().map_err(ParserError::decode)?;
        let mut reader = Reader::new(bytes);
        if let Ok(text) = <std::borrow::Cow<'_, str> as serde::Deserialize>::deserialize(&mut reader) {
            if text.starts_with(protocol::PREFIX) {
                return Ok(Inspection::Control(text.into_owned()));
            }
        }
        Ok(Inspection::Data)
    }
}

use serde::Deserialize as _;

/// Why a value could not be written or read.
#[derive(Debug)]
struct PackError(String);

impl fmt::Display for PackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PackError {}

impl ser::Error for PackError {
    fn custom<T: fmt::Display>(msg: T) -> PackError {
        PackError(msg.to_string())
    }
}

impl de::Error for PackError {
    fn custom<T: fmt::Display>(msg: T) -> PackError {
        PackError(msg.to_string())
    }
}

// ---------------------------------------------------------------------------
// Writing

struct Writer {
    out: Vec<u8>,
}

/// The header of a string, bytes, array or object of `len` items: the fix
/// tag (`fix + len`) up to 15, else the 16- or 32-bit tag and the length.
fn header(len: usize, fix: u8, tag16: u8, tag32: u8) -> Result<Vec<u8>, PackError> {
    if len <= 0x0f {
        Ok(vec![fix + len as u8])
    } else if let Ok(len) = u16::try_from(len) {
        let [a, b] = len.to_be_bytes();
        Ok(vec![tag16, a, b])
    } else if let Ok(len) = u32::try_from(len) {
        let mut out = vec![tag32];
        out.extend_from_slice(&len.to_be_bytes());
        Ok(out)
    } else {
        Err(PackError("Invalid length".into()))
    }
}

impl Writer {
    fn string(&mut self, text: &str) -> Result<(), PackError> {
        self.out.extend(header(text.len(), 0xb0, 0xd8, 0xd9)?);
        self.out.extend_from_slice(text.as_bytes());
        Ok(())
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), PackError> {
        self.out.extend(header(bytes.len(), 0xa0, 0xda, 0xdb)?);
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    /// The JavaScript packer's integer ladder.
    fn integer(&mut self, n: i128) -> Result<(), PackError> {
        let out = &mut self.out;
        if (-0x20..=0x7f).contains(&n) {
            out.push(n as i8 as u8);
        } else if (0..=0xff).contains(&n) {
            out.extend([0xcc, n as u8]);
        } else if (-0x80..=0x7f).contains(&n) {
            out.extend([0xd0, n as i8 as u8]);
        } else if (0..=0xffff).contains(&n) {
            out.push(0xcd);
            out.extend((n as u16).to_be_bytes());
        } else if (-0x8000..=0x7fff).contains(&n) {
            out.push(0xd1);
            out.extend((n as i16).to_be_bytes());
        } else if (0..=0xffff_ffff).contains(&n) {
            out.push(0xce);
            out.extend((n as u32).to_be_bytes());
        } else if (-0x8000_0000..=0x7fff_ffff).contains(&n) {
            out.push(0xd2);
            out.extend((n as i32).to_be_bytes());
        } else if let Ok(n) = i64::try_from(n) {
            out.push(0xd3);
            out.extend(n.to_be_bytes());
        } else if let Ok(n) = u64::try_from(n) {
            out.push(0xcf);
            out.extend(n.to_be_bytes());
        } else {
            return Err(PackError("Invalid integer".into()));
        }
        Ok(())
    }

    /// A whole number as an integer (as JavaScript cannot tell them apart),
    /// anything else as a float64.
    fn float(&mut self, f: f64) -> Result<(), PackError> {
        if f.is_finite() && f.floor() == f && f.abs() < 9.223_372_036_854_775e18 {
            return self.integer(f as i128);
        }
        self.out.push(0xcb);
        self.out.extend(f.to_be_bytes());
        Ok(())
    }
}

/// An array or object being written: its items go straight out, the header
/// is put in front once they are counted.
struct Compound<'a> {
    writer: &'a mut Writer,
    start: usize,
    count: usize,
    tags: (u8, u8, u8),
}

impl<'a> Compound<'a> {
    fn new(writer: &'a mut Writer, tags: (u8, u8, u8)) -> Compound<'a> {
        let start = writer.out.len();
        Compound {
            writer,
            start,
            count: 0,
            tags,
        }
    }

    fn finish(self) -> Result<(), PackError> {
        let head = header(self.count, self.tags.0, self.tags.1, self.tags.2)?;
        self.writer.out.splice(self.start..self.start, head);
        Ok(())
    }
}

const ARRAY: (u8, u8, u8) = (0x90, 0xdc, 0xdd);
const OBJECT: (u8, u8, u8) = (0x80, 0xde, 0xdf);

/// An enum variant with content, `{"Variant": content}`: an object of one
/// entry around the content.
struct VariantCompound<'a> {
    inner: Compound<'a>,
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = PackError;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = VariantCompound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = VariantCompound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), PackError> {
        self.out.push(if v { 0xc3 } else { 0xc2 });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_i128(self, v: i128) -> Result<(), PackError> {
        self.integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<(), PackError> {
        self.integer(v.into())
    }
    fn serialize_u128(self, v: u128) -> Result<(), PackError> {
        self.integer(i128::try_from(v).map_err(|_| PackError("Invalid integer".into()))?)
    }
    fn serialize_f32(self, v: f32) -> Result<(), PackError> {
        self.float(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<(), PackError> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), PackError> {
        self.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), PackError> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), PackError> {
        self.bytes(v)
    }
    fn serialize_none(self) -> Result<(), PackError> {
        self.out.push(0xc0);
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), PackError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), PackError> {
        self.out.push(0xc0);
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), PackError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), PackError> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), PackError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), PackError> {
        self.out.push(0x81);
        self.string(variant)?;
        value.serialize(self)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, PackError> {
        Ok(Compound::new(self, ARRAY))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, PackError> {
        Ok(Compound::new(self, ARRAY))
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, PackError> {
        Ok(Compound::new(self, ARRAY))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantCompound<'a>, PackError> {
        self.out.push(0x81);
        self.string(variant)?;
        Ok(VariantCompound {
            inner: Compound::new(self, ARRAY),
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, PackError> {
        Ok(Compound::new(self, OBJECT))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, PackError> {
        Ok(Compound::new(self, OBJECT))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<VariantCompound<'a>, PackError> {
        self.out.push(0x81);
        self.string(variant)?;
        Ok(VariantCompound {
            inner: Compound::new(self, OBJECT),
        })
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), PackError> {
        self.count += 1;
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), PackError> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), PackError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), PackError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), PackError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), PackError> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for VariantCompound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), PackError> {
        ser::SerializeSeq::serialize_element(&mut self.inner, value)
    }
    fn end(self) -> Result<(), PackError> {
        self.inner.finish()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), PackError> {
        self.count += 1;
        key.serialize(KeyWriter(&mut *self.writer))
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), PackError> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), PackError> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PackError> {
        self.count += 1;
        self.writer.string(key)?;
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), PackError> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for VariantCompound<'_> {
    type Ok = ();
    type Error = PackError;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), PackError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, value)
    }
    fn end(self) -> Result<(), PackError> {
        self.inner.finish()
    }
}

/// Object keys are strings in JavaScript: numbers, booleans and chars are
/// written as their text, as `JSON.stringify` would key them.
struct KeyWriter<'a>(&'a mut Writer);

fn key_error() -> PackError {
    PackError("an object key must be a string, a number, a boolean or a char".into())
}

impl ser::Serializer for KeyWriter<'_> {
    type Ok = ();
    type Error = PackError;
    type SerializeSeq = ser::Impossible<(), PackError>;
    type SerializeTuple = ser::Impossible<(), PackError>;
    type SerializeTupleStruct = ser::Impossible<(), PackError>;
    type SerializeTupleVariant = ser::Impossible<(), PackError>;
    type SerializeMap = ser::Impossible<(), PackError>;
    type SerializeStruct = ser::Impossible<(), PackError>;
    type SerializeStructVariant = ser::Impossible<(), PackError>;

    fn serialize_bool(self, v: bool) -> Result<(), PackError> {
        self.0.string(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<(), PackError> {
        self.0.string(&v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_char(self, v: char) -> Result<(), PackError> {
        self.0.string(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), PackError> {
        self.0.string(v)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_none(self) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), PackError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), PackError> {
        self.0.string(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), PackError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), PackError> {
        Err(key_error())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, PackError> {
        Err(key_error())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, PackError> {
        Err(key_error())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, PackError> {
        Err(key_error())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, PackError> {
        Err(key_error())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, PackError> {
        Err(key_error())
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, PackError> {
        Err(key_error())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, PackError> {
        Err(key_error())
    }
}

// ---------------------------------------------------------------------------
// Reading

struct Reader<'de> {
    bytes: &'de [u8],
    at: usize,
    depth: usize,
}

/// What a tag announces.
enum Item<'de> {
    Nil,
    Bool(bool),
    Unsigned(u64),
    Signed(i64),
    Float(f64),
    Str(&'de [u8]),
    Bytes(&'de [u8]),
    Array(usize),
    Object(usize),
}

fn cut_short() -> PackError {
    PackError("the value is cut short".into())
}

impl<'de> Reader<'de> {
    fn new(bytes: &'de [u8]) -> Reader<'de> {
        Reader {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    fn end(&self) -> Result<(), PackError> {
        match self.bytes.len() - self.at {
            0 => Ok(()),
            rest => Err(PackError(format!("{rest} bytes after the value"))),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8], PackError> {
        let end = self.at.checked_add(n).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(cut_short)?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], PackError> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn length(&mut self, wide: bool) -> Result<usize, PackError> {
        Ok(match wide {
            false => u16::from_be_bytes(self.fixed()?) as usize,
            true => u32::from_be_bytes(self.fixed()?) as usize,
        })
    }

    fn peek(&self) -> Result<u8, PackError> {
        self.bytes.get(self.at).copied().ok_or_else(cut_short)
    }

    fn item(&mut self) -> Result<Item<'de>, PackError> {
        let tag = self.fixed::<1>()?[0];
        Ok(match tag {
            0x00..=0x7f => Item::Unsigned(tag.into()),
            0xe0..=0xff => Item::Signed(i64::from(tag as i8)),
            0xa0..=0xaf => Item::Bytes(self.take(usize::from(tag - 0xa0))?),
            0xb0..=0xbf => Item::Str(self.take(usize::from(tag - 0xb0))?),
            0x90..=0x9f => Item::Array(usize::from(tag - 0x90)),
            0x80..=0x8f => Item::Object(usize::from(tag - 0x80)),
            0xc0 | 0xc1 | 0xd4..=0xd7 => Item::Nil,
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xca => Item::Float(f32::from_be_bytes(self.fixed()?).into()),
            0xcb => Item::Float(f64::from_be_bytes(self.fixed()?)),
            0xcc => Item::Unsigned(u8::from_be_bytes(self.fixed()?).into()),
            0xcd => Item::Unsigned(u16::from_be_bytes(self.fixed()?).into()),
            0xce => Item::Unsigned(u32::from_be_bytes(self.fixed()?).into()),
            0xcf => Item::Unsigned(u64::from_be_bytes(self.fixed()?)),
            0xd0 => Item::Signed(i8::from_be_bytes(self.fixed()?).into()),
            0xd1 => Item::Signed(i16::from_be_bytes(self.fixed()?).into()),
            0xd2 => Item::Signed(i32::from_be_bytes(self.fixed()?).into()),
            0xd3 => Item::Signed(i64::from_be_bytes(self.fixed()?)),
            0xd8 | 0xd9 => {
                let len = self.length(tag == 0xd9)?;
                Item::Str(self.take(len)?)
            }
            0xda | 0xdb => {
                let len = self.length(tag == 0xdb)?;
                Item::Bytes(self.take(len)?)
            }
            0xdc | 0xdd => Item::Array(self.length(tag == 0xdd)?),
            0xde | 0xdf => Item::Object(self.length(tag == 0xdf)?),
            other => return Err(PackError(format!("invalid type 0x{other:02x}"))),
        })
    }

    fn nested<T>(&mut self, read: impl FnOnce(&mut Self) -> Result<T, PackError>) -> Result<T, PackError> {
        if self.depth >= MAX_DEPTH {
            return Err(PackError("nested too deep".into()));
        }
        self.depth += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }
}

/// A string as JavaScript reads it: invalid UTF-8 becomes U+FFFD.
fn visit_text<'de, V: Visitor<'de>>(bytes: &'de [u8], visitor: V) -> Result<V::Value, PackError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => visitor.visit_borrowed_str(text),
        Err(_) => visitor.visit_string(String::from_utf8_lossy(bytes).into_owned()),
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = PackError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PackError> {
        match self.item()? {
            Item::Nil => visitor.visit_unit(),
            Item::Bool(b) => visitor.visit_bool(b),
            Item::Unsigned(n) => visitor.visit_u64(n),
            Item::Signed(n) => visitor.visit_i64(n),
            Item::Float(f) => visitor.visit_f64(f),
            Item::Str(bytes) => visit_text(bytes, visitor),
            Item::Bytes(bytes) => visitor.visit_borrowed_bytes(bytes),
            Item::Array(len) => self.nested(|reader| {
                let mut access = Items { reader, left: len };
                let value = visitor.visit_seq(&mut access)?;
                access.drain()?;
                Ok(value)
            }),
            Item::Object(len) => self.nested(|reader| {
                let mut access = Items { reader, left: len };
                let value = visitor.visit_map(&mut access)?;
                access.drain()?;
                Ok(value)
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PackError> {
        if matches!(self.peek()?, 0xc0 | 0xc1 | 0xd4..=0xd7) {
            self.at += 1;
            return visitor.visit_none();
        }
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, PackError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PackError> {
        match self.item()? {
            Item::Str(bytes) => {
                let name = std::str::from_utf8(bytes)
                    .map_err(|_| PackError("a variant name that is not UTF-8".into()))?;
                visitor.visit_enum(name.into_deserializer())
            }
            Item::Object(1) => self.nested(|reader| visitor.visit_enum(reader)),
            _ => Err(PackError(
                "expected a variant: a string or an object of one entry".into(),
            )),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PackError> {
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
    }
}

/// The items of an array, or the entries of an object, still to read.
struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    left: usize,
}

impl<'de> Items<'_, 'de> {
    /// Skips what the visitor left unread.
    fn drain(&mut self) -> Result<(), PackError> {
        while self.left > 0 {
            self.left -= 1;
            de::IgnoredAny::deserialize(&mut *self.reader)?;
        }
        Ok(())
    }

    /// A hint no bigger than what the rest of the frame can hold.
    fn hint(&self) -> Option<usize> {
        Some(self.left.min(self.reader.bytes.len() - self.reader.at))
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de> {
    type Error = PackError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, PackError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }
    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de> {
    type Error = PackError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, PackError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        // JavaScript turns every key into a string.
        let key = match self.reader.item()? {
            Item::Str(bytes) => return visit_key(bytes, seed).map(Some),
            Item::Unsigned(n) => n.to_string(),
            Item::Signed(n) => n.to_string(),
            Item::Float(f) => f.to_string(),
            Item::Bool(b) => b.to_string(),
            Item::Nil => "null".to_owned(),
            _ => {
                return Err(PackError(
                    "an object key that is an array, an object or bytes".into(),
                ))
            }
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, PackError> {
        seed.deserialize(&mut *self.reader)
    }
    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

fn visit_key<'de, K: DeserializeSeed<'de>>(bytes: &'de [u8], seed: K) -> Result<K::Value, PackError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => seed.deserialize(de::value::BorrowedStrDeserializer::new(text)),
        Err(_) => seed.deserialize(String::from_utf8_lossy(bytes).into_owned().into_deserializer()),
    }
}

impl<'de> de::EnumAccess<'de> for &mut Reader<'de> {
    type Error = PackError;
    type Variant = Self;
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), PackError> {
        match self.item()? {
            Item::Str(bytes) => Ok((visit_key(bytes, seed)?, self)),
            _ => Err(PackError("a variant name must be a string".into())),
        }
    }
}

impl<'de> de::VariantAccess<'de> for &mut Reader<'de> {
    type Error = PackError;
    fn unit_variant(self) -> Result<(), PackError> {
        de::IgnoredAny::deserialize(self).map(|_| ())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, PackError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, PackError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PackError> {
        de::Deserializer::deserialize_any(self, visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
            .collect()
    }

    fn parser() -> &'static dyn Parser {
        &BinaryPack
    }

    /// `BinaryPack.pack(value).toString('hex')` with npm binary-pack 1.0.2.
    #[test]
    fn encodes_as_npm_binary_pack_does() {
        let cases: [(Value, &str); 17] = [
            (json!("hi"), "b26869"),
            (json!("primus::ping::1"), "bf7072696d75733a3a70696e673a3a31"),
            (
                json!("x".repeat(20)),
                "d800147878787878787878787878787878787878787878",
            ),
            (json!(300), "cd012c"),
            (json!(-5), "fb"),
            (json!(-100), "d09c"),
            (json!(-300), "d1fed4"),
            (json!(70000), "ce00011170"),
            (json!(-70000), "d2fffeee90"),
            (json!(5_000_000_000_i64), "d3000000012a05f200"),
            (json!(-5_000_000_000_i64), "d3fffffffed5fa0e00"),
            (json!(1.5), "cb3ff8000000000000"),
            (json!(true), "c3"),
            (json!(null), "c0"),
            (json!([1, [2, []]]), "9201920290"),
            (json!({"a": 1, "b": [true, null]}), "82b16101b16292c3c0"),
            (json!(255), "ccff"),
        ];
        for (value, expected) in cases {
            let frame = parser().encode_value(&value).unwrap();
            assert_eq!(frame.as_bytes(), hex(expected), "{value}");
            let back: Value = parser().decode_value(&frame).unwrap();
            assert_eq!(back, value, "{expected}");
        }
        assert_eq!(parser().encode_value(&-33).unwrap().as_bytes(), hex("d0df"));
        assert_eq!(parser().encode_value(&-0.0).unwrap().as_bytes(), hex("00"));
        // A whole float is an integer, as in JavaScript.
        assert_eq!(parser().encode_value(&2.0).unwrap().as_bytes(), hex("02"));
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Blob {
        #[serde(with = "bytes_field")]
        data: Vec<u8>,
        name: String,
        kind: Kind,
    }

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    enum Kind {
        Plain,
        Sized(u32),
        Shaped { w: u8, h: u8 },
    }

    mod bytes_field {
        pub fn serialize<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(bytes)
        }
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            struct Bytes;
            impl<'de> serde::de::Visitor<'de> for Bytes {
                type Value = Vec<u8>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("bytes")
                }
                fn visit_bytes<E>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                    Ok(v.to_vec())
                }
            }
            d.deserialize_bytes(Bytes)
        }
    }

    #[test]
    fn bytes_structs_and_enums_round_trip() {
        for kind in [Kind::Plain, Kind::Sized(70000), Kind::Shaped { w: 3, h: 4 }] {
            let blob = Blob {
                data: vec![7; 20],
                name: "é".repeat(10),
                kind,
            };
            let frame = parser().encode_value(&blob).unwrap();
            // Twenty bytes are raw data with a 16-bit length, as a Buffer is packed.
            assert!(frame.as_bytes().windows(3).any(|w| w == [0xda, 0x00, 0x14]));
            let back: Blob = parser().decode_value(&frame).unwrap();
            assert_eq!(back, blob);
        }
    }

    #[test]
    fn control_messages_data_and_errors_are_told_apart() {
        let ping = parser().encode_value("primus::ping::1").unwrap();
        assert_eq!(
            parser().inspect(&ping).unwrap(),
            Inspection::Control("primus::ping::1".into())
        );
        let data = parser().encode_value(&json!({"a": 1})).unwrap();
        assert_eq!(parser().inspect(&data).unwrap(), Inspection::Data);
        for bad in [
            "",
            "c1c1",
            "d8ff",
            "92c3",
            "c4",
            "dd ffffffff".replace(' ', "").as_str(),
        ] {
            let frame = Frame::binary(hex(bad));
            assert!(parser().inspect(&frame).is_err(), "{bad}");
        }
        assert!(parser().inspect(&Frame::text("\"primus::ping::1\"")).is_err());
        // `undefined` reads as null; JavaScript keys become strings.
        let odd: Value = parser().decode_value(&Frame::binary(hex("8201c1c3d4"))).unwrap();
        assert_eq!(odd, json!({"1": null, "true": null}));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowing_the_stack() {
        let deep = Frame::binary(vec![0x91; 100_000]);
        assert!(parser().decode_value::<Value>(&deep).is_err());
        assert!(parser().inspect(&deep).is_err());
        let mut fine = vec![0x91; MAX_DEPTH - 1];
        fine.push(0xc0);
        assert!(parser().decode_value::<Value>(&Frame::binary(fine)).is_ok());
    }
}
