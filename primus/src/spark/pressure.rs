//! Back-pressure from a spark's receivers onto the code that writes to
//! them: which sparks did the running handler congest?
//!
//! A handler that broadcasts in a loop fills the outbound queues of every
//! receiver faster than their connection tasks (on other threads) write
//! them out. Instead of dropping the receivers, the pipeline notes each
//! spark whose queue went past half its budget while the handler was being
//! polled, and waits for those queues to drain before it starts the
//! sender's next message (see `pipeline::dispatch`). The sender is slowed
//! down; the receivers are not punished for its burst.
//!
//! The note is thread-local and taken only while a [`Collector`] is armed:
//! a handler is polled synchronously, so every write it makes during that
//! poll happens on this thread. Writes from anywhere else are not noted.

use super::Spark;
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    /// The congested sparks noted while a collector is armed, keyed by
    /// handle identity; `None` while none is.
    static CONGESTED: RefCell<Option<HashMap<usize, Spark>>> = const { RefCell::new(None) };
}

/// Notes `spark` as congested, if a collector is armed on this thread.
pub(crate) fn note(spark: &Spark) {
    CONGESTED.with(|congested| {
        if let Some(sparks) = congested.borrow_mut().as_mut() {
            sparks.entry(spark.identity()).or_insert_with(|| spark.clone());
        }
    });
}

/// Collects the sparks congested by the writes made while it is armed.
pub(crate) struct Collector {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Collector {
    /// Arms the collection on this thread (until [`finish`](Self::finish)).
    pub(crate) fn arm() -> Collector {
        CONGESTED.with(|congested| {
            let mut congested = congested.borrow_mut();
            if congested.is_none() {
                *congested = Some(HashMap::new());
            }
        });
        Collector {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Disarms the collection and adds the sparks noted meanwhile to `into`
    /// (skipping those already there).
    pub(crate) fn finish(self, into: &mut Vec<Spark>) {
        let noted = CONGESTED.with(|congested| congested.borrow_mut().take());
        for (_, spark) in noted.into_iter().flatten() {
            if !into.contains(&spark) {
                into.push(spark);
            }
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Disarmed also when the poll panicked (the noted sparks are lost,
        // which only means no wait).
        CONGESTED.with(|congested| {
            if let Ok(mut congested) = congested.try_borrow_mut() {
                *congested = None;
            }
        });
    }
}
