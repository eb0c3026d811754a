//! The `primus::` control messages.
//!
//! Primus has no handshake and no envelope: its few protocol messages are
//! ordinary parser-encoded *strings* that start with `primus::`. Only four
//! exist:
//!
//! | direction | message | meaning |
//! |---|---|---|
//! | server → client | `primus::ping::<ms epoch>` | heartbeat, sent every ping interval |
//! | client → server | `primus::pong::<value>` | heartbeat answer (the value is not checked) |
//! | server → client | `primus::server::close` | "I am closing on purpose, do not reconnect" |
//! | client → server | `primus::id::` | asks for the spark id, answered with `primus::id::<id>` |
//!
//! Any other `primus::` string is ordinary data on both sides, exactly as in
//! Primus 8 (whose README says otherwise; its code is what clients rely on).
//!
//! primus-rs adds two, sent only to clients that ask for connection state
//! recovery (the `primus_recover` query parameter, see
//! [`ConnectionRecovery`](crate::pipeline::ConnectionRecovery)), so Primus'
//! own clients never see them:
//!
//! | direction | message | meaning |
//! |---|---|---|
//! | server → client | `primus::recover::<token>` | a new session: keep the token, count the messages that follow from 0 |
//! | server → client | `primus::recovered::<token>` | the session was resumed: keep counting; missed messages follow |
//!
//! ```
//! use primus::protocol::{self, Control};
//!
//! assert_eq!(protocol::classify("primus::pong::17"), Some(Control::Pong("17")));
//! assert_eq!(protocol::classify("primus::server::close"), Some(Control::ServerClose));
//! assert_eq!(protocol::classify("hello"), None);
//! assert_eq!(protocol::ping(1795616336603), "primus::ping::1795616336603");
//! ```

/// Every control message starts with this prefix.
pub const PREFIX: &str = "primus::";

/// The message a server sends before an intentional close.
pub const SERVER_CLOSE: &str = "primus::server::close";

/// The message a client sends to ask for its spark id.
pub const ID_REQUEST: &str = "primus::id::";

/// The WebSocket close code a client sends when it gives up on a connection
/// it believes lost (its ping timeout) but wants its session kept: any other
/// close frame from the client means it left on purpose.
///
/// ```
/// assert_eq!(primus::protocol::RESUMABLE_CLOSE_CODE, 4001);
/// ```
pub const RESUMABLE_CLOSE_CODE: u16 = 4001;

/// The query parameter a client sets to ask for connection state recovery:
/// `new` for a new session, `<token>-<messages seen>` to resume one.
///
/// ```
/// let first = format!("ws://127.0.0.1:8080/primus?{}=new", primus::protocol::RECOVER_PARAMETER);
/// assert_eq!(first, "ws://127.0.0.1:8080/primus?primus_recover=new");
/// ```
pub const RECOVER_PARAMETER: &str = "primus_recover";

/// A recognised control message, borrowed from the decoded string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control<'a> {
    /// `primus::ping::<value>` (server → client).
    Ping(&'a str),
    /// `primus::pong::<value>` (client → server).
    Pong(&'a str),
    /// `primus::id::<value>`: a request (client → server, value ignored) or
    /// the answer (server → client, value is the id).
    Id(&'a str),
    /// `primus::server::close`.
    ServerClose,
    /// `primus::server::<anything else>`: Primus clients swallow these silently.
    ServerOther(&'a str),
    /// `primus::recover::<token>` (server → client): a new recoverable
    /// session, with the token that resumes it.
    Recover(&'a str),
    /// `primus::recovered::<token>` (server → client): the session was
    /// resumed; the messages the client missed follow.
    Recovered(&'a str),
}

/// Splits a decoded string into a control message, the way Primus does.
///
/// Returns `None` when the string does not start with `primus::` or names a
/// type that is not a control message; such strings are ordinary data.
///
/// The split reproduces Primus (`spark.js`, `primus.js`): the type runs from
/// index 8 to the next `:`, and the value starts two indices after that
/// colon. Those are JavaScript string indices, which count UTF-16 code
/// units, not bytes:
///
/// ```
/// use primus::protocol::{classify, Control};
///
/// // The character after the colon is skipped, whatever its UTF-8 length.
/// assert_eq!(classify("primus::ping:é17"), Some(Control::Ping("17")));
/// // Without a colon, `slice(8, -1)` drops the last code unit: half of
/// // U+1F600, so the type is no control message.
/// assert_eq!(classify("primus::ping\u{1F600}"), None);
/// ```
pub fn classify(message: &str) -> Option<Control<'_>> {
    let rest = message.strip_prefix(PREFIX)?;
    let (kind, value) = match rest.find(':') {
        Some(colon) => (Some(&rest[..colon]), after_colon(&rest[colon + 1..])),
        // JavaScript's `slice(8, -1)` / `slice(1)` when no colon follows.
        None => {
            let kind = match rest.chars().next_back() {
                // The last code unit is the second half of a surrogate pair:
                // Primus' type ends with the first half, which no control
                // message's type does.
                Some(last) if last.len_utf16() == 2 => None,
                Some(last) => Some(&rest[..rest.len() - last.len_utf8()]),
                None => Some(""),
            };
            // The prefix is ASCII: index 1 is a character boundary.
            (kind, message.get(1..).unwrap_or(""))
        }
    };
    match kind? {
        "ping" => Some(Control::Ping(value)),
        "pong" => Some(Control::Pong(value)),
        "id" => Some(Control::Id(value)),
        "server" if value == "close" => Some(Control::ServerClose),
        "server" => Some(Control::ServerOther(value)),
        "recover" => Some(Control::Recover(value)),
        "recovered" => Some(Control::Recovered(value)),
        _ => None,
    }
}

/// The value after the type's colon: JavaScript's `slice(colon + 2)` skips
/// one UTF-16 code unit after the colon, that is one character of the Basic
/// Multilingual Plane (one to three bytes in UTF-8: skipping two bytes, as
/// this once did, lost the value after `é` or `漢`). A character
/// outside it is two code units, and Primus' value starts with the second
/// half of its surrogate pair, which a `&str` cannot hold: the value keeps
/// the whole character. Like Primus' value, it is then neither `close`
/// nor a number.
fn after_colon(after: &str) -> &str {
    match after.chars().next() {
        Some(skipped) if skipped.len_utf16() == 1 => &after[skipped.len_utf8()..],
        _ => after,
    }
}

/// `primus::ping::<timestamp>`.
pub fn ping(timestamp_ms: u64) -> String {
    format!("primus::ping::{timestamp_ms}")
}

/// `primus::pong::<value>`; Primus clients echo the ping's value as a number.
pub fn pong(value: &str) -> String {
    format!("primus::pong::{value}")
}

/// `primus::id::<id>`, the server's answer to an id request.
pub fn id(spark_id: &str) -> String {
    format!("primus::id::{spark_id}")
}

/// `primus::recover::<token>`: the first message of a new recoverable session.
///
/// ```
/// assert_eq!(primus::protocol::recover("ab12"), "primus::recover::ab12");
/// ```
pub fn recover(token: &str) -> String {
    format!("primus::recover::{token}")
}

/// `primus::recovered::<token>`: the first message of a resumed session.
///
/// ```
/// assert_eq!(primus::protocol::recovered("ab12"), "primus::recovered::ab12");
/// ```
pub fn recovered(token: &str) -> String {
    format!("primus::recovered::{token}")
}

/// What a Primus client answers to a ping value: `String(Number(value))`.
///
/// ```
/// assert_eq!(primus::protocol::pong_value("0017"), "17");
/// assert_eq!(primus::protocol::pong_value("abc"), "NaN");
/// ```
pub fn pong_value(ping_value: &str) -> String {
    let trimmed = ping_value.trim();
    if trimmed.is_empty() {
        return "0".to_owned();
    }
    match trimmed.parse::<f64>() {
        Ok(n) if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 => {
            format!("{}", n as i64)
        }
        Ok(n) if n.is_finite() => format!("{n}"),
        _ => "NaN".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_primus() {
        assert_eq!(classify("primus::ping::123"), Some(Control::Ping("123")));
        assert_eq!(classify("primus::id::"), Some(Control::Id("")));
        assert_eq!(classify("primus::id::abc"), Some(Control::Id("abc")));
        assert_eq!(
            classify("primus::server::nope"),
            Some(Control::ServerOther("nope"))
        );
        assert_eq!(classify("primus::foo::bar"), None);
        assert_eq!(classify("primus:ping:1"), None);
        // No colon after the type: JavaScript's slice(8, -1) drops the last char.
        assert_eq!(classify("primus::pongx"), Some(Control::Pong("rimus::pongx")));
        assert_eq!(classify("primus::"), None);
        assert_eq!(classify(&recover("t0k")), Some(Control::Recover("t0k")));
        assert_eq!(classify(&recovered("t0k")), Some(Control::Recovered("t0k")));
    }

    #[test]
    fn pong_value_is_number_like() {
        assert_eq!(pong_value("1795616336603"), "1795616336603");
        assert_eq!(pong_value("notanumber"), "NaN");
    }
}
