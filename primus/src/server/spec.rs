//! The `/spec` document: what a client needs to know to connect.

use super::Config;
use serde::Serialize;

/// The version of the Primus protocol spoken, published in `/spec`.
pub const PRIMUS_VERSION: &str = "8.0.9";

/// `{"pingInterval":…,"pathname":…,"version":…,"parser":…,"transformer":…}`
/// in Primus' key order.
pub(super) fn encode(config: &Config, parser: &str, transformer: &str) -> bytes::Bytes {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec<'a> {
        ping_interval: serde_json::Value,
        pathname: &'a str,
        version: &'a str,
        parser: &'a str,
        transformer: &'a str,
    }
    let ping_interval = match config.ping_interval {
        Some(interval) => serde_json::Value::from(interval.as_millis() as u64),
        None => serde_json::Value::Bool(false),
    };
    let spec = Spec {
        ping_interval,
        pathname: &config.pathname,
        version: PRIMUS_VERSION,
        parser,
        transformer,
    };
    serde_json::to_vec(&spec)
        .map(bytes::Bytes::from)
        .unwrap_or_default()
}
