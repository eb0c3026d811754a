//! The connections of one server that are still running: open, or
//! finishing (their last messages and their `disconnection` handlers), so
//! that a server being destroyed can wait for them.

use crate::spark::DisconnectReason;
use crate::telemetry;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A count of running connections, and a way to wait until it is zero.
#[derive(Debug, Default)]
pub(crate) struct LiveConnections {
    count: AtomicUsize,
    drained: Notify,
}

/// One running connection; dropping it (when the connection has finished,
/// or was dropped without finishing) takes it off the count and counts a
/// disconnect, for the reason set (the client's, unless told otherwise).
#[derive(Debug)]
pub(crate) struct LiveConnection {
    live: Arc<LiveConnections>,
    reason: DisconnectReason,
}

impl LiveConnection {
    /// Why the connection ended, for the disconnect metric.
    pub(crate) fn set_reason(&mut self, reason: DisconnectReason) {
        self.reason = reason;
    }
}

impl LiveConnections {
    /// Counts one more running connection until the guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> LiveConnection {
        self.count.fetch_add(1, Ordering::AcqRel);
        telemetry::connections_open().increment(1);
        LiveConnection {
            live: self.clone(),
            reason: DisconnectReason::Client,
        }
    }

    /// Running connections now.
    pub(crate) fn count(&self) -> usize {
        self.count.load(Ordering::Acquire)
    }

    /// Waits until no connection is running, at most `within`; true when
    /// none is.
    pub(crate) async fn drained(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.drained.notified();
            tokio::pin!(notified);
            // Registered before the check, so a drop in between still wakes us.
            notified.as_mut().enable();
            if self.count() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        telemetry::connections_open().decrement(1);
        telemetry::disconnected(self.reason.as_str());
        if self.live.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.live.drained.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_last_connection_and_no_longer_than_told() {
        let live = Arc::new(LiveConnections::default());
        assert!(live.drained(Duration::ZERO).await);
        let first = live.enter();
        let second = live.enter();
        assert_eq!(live.count(), 2);
        assert!(!live.drained(Duration::from_millis(20)).await);
        drop(first);
        let waiting = tokio::spawn({
            let live = live.clone();
            async move { live.drained(Duration::from_secs(10)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(second);
        assert!(waiting.await.expect("join"));
        assert_eq!(live.count(), 0);
    }
}
