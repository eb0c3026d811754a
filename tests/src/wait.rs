//! Bounded waiting: the common limit [`WAIT`] and [`until`], which polls a
//! condition that no event announces (a handler ran, a spark registered, a
//! room emptied).

use std::time::Duration;

/// The usual bound of one wait in a test over local sockets.
pub const WAIT: Duration = Duration::from_secs(5);

/// Polls `check` every 10 ms until it holds; panics with `timed out waiting
/// for {what}` once `wait` has passed.
pub async fn until(what: &str, wait: Duration, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + wait;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
