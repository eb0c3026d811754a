//! What connection state recovery did for a spark.

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
