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

/// The collector's state on this thread.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// No collector is armed: writes are not noted.
    Disarmed,
    /// A collector is armed and nothing was noted yet.
    Armed,
    /// A collector is armed and the list holds what was noted.
    Noted,
}

thread_local! {
    /// One `Cell` (no destructor to register, so reading it is a plain
    /// thread-local load): arming and finishing a collector with nothing
    /// noted, which is every handler poll but a broadcast's, touch only it.
    static STATE: Cell<State> = const { Cell::new(State::Disarmed) };
    /// The congested sparks noted while armed (no allocation until one is).
    static CONGESTED: RefCell<Vec<Spark>> = const { RefCell::new(Vec::new()) };
}

/// Notes `spark` as congested, if a collector is armed on this thread.
pub(crate) fn note(spark: &Spark) {
    if STATE.with(Cell::get) == State::Disarmed {
        return;
    }
    STATE.with(|state| state.set(State::Noted));
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
        STATE.with(|state| state.set(State::Armed));
        Collector {
            _not_send: std::marker::PhantomData,
        }
    }

    /// Disarms the collection and adds the sparks noted meanwhile to `into`
    /// (each spark once).
    pub(crate) fn finish(self, into: &mut Vec<Spark>) {
        // Disarmed here; nothing left for `Drop` to do.
        std::mem::forget(self);
        if STATE.with(|state| state.replace(State::Disarmed)) != State::Noted {
            return;
        }
        CONGESTED.with(|congested| {
            let Ok(mut congested) = congested.try_borrow_mut() else {
                return;
            };
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
        // Only when `finish` was not reached (the poll panicked): disarm,
        // and forget what was noted (no wait for it).
        STATE.with(|state| state.set(State::Disarmed));
        CONGESTED.with(|congested| {
            if let Ok(mut congested) = congested.try_borrow_mut() {
                congested.clear();
            }
        });
    }
}
