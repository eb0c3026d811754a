//! What README.md's snippets use without defining it: the context they are
//! compiled in by `mod.rs` (next to this file): the generated file includes
//! it as `mod context`. Only there: `mod.rs` does not declare it, and cargo
//! does not take files in subfolders of `tests/` as tests.
//!
//! Every block but the `events` one sees these items (`use super::context::*;`):
//! the README's shared events (re-exported from its `events` block, so the
//! other snippets use the enum the README shows) and the application's own
//! pieces the snippets refer to. Library names are *not* imported here: a
//! snippet `use`s what it needs from primus, as a reader's code must.

pub use crate::shared_events::*;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The events the server sends; the README writes `ServerEvent::Said`,
/// `ServerEventSaid` and `ServerEvent::confirm(..)` but never shows the enum.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    Said { who: String, text: String },
    #[primus(reply = bool)]
    Confirm(String),
}

/// The application state of the handlers snippet (`State<Rooms>`).
#[derive(Debug, Clone, Default)]
pub struct Rooms(Arc<Mutex<BTreeSet<String>>>);

impl Rooms {
    /// Forgets a spark that left.
    pub fn forget(&self, spark: &str) {
        self.0.lock().unwrap().remove(spark);
    }

    /// The names of the rooms.
    pub fn names(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().cloned().collect()
    }
}

/// The rate limit of the middleware snippet.
pub fn too_many(ip: Option<IpAddr>) -> bool {
    ip.is_none()
}

/// A `data` handler, as `on_data(echo)` takes it: every message comes back.
pub async fn echo(spark: primus::Spark, message: primus::Message) {
    if let Ok(value) = message.decode::<serde_json::Value>() {
        let _ = spark.write(&value);
    }
}
