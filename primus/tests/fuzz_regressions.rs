//! Every input a fuzz target (`fuzz/`, see `fuzz/README.md`) failed on,
//! through the public API. Inputs of crate-private decoders are unit tests
//! next to them (`message/envelope.rs`: `only_objects_have_an_envelope`).

use primus::protocol::{self, Control};
use primus::spark::Query;

/// Fuzz target `control`: Primus' `msg.slice(last + 2)` skips one UTF-16
/// code unit after the type's colon; skipping two bytes lost the value when
/// that character was `é` (two bytes) or `漢` (three).
#[test]
fn control_value_skips_one_character_after_the_colon() {
    assert_eq!(protocol::classify("primus::ping:é1"), Some(Control::Ping("1")));
    assert_eq!(protocol::classify("primus::pong:漢17"), Some(Control::Pong("17")));
    assert_eq!(
        protocol::classify("primus::server:\u{2028}close"),
        Some(Control::ServerClose)
    );
    assert_eq!(protocol::classify("primus::id:é"), Some(Control::Id("")));
    // Outside the Basic Multilingual Plane Primus' value starts inside a
    // surrogate pair: the whole character stays, so it is not `close`.
    assert_eq!(
        protocol::classify("primus::server:\u{1F600}close"),
        Some(Control::ServerOther("\u{1F600}close"))
    );
    assert_eq!(
        protocol::classify("primus::ping:\u{1F600}1"),
        Some(Control::Ping("\u{1F600}1"))
    );
}

/// Fuzz target `control`: without a colon Primus' type is `slice(8, -1)`,
/// which keeps half a surrogate pair when the last character is outside the
/// Basic Multilingual Plane; dropping the whole character made `ping`.
#[test]
fn control_type_ending_in_half_a_surrogate_pair_is_data() {
    assert_eq!(protocol::classify("primus::ping\u{1F600}"), None);
    assert_eq!(protocol::classify("primus::id\u{10FFFF}"), None);
    // A last character of the plane still goes whole, as in Primus.
    assert_eq!(
        protocol::classify("primus::pingé"),
        Some(Control::Ping("rimus::pingé"))
    );
}

/// Fuzz target `query`: Node's `querystring.parse` reads 1,000 pairs (its
/// `maxKeys`), empty ones included.
#[test]
fn query_reads_at_most_a_thousand_pairs() {
    let raw = format!("{}a=1&b=2", "&".repeat(999));
    let query = Query::parse(&raw);
    assert_eq!(query.get("a"), Some("1"));
    assert!(!query.contains("b"), "the 1,001st pair is ignored");
    let many: String = (0..1005).map(|i| format!("k{i}=v&")).collect();
    assert_eq!(Query::parse(&many).len(), 1000);
}
