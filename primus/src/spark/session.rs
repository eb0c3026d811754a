//! A spark under connection state recovery: what recovery did for it, and
//! its detached, superseded and re-opened states (the pipeline's
//! `recovery` module drives them).

use super::{CloseRequest, Spark, CLOSED, OPEN};
use std::sync::atomic::{AtomicU8, Ordering};

/// Whether a spark's client asked for connection state recovery, and what
/// came of it (see [`ConnectionRecovery`](crate::pipeline::ConnectionRecovery)).
///
/// ```
/// use primus::spark::SessionRecovery;
///
/// assert_eq!(SessionRecovery::default(), SessionRecovery::Off);
/// assert!(SessionRecovery::Resumed.is_resumed());
/// assert!(!SessionRecovery::Missed.is_resumed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SessionRecovery {
    /// Recovery is off on this server, this transformer cannot resume
    /// sessions, or the client did not ask.
    #[default]
    Off,
    /// A new session, which the client can resume after losing its
    /// connection.
    New,
    /// The client asked to resume a session that is gone (past the window,
    /// past the replay bound, unknown, or ended by the server): this is a
    /// new spark, and what the old one was sent after the loss is lost.
    Missed,
    /// The client lost its connection and came back within the window: the
    /// same spark (id, rooms, extensions), and the messages it missed were
    /// sent again, in order.
    Resumed,
}

impl SessionRecovery {
    /// True once the spark was resumed by a reconnecting client.
    pub fn is_resumed(self) -> bool {
        self == SessionRecovery::Resumed
    }

    const ALL: [SessionRecovery; 4] = [
        SessionRecovery::Off,
        SessionRecovery::New,
        SessionRecovery::Missed,
        SessionRecovery::Resumed,
    ];
}

/// A [`SessionRecovery`] readable and writable from any task.
#[derive(Debug, Default)]
pub(crate) struct RecoveryCell(AtomicU8);

impl RecoveryCell {
    pub(crate) fn set(&self, value: SessionRecovery) {
        let code = SessionRecovery::ALL.iter().position(|v| *v == value).unwrap_or(0);
        self.0.store(code as u8, Ordering::Release);
    }

    pub(crate) fn get(&self) -> SessionRecovery {
        SessionRecovery::ALL
            .get(usize::from(self.0.load(Ordering::Acquire)))
            .copied()
            .unwrap_or_default()
    }
}

impl Spark {
    /// What connection state recovery did for this spark: whether its
    /// client asked for it, and whether this spark was resumed.
    ///
    /// ```
    /// use primus::spark::SessionRecovery;
    ///
    /// #[primus::on("connection")]
    /// async fn hello(spark: primus::Spark) {
    ///     if spark.recovery() == SessionRecovery::Missed {
    ///         // The client had a session that could not be resumed: send it
    ///         // the state it may have missed.
    ///     }
    /// }
    /// ```
    pub fn recovery(&self) -> SessionRecovery {
        self.inner.recovery.get()
    }

    /// True while the spark's connection is lost and the spark waits, within
    /// the recovery window, for its client to resume it. Writes to it are
    /// queued (within the queue's byte budget) and reach the client when it
    /// comes back.
    ///
    /// ```
    /// # fn demo(spark: primus::Spark) {
    /// if spark.is_detached() {
    ///     tracing::debug!(spark = spark.id(), "away; messages wait for its return");
    /// }
    /// # }
    /// ```
    pub fn is_detached(&self) -> bool {
        self.inner.detached.load(Ordering::Acquire)
    }

    /// Closes the connection of a spark whose client came back on a new
    /// one: the old connection ends quietly (its client is gone) and is kept
    /// for the new one to take over. False when the spark was closed.
    pub(crate) fn supersede(&self) -> bool {
        if self
            .inner
            .state
            .compare_exchange(OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        // Set before the connection task hears of the close, which reads it.
        self.inner.superseded.store(true, Ordering::Release);
        self.inner.close.send(CloseRequest {
            announce: false,
            code: None,
        });
        true
    }

    /// True once [`supersede`](Self::supersede) closed this spark's connection.
    pub(crate) fn is_superseded(&self) -> bool {
        self.inner.superseded.load(Ordering::Acquire)
    }

    pub(crate) fn set_recovery(&self, state: SessionRecovery) {
        self.inner.recovery.set(state);
    }

    /// Marks the spark detached (its connection is lost, it waits for its
    /// client) or attached again.
    pub(crate) fn set_detached(&self, detached: bool) {
        self.inner.detached.store(detached, Ordering::Release);
        if !detached {
            self.mark_alive();
        }
    }

    /// Opens a spark again whose connection the server closed for a cause
    /// that recovery forgives (a missed heartbeat, a stalled write): it is
    /// kept for its client instead. The cause noted is forgotten.
    pub(crate) fn reopen(&self) {
        self.inner.superseded.store(false, Ordering::Release);
        self.inner.close.clear();
        self.inner.reason.clear();
        self.inner.state.store(OPEN, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips() {
        let cell = RecoveryCell::default();
        assert_eq!(cell.get(), SessionRecovery::Off);
        for state in SessionRecovery::ALL {
            cell.set(state);
            assert_eq!(cell.get(), state);
        }
    }
}
