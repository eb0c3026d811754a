//! Reading BinaryPack: one value, nested at most [`MAX_DEPTH`] deep, into
//! serde's data model, as JavaScript's unpacker reads it.

use super::{PackError, MAX_DEPTH};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Deserialize as _;

pub(super) struct Reader<'de> {
    bytes: &'de [u8],
    at: usize,
    depth: usize,
}

/// What a tag announces.
pub(super) enum Item<'de> {
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
    pub(super) fn new(bytes: &'de [u8]) -> Reader<'de> {
        Reader {
            bytes,
            at: 0,
            depth: 0,
        }
    }

    pub(super) fn end(&self) -> Result<(), PackError> {
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
                let mut access = Items::new(reader, len, 1);
                let value = visitor.visit_seq(&mut access)?;
                access.drain()?;
                Ok(value)
            }),
            Item::Object(len) => self.nested(|reader| {
                let mut access = Items::new(reader, len, 2);
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
pub(super) struct Items<'a, 'de> {
    reader: &'a mut Reader<'de>,
    /// Items (array) or entries (object) not started.
    left: usize,
    /// Values per entry: 1 in an array, 2 (key and value) in an object.
    per_item: usize,
    /// A key was read and its value not yet.
    value_pending: bool,
}

impl<'a, 'de> Items<'a, 'de> {
    fn new(reader: &'a mut Reader<'de>, left: usize, per_item: usize) -> Items<'a, 'de> {
        Items {
            reader,
            left,
            per_item,
            value_pending: false,
        }
    }

    /// Skips what the visitor left unread: the value of a key it read, and
    /// every item (array) or key and value (object) after it.
    fn drain(&mut self) -> Result<(), PackError> {
        let mut skip = self.left * self.per_item + usize::from(self.value_pending);
        self.left = 0;
        self.value_pending = false;
        while skip > 0 {
            skip -= 1;
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
        self.value_pending = true;
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
        self.value_pending = false;
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
