//! Why a connection ended: the first cause noted wins, so a heartbeat that
//! closes a spark is not later counted as the client going away.

use std::sync::atomic::{AtomicU8, Ordering};

/// Why a spark was disconnected, as [`Spark::disconnect_reason`] tells
/// `disconnection` handlers and the `reason` label of the
/// `primus_disconnects_total` metric counts.
///
/// ```
/// use primus::spark::DisconnectReason;
///
/// assert_eq!(DisconnectReason::HeartbeatTimeout.as_str(), "heartbeat_timeout");
/// ```
///
/// [`Spark::disconnect_reason`]: crate::Spark::disconnect_reason
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed the connection, or it was lost (network, proxy,
    /// transport error).
    Client,
    /// The application ended it (`spark.end()`, `end_reconnect()`,
    /// `end_with(..)`, `end_sparks(..)`).
    Ended,
    /// The client did not answer the last heartbeat ping.
    HeartbeatTimeout,
    /// The client stopped reading: its socket accepted nothing for a whole
    /// heartbeat interval.
    Stalled,
    /// Its outbound queue reached the byte budget.
    SlowConsumer,
    /// It sent too many messages that could not be decoded.
    TooManyInvalid,
    /// It sent a message larger than the server accepts, or a message whose
    /// partly received bytes did not fit the server's budget for them.
    TooLarge,
    /// The server was destroyed.
    Shutdown,
}

impl DisconnectReason {
    /// Every reason, in the order of their codes.
    const ALL: [DisconnectReason; 8] = [
        DisconnectReason::Client,
        DisconnectReason::Ended,
        DisconnectReason::HeartbeatTimeout,
        DisconnectReason::Stalled,
        DisconnectReason::SlowConsumer,
        DisconnectReason::TooManyInvalid,
        DisconnectReason::TooLarge,
        DisconnectReason::Shutdown,
    ];

    /// A short snake_case name, as in logs and metric labels.
    ///
    /// ```
    /// assert_eq!(primus::spark::DisconnectReason::Client.as_str(), "client");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::Client => "client",
            DisconnectReason::Ended => "ended",
            DisconnectReason::HeartbeatTimeout => "heartbeat_timeout",
            DisconnectReason::Stalled => "stalled",
            DisconnectReason::SlowConsumer => "slow_consumer",
            DisconnectReason::TooManyInvalid => "too_many_invalid",
            DisconnectReason::TooLarge => "too_large",
            DisconnectReason::Shutdown => "shutdown",
        }
    }

    fn code(self) -> u8 {
        // 0 means "none yet".
        DisconnectReason::ALL
            .iter()
            .position(|reason| *reason == self)
            .unwrap_or(0) as u8
            + 1
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reason of one spark, noted once.
#[derive(Debug, Default)]
pub(crate) struct ReasonCell(AtomicU8);

impl ReasonCell {
    /// Notes `reason` unless one was noted before.
    pub(crate) fn note(&self, reason: DisconnectReason) {
        let _ = self
            .0
            .compare_exchange(0, reason.code(), Ordering::AcqRel, Ordering::Acquire);
    }

    /// Forgets the reason noted (a spark kept for recovery).
    pub(crate) fn clear(&self) {
        self.0.store(0, Ordering::Release);
    }

    /// The reason noted first, if any.
    pub(crate) fn get(&self) -> Option<DisconnectReason> {
        match self.0.load(Ordering::Acquire) {
            0 => None,
            code => DisconnectReason::ALL.get(usize::from(code) - 1).copied(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_noted_wins_and_every_reason_round_trips() {
        for reason in DisconnectReason::ALL {
            let cell = ReasonCell::default();
            assert_eq!(cell.get(), None);
            cell.note(reason);
            cell.note(DisconnectReason::Client);
            assert_eq!(cell.get(), Some(reason));
        }
    }
}
