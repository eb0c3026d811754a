//! The EJSON parser, byte-compatible with Primus' `ejson` parser (npm
//! `ejson` 2.x, Meteor's Extended JSON).
//!
//! EJSON is JSON on the wire: values JSON cannot carry travel as small
//! objects, and an application object that looks like one of them is
//! wrapped in `$escape`.
//!
//! | JavaScript | on the wire |
//! |---|---|
//! | `new Date(5)` | `{"$date":5}` |
//! | `new Uint8Array([1, 2])` | `{"$binary":"AQI="}` (standard base64, padded) |
//! | `Infinity`, `-Infinity`, `NaN` | `{"$InfNaN":1}`, `{"$InfNaN":-1}`, `{"$InfNaN":0}` |
//! | `/a+/g` | `{"$regexp":"a+","$flags":"g"}` |
//! | the object `{$date: 1}` | `{"$escape":{"$date":1}}` |
//!
//! primus-rs reads and writes that JSON form as it is: a Rust value *is*
//! its EJSON wire form. [`EjsonDate`] and [`EjsonBinary`] are the two forms
//! a Rust program usually wants; any other (`$InfNaN`, `$regexp`,
//! `$escape`, a custom `$type`) arrives as the object above and is sent
//! back unchanged, so an echo is exact. Frames are otherwise the JSON
//! parser's, U+2028/U+2029 escapes included (Primus applies them to every
//! text frame).

use super::json::Json;
use super::{Inspection, Parser, ParserError};
use crate::wire::Frame;
use data_encoding::BASE64;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Primus' `ejson` parser: JSON text frames in EJSON's form.
///
/// ```
/// use primus::parser::{Ejson, EjsonDate, Parser};
///
/// let parser: &dyn Parser = &Ejson;
/// let frame = parser.encode_value(&EjsonDate::from_millis(1_700_000_000_123)).unwrap();
/// assert_eq!(frame.as_str(), Some(r#"{"$date":1700000000123}"#));
/// let back: EjsonDate = parser.decode_value(&frame).unwrap();
/// assert_eq!(back.millis(), 1_700_000_000_123);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Ejson;

impl Ejson {
    /// [`Parser::encode`] without type erasure (what `encode_value` calls):
    /// JSON, with non-finite floats and bytes in EJSON's forms.
    pub(crate) fn encode_typed<T: Serialize + ?Sized>(value: &T) -> Result<Frame, ParserError> {
        match super::json_write::to_wire_vec_ejson(value) {
            // Line separators already escaped; UTF-8 as in `Json`.
            Some(json) => Ok(Frame::text_trusted(bytes::Bytes::from(json))),
            // Shapes the writer leaves to serde_json (map keys that are not
            // strings): plain JSON, where a non-finite float is `null`.
            None => Ok(Json::text_frame(
                serde_json::to_vec(value).map_err(ParserError::encode)?,
            )),
        }
    }
}

impl Parser for Ejson {
    fn name(&self) -> &'static str {
        "ejson"
    }

    fn encode(&self, value: &dyn erased_serde::Serialize) -> Result<Frame, ParserError> {
        Ejson::encode_typed(value)
    }

    fn decode(
        &self,
        frame: &Frame,
        visit: &mut dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error>,
    ) -> Result<(), ParserError> {
        Json.decode(frame, visit)
    }

    fn inspect(&self, frame: &Frame) -> Result<Inspection, ParserError> {
        Json.inspect(frame)
    }
}

/// A JavaScript `Date` over EJSON: milliseconds since the Unix epoch, on
/// the wire `{"$date": <ms>}`.
///
/// ```
/// use primus::parser::EjsonDate;
/// use std::time::{Duration, UNIX_EPOCH};
///
/// let date = EjsonDate::from(UNIX_EPOCH + Duration::from_millis(1500));
/// assert_eq!(date.millis(), 1500);
/// assert_eq!(serde_json::to_string(&date).unwrap(), r#"{"$date":1500}"#);
/// assert_eq!(date.to_system_time(), Some(UNIX_EPOCH + Duration::from_millis(1500)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EjsonDate(i64);

/// The farthest a JavaScript `Date` reaches from the epoch, in milliseconds.
const MAX_DATE_MILLIS: u64 = 8_640_000_000_000_000;

impl EjsonDate {
    /// The date `millis` milliseconds after (or before, when negative) the
    /// Unix epoch.
    ///
    /// ```
    /// assert_eq!(primus::parser::EjsonDate::from_millis(-1).millis(), -1);
    /// ```
    pub fn from_millis(millis: i64) -> EjsonDate {
        EjsonDate(millis)
    }

    /// Now, to the millisecond.
    ///
    /// ```
    /// assert!(primus::parser::EjsonDate::now().millis() > 1_700_000_000_000);
    /// ```
    pub fn now() -> EjsonDate {
        EjsonDate::from(SystemTime::now())
    }

    /// Milliseconds since the Unix epoch (JavaScript's `getTime()`).
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The date as a `SystemTime`; `None` when the platform cannot hold it.
    pub fn to_system_time(self) -> Option<SystemTime> {
        let offset = Duration::from_millis(self.0.unsigned_abs());
        match self.0 >= 0 {
            true => UNIX_EPOCH.checked_add(offset),
            false => UNIX_EPOCH.checked_sub(offset),
        }
    }
}

impl From<SystemTime> for EjsonDate {
    fn from(time: SystemTime) -> EjsonDate {
        let millis = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
        };
        EjsonDate(millis)
    }
}

impl Serialize for EjsonDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.unsigned_abs() > MAX_DATE_MILLIS {
            return Err(serde::ser::Error::custom(
                "an EJSON date must be within ±8.64e15 ms of the epoch (JavaScript's range)",
            ));
        }
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("$date", &self.0)?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for EjsonDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EjsonDate, D::Error> {
        struct DateVisitor;
        impl<'de> Visitor<'de> for DateVisitor {
            type Value = EjsonDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"an EJSON date {"$date": milliseconds}"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EjsonDate, A::Error> {
                let millis: f64 = only_entry(&mut map, "$date")?;
                // JavaScript dates are whole milliseconds within ±8.64e15.
                if millis.fract() != 0.0 || millis.abs() > MAX_DATE_MILLIS as f64 {
                    return Err(de::Error::custom(
                        "an EJSON date must be a whole number of milliseconds",
                    ));
                }
                Ok(EjsonDate(millis as i64))
            }
        }
        deserializer.deserialize_map(DateVisitor)
    }
}

/// Bytes over EJSON (a JavaScript `Uint8Array`): on the wire
/// `{"$binary": "<standard base64>"}`.
///
/// ```
/// use primus::parser::EjsonBinary;
///
/// let bytes = EjsonBinary(vec![0, 1, 2, 250, 255]);
/// let json = serde_json::to_string(&bytes).unwrap();
/// assert_eq!(json, r#"{"$binary":"AAEC+v8="}"#);
/// assert_eq!(serde_json::from_str::<EjsonBinary>(&json).unwrap(), bytes);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct EjsonBinary(pub Vec<u8>);

impl Serialize for EjsonBinary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("$binary", &BASE64.encode(&self.0))?;
        map.end()
    }
}

impl<'de> Deserialize<'de> for EjsonBinary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<EjsonBinary, D::Error> {
        struct BinaryVisitor;
        impl<'de> Visitor<'de> for BinaryVisitor {
            type Value = EjsonBinary;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"EJSON binary {"$binary": base64}"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<EjsonBinary, A::Error> {
                let text: String = only_entry(&mut map, "$binary")?;
                BASE64
                    .decode(text.as_bytes())
                    .map(EjsonBinary)
                    .map_err(|_| de::Error::custom("EJSON binary that is not standard base64"))
            }
        }
        deserializer.deserialize_map(BinaryVisitor)
    }
}

/// The value of the one entry of `map`, whose key must be `key`.
fn only_entry<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: &mut A,
    key: &'static str,
) -> Result<T, A::Error> {
    let found: Option<String> = map.next_key()?;
    if found.as_deref() != Some(key) {
        return Err(de::Error::custom(format_args!("expected the one key `{key}`")));
    }
    let value = map.next_value()?;
    if map.next_key::<de::IgnoredAny>()?.is_some() {
        return Err(de::Error::custom(format_args!("expected only the key `{key}`")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// `EJSON.stringify` of `{s: "x\u2028y", n: 1.5, …}` by npm ejson 2.2.3
    /// (Primus then escapes U+2028).
    const FROM_EJSON: &str = r#"{"s":"x\u2028y","n":1.5,"i":-3,"arr":[1,"a",null,true],"d":{"$date":1700000000123},"b":{"$binary":"AAEC+v8="},"inf":{"$InfNaN":1},"ninf":{"$InfNaN":-1},"nan":{"$InfNaN":0},"lit":{"$escape":{"$date":1}},"lit2":{"$binary":"AA==","$x":1},"nested":{"deep":[{"$date":0}]}}"#;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Typed {
        s: String,
        d: EjsonDate,
        b: EjsonBinary,
        nested: Nested,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Nested {
        deep: Vec<EjsonDate>,
    }

    #[test]
    fn frames_of_the_npm_library_decode_and_echo_exactly() {
        let parser: &dyn Parser = &Ejson;
        let frame = Frame::text(FROM_EJSON);
        let value: Value = parser.decode_value(&frame).unwrap();
        assert_eq!(value["lit"], json!({ "$escape": { "$date": 1 } }));
        // Sent back, it is the same EJSON (escapes and all).
        let echoed: Value = serde_json::from_slice(parser.encode_value(&value).unwrap().as_bytes()).unwrap();
        assert_eq!(echoed, value);

        let typed: Typed = parser.decode_value(&frame).unwrap();
        assert_eq!(typed.s, "x\u{2028}y");
        assert_eq!(typed.d, EjsonDate::from_millis(1_700_000_000_123));
        assert_eq!(typed.b, EjsonBinary(vec![0, 1, 2, 250, 255]));
        assert_eq!(typed.nested.deep, [EjsonDate::from_millis(0)]);
        // The same fields in the same order, as `EJSON.stringify` writes them.
        assert_eq!(
            parser.encode_value(&typed).unwrap().as_str(),
            Some(
                r#"{"s":"x\u2028y","d":{"$date":1700000000123},"b":{"$binary":"AAEC+v8="},"nested":{"deep":[{"$date":0}]}}"#
            )
        );
    }

    #[test]
    fn control_messages_are_json_strings() {
        let parser: &dyn Parser = &Ejson;
        assert_eq!(
            parser.inspect(&Frame::text(r#""primus::ping::1""#)).unwrap(),
            Inspection::Control("primus::ping::1".into())
        );
        assert!(parser.inspect(&Frame::text("{")).is_err());
    }

    #[test]
    fn malformed_forms_are_refused() {
        for bad in [
            r#"{"$date":1.5}"#,
            r#"{"$date":"soon"}"#,
            r#"{"$date":1,"x":2}"#,
            r#"{"$time":1}"#,
            r#"{"$date":1e300}"#,
        ] {
            assert!(serde_json::from_str::<EjsonDate>(bad).is_err(), "{bad}");
        }
        for bad in [r#"{"$binary":"AA"}"#, r#"{"$binary":"@@@@"}"#, r#"{"$binary":1}"#] {
            assert!(serde_json::from_str::<EjsonBinary>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_finite_numbers_and_bytes_take_ejson_forms() {
        struct Raw<'a>(&'a [u8]);
        impl Serialize for Raw<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_bytes(self.0)
            }
        }
        let parser: &dyn Parser = &Ejson;
        let numbers = [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 1.5];
        assert_eq!(
            parser.encode_value(&numbers).unwrap().as_str(),
            Some(r#"[{"$InfNaN":1},{"$InfNaN":-1},{"$InfNaN":0},1.5]"#)
        );
        assert_eq!(
            parser.encode_value(&Raw(&[0, 1, 2, 250, 255])).unwrap().as_str(),
            Some(r#"{"$binary":"AAEC+v8="}"#)
        );
        // Through the erased path too.
        assert_eq!(
            Ejson.encode(&f64::NAN).unwrap().as_str(),
            Some(r#"{"$InfNaN":0}"#)
        );
        // The JSON parser is unchanged: null, and an array of numbers.
        assert_eq!(
            (&Json as &dyn Parser).encode_value(&f64::NAN).unwrap().as_str(),
            Some("null")
        );
    }

    #[test]
    fn dates_beyond_javascripts_range_are_refused_when_written() {
        let parser: &dyn Parser = &Ejson;
        assert!(parser
            .encode_value(&EjsonDate::from_millis(8_640_000_000_000_001))
            .is_err());
        assert!(parser
            .encode_value(&EjsonDate::from_millis(-8_640_000_000_000_000))
            .is_ok());
    }

    #[test]
    fn dates_before_the_epoch_round_trip() {
        let before = UNIX_EPOCH - Duration::from_millis(2500);
        let date = EjsonDate::from(before);
        assert_eq!(date.millis(), -2500);
        assert_eq!(date.to_system_time(), Some(before));
    }
}
