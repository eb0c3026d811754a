//! Writing BinaryPack: serde's data model as the JavaScript packer writes
//! it.

use super::PackError;
use serde::ser::{self, Serialize};

#[derive(Default)]
pub(super) struct Writer {
    pub(super) out: Vec<u8>,
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
        } else {
            // Beyond 32 bits npm's packer writes `d3`, which its own Node
            // unpacker cannot read (it recurses without end) and its browser
            // unpacker reads wrong when negative; a float64 both read
            // exactly up to 2^53, as far as JavaScript numbers are exact.
            out.push(0xcb);
            out.extend((n as f64).to_be_bytes());
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
pub(super) struct Compound<'a> {
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
pub(super) struct VariantCompound<'a> {
    inner: Compound<'a>,
}

/// `Serializer` methods that write an integer of each width through the
/// JavaScript ladder.
macro_rules! integers {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), PackError> {
            self.integer(v.into())
        })*
    };
}

/// `Serializer` methods that write an integer key as its decimal text.
macro_rules! keys_as_text {
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), PackError> {
            self.0.string(&v.to_string())
        })*
    };
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
    integers!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
    fn serialize_i128(self, v: i128) -> Result<(), PackError> {
        self.integer(v)
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
pub(super) struct KeyWriter<'a>(&'a mut Writer);

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
    keys_as_text!(
        serialize_i8: i8,
        serialize_i16: i16,
        serialize_i32: i32,
        serialize_i64: i64,
        serialize_u8: u8,
        serialize_u16: u16,
        serialize_u32: u32,
        serialize_u64: u64
    );
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
