//! Logs of a test binary: the tracing subscriber (`RUST_LOG` controls it,
//! `warn` by default, written through the test harness so it shows with a
//! failing test) and [`Log`], the strings a test records from inside
//! handlers to assert on later (errors, handler order, plugin events).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// Installs a test log subscriber once (`RUST_LOG` controls it).
pub fn init_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
    });
}

/// Strings recorded by handlers, in order; clones share one list. A
/// poisoned lock (a handler panicked while pushing) still records and reads.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<String>>>);

impl Log {
    /// Records one entry.
    pub fn push(&self, entry: impl Into<String>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry.into());
    }

    /// A copy of what was recorded so far.
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
