//! Spark ids: 21 URL-safe random characters, like Primus' nanoid.

use rand::Rng;

const ALPHABET: &[u8; 64] = b"useandom-26T198340PX75pxJACKVERYMINDBUSHWOLF_GQZbfghjklqvwyzrict";
/// Length of a generated spark id.
pub const ID_LENGTH: usize = 21;

/// A fresh 21-character id from the alphabet `A-Za-z0-9_-`, drawn from a
/// cryptographically secure generator (the thread-local `rand` generator).
///
/// ```
/// let id = primus::spark::generate_id();
/// assert_eq!(id.len(), 21);
/// assert!(id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
/// ```
pub fn generate_id() -> String {
    let mut rng = rand::rng();
    (0..ID_LENGTH)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
