//! Logs of a test binary: the tracing subscriber (`RUST_LOG` controls it,
//! `warn` by default, written through the test harness so it shows with a
//! failing test), [`Log`], the strings a test records from inside
//! handlers to assert on later (errors, handler order, plugin events), and
//! [`CapturedLogs`], the log lines of one test, kept to assert on.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tracing_subscriber::util::SubscriberInitExt;

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

/// Everything a log subscriber of one test wrote (see
/// [`CapturedLogs::on_this_thread`]); clones share the buffer.
#[derive(Clone, Default)]
pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl CapturedLogs {
    /// A log subscriber for this thread only (the current-thread runtime
    /// of a test runs every task here, a client's included) writing lines
    /// up to `level`, without colours, into the returned buffer until the
    /// guard is dropped.
    pub fn on_this_thread(
        level: tracing_subscriber::filter::LevelFilter,
    ) -> (CapturedLogs, tracing::subscriber::DefaultGuard) {
        let captured = CapturedLogs::default();
        let writer = captured.clone();
        let guard = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish()
            .set_default();
        (captured, guard)
    }

    /// What was written so far, as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for CapturedLogs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
