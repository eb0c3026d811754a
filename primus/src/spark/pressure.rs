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
use std::cell::{Cell, RefCell};

thread_local! {
    /// True while a collector is armed on this thread.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// The congested sparks noted while it is (no allocation until one is).
    static CONGESTED: RefCell<Vec<Spark>> = const { RefCell::new(Vec::new()) };
}

/// Notes `spark` as congested, if a collector is armed on this thread.
pub(crate) fn note(spark: &Spark) {
    if !ARMED.with(Cell::get) {
        return;
    }
    CONGESTED.with(|congested| {
        if let Ok(mut congested) = congested.try_borrow_mut() {
            // The same spark is noted once per message written to it: the
            // last one noted is the likeliest repeat.
            if congested.last() != Some(spark) {
                congested.push(spark.clone());
            }
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
        ARMED.with(|armed| armed.set(true));
        Collector {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Disarms the collection and adds the sparks noted meanwhile to `into`
    /// (each spark once).
    pub(crate) fn finish(self, into: &mut Vec<Spark>) {
        ARMED.with(|armed| armed.set(false));
        CONGESTED.with(|congested| {
            let Ok(mut congested) = congested.try_borrow_mut() else {
                return;
            };
            if congested.is_empty() {
                return;
            }
            into.append(&mut congested);
            into.sort_unstable_by_key(Spark::identity);
            into.dedup_by_key(|spark| spark.identity());
            if congested.capacity() > 1024 {
                congested.shrink_to(1024);
            }
        });
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Disarmed also when the poll panicked (the noted sparks are then
        // dropped by the next `finish`, which only means no wait).
        ARMED.with(|armed| armed.set(false));
    }
}
