//! The parsed query string of a spark's request.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::collections::BTreeMap;

/// A parsed query string, parsed the way Node's `querystring.parse` does for
/// Primus: `+` is a space, a key without `=` has the empty value, a
/// repeated key keeps every value (in order), and only the first
/// [`MAX_PAIRS`](Query::MAX_PAIRS) `&`-separated pairs count.
///
/// It serializes like Primus' `spark.query`: a key with one value maps to a
/// string, a repeated key to an array.
///
/// ```
/// use primus::spark::Query;
///
/// let query = Query::parse("a=1&a=2&b=%20x&c&d=e+f");
/// assert_eq!(query.get("a"), Some("1"));
/// assert_eq!(query.get_all("a"), ["1", "2"]);
/// assert_eq!(query.get("b"), Some(" x"));
/// assert_eq!(query.get("c"), Some(""));
/// assert_eq!(query.get("d"), Some("e f"));
/// assert_eq!(
///     serde_json::to_string(&query).unwrap(),
///     r#"{"a":["1","2"],"b":" x","c":"","d":"e f"}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    values: BTreeMap<String, Vec<String>>,
}

impl Query {
    /// How many `&`-separated pairs are read, empty ones included; the rest
    /// of the query string is ignored (Node's `querystring.parse` default
    /// `maxKeys`).
    ///
    /// ```
    /// use primus::spark::Query;
    ///
    /// let raw = format!("{}last=1", "a=1&".repeat(Query::MAX_PAIRS));
    /// assert_eq!(Query::parse(&raw).get_all("a").len(), Query::MAX_PAIRS);
    /// assert!(!Query::parse(&raw).contains("last"));
    /// ```
    pub const MAX_PAIRS: usize = 1000;

    /// Parses a raw query string (without the leading `?`).
    pub fn parse(raw: &str) -> Query {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Node stops after `maxKeys` pairs, counting empty ones (`a&&b` is
        // three); without the limit a query with more pairs held more keys
        // than Primus gives the same client (seen while writing the model
        // of Node's parser for the fuzz target `query`).
        for pair in raw.split('&').take(Query::MAX_PAIRS) {
            // One pair without `&`: at most one key and value.
            for (key, value) in form_urlencoded::parse(pair.as_bytes()) {
                values
                    .entry(key.into_owned())
                    .or_default()
                    .push(value.into_owned());
            }
        }
        Query { values }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of `key`, in the order they appeared (empty if absent).
    pub fn get_all(&self, key: &str) -> &[String] {
        self.values.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    /// True when `key` appears at all.
    pub fn contains(&self, key: &str) -> bool {
        self.values.contains_key(key)
    }

    /// Iterates keys (sorted) with all their values.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there are no keys.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl Serialize for Query {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.values.len()))?;
        for (key, values) in &self.values {
            match values.as_slice() {
                [one] => map.serialize_entry(key, one)?,
                many => map.serialize_entry(key, many)?,
            }
        }
        map.end()
    }
}
