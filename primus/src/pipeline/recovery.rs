//! Connection state recovery: a client that lost its connection comes back
//! within a window and finds its spark as it left it.
//!
//! How it works, per spark whose client asked for it (the query parameter
//! [`RECOVER_PARAMETER`](crate::protocol::RECOVER_PARAMETER)):
//!
//! * the first message of the connection is `primus::recover::<token>`;
//!   the client keeps the token and counts every message after it;
//! * the connection keeps the frames it handed to the transport in a
//!   [`ReplayRing`], numbered from 1 and bounded in bytes;
//! * when the connection is lost (no close frame from the client, a missed
//!   heartbeat, a stalled write), the spark is **detached** instead of
//!   ended: it stays in its rooms and keeps its extensions and its outbound
//!   queue, so what is written to it meanwhile waits (within the queue's
//!   byte budget); its `disconnection` handlers do not run yet;
//! * a client that reconnects within the window with `<token>-<count>`
//!   gets the same spark back: `primus::recovered::<token>`, then the
//!   frames after its count that it had not received, then what waited in
//!   the queue, in order, each once;
//! * past the window (or when the server ends the spark, or its queue
//!   fills) the spark ends as any other, and a client that comes back
//!   later gets a new spark marked [`SessionRecovery::Missed`].

use crate::spark::Spark;
use crate::spark::{Query, SessionRecovery};
use crate::telemetry;
use crate::wire::Frame;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

/// Connection state recovery settings (`ServerBuilder::recovery`): how
/// long a lost spark waits for its client, and how many bytes of what it
/// was sent are kept to send again.
///
/// ```
/// use primus::pipeline::ConnectionRecovery;
/// use std::time::Duration;
///
/// let recovery = ConnectionRecovery::within(Duration::from_secs(30)).replay_bytes(64 * 1024);
/// assert_eq!(recovery.window(), Duration::from_secs(30));
/// assert_eq!(ConnectionRecovery::default().window(), Duration::from_secs(120));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionRecovery {
    window: Duration,
    replay_bytes: usize,
    max_detached: usize,
}

impl Default for ConnectionRecovery {
    /// Two minutes, 512 KiB of sent frames per spark, 10,000 detached
    /// sparks at most.
    fn default() -> ConnectionRecovery {
        ConnectionRecovery {
            window: Duration::from_secs(120),
            replay_bytes: 512 * 1024,
            max_detached: 10_000,
        }
    }
}

impl ConnectionRecovery {
    /// Lost sparks wait `window` for their client (the default keeps 512
    /// KiB of sent frames per spark).
    pub fn within(window: Duration) -> ConnectionRecovery {
        ConnectionRecovery {
            window,
            ..ConnectionRecovery::default()
        }
    }

    /// Keeps at most `bytes` of the frames each spark was sent (the ones
    /// its client may not have received when the connection broke). A
    /// client that missed more than that gets a new spark.
    pub fn replay_bytes(mut self, bytes: usize) -> ConnectionRecovery {
        self.replay_bytes = bytes;
        self
    }

    /// Keeps at most `sparks` detached sparks at once (default 10,000):
    /// they hold no socket, so the connection caps do not count them. A
    /// connection lost while the limit is reached ends as without recovery.
    ///
    /// ```
    /// use primus::pipeline::ConnectionRecovery;
    ///
    /// let recovery = ConnectionRecovery::default().max_detached(500);
    /// assert_eq!(recovery.max_detached_limit(), 500);
    /// ```
    pub fn max_detached(mut self, sparks: usize) -> ConnectionRecovery {
        self.max_detached = sparks;
        self
    }

    /// How long a lost spark waits for its client.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The most detached sparks kept at once.
    ///
    /// ```
    /// assert_eq!(primus::pipeline::ConnectionRecovery::default().max_detached_limit(), 10_000);
    /// ```
    pub fn max_detached_limit(&self) -> usize {
        self.max_detached
    }

    /// The bytes of sent frames kept per spark.
    ///
    /// ```
    /// use primus::pipeline::ConnectionRecovery;
    ///
    /// assert_eq!(ConnectionRecovery::default().replay_bytes(4096).replay_bytes_limit(), 4096);
    /// ```
    pub fn replay_bytes_limit(&self) -> usize {
        self.replay_bytes
    }
}

/// What a connecting client asked of recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecoverAsk {
    /// A new session.
    New,
    /// Resume the session of `token`, whose client received `seen`
    /// messages after the session's first.
    Resume { token: String, seen: u64 },
}

impl RecoverAsk {
    /// The ask in `query`, if any; a malformed value asks for a new session.
    pub(crate) fn from_query(query: &Query) -> Option<RecoverAsk> {
        let value = query.get(crate::wire::protocol::RECOVER_PARAMETER)?;
        let resume = value.rsplit_once('-').and_then(|(token, seen)| {
            let valid = token.len() == TOKEN_LENGTH && token.bytes().all(|b| b.is_ascii_hexdigit());
            Some(RecoverAsk::Resume {
                token: valid.then(|| token.to_owned())?,
                seen: seen.parse().ok()?,
            })
        });
        Some(resume.unwrap_or(RecoverAsk::New))
    }
}

/// Hex digits in a session token (128 random bits).
const TOKEN_LENGTH: usize = 32;

/// A new session token: 128 bits from the thread-local cryptographic
/// generator, in hex.
pub(crate) fn new_token() -> String {
    use rand::Rng;
    let bits: u128 = rand::rng().random();
    format!("{bits:032x}")
}

/// What a kept frame costs: its bytes and its bookkeeping (so that many
/// tiny frames cannot hold far more memory than the bound says).
fn weight(frame: &Frame) -> usize {
    frame.len() + FRAME_OVERHEAD
}

/// Bytes counted for each kept frame besides its own.
const FRAME_OVERHEAD: usize = 64;

/// The frames one connection handed to its transport, numbered from 1,
/// the oldest dropped once they pass the byte bound.
#[derive(Debug)]
pub(crate) struct ReplayRing {
    frames: VecDeque<Frame>,
    /// The number of `frames[0]`.
    first: u64,
    bytes: usize,
    limit: usize,
}

impl ReplayRing {
    pub(crate) fn new(limit: usize) -> ReplayRing {
        ReplayRing {
            frames: VecDeque::new(),
            first: 1,
            bytes: 0,
            limit,
        }
    }

    /// How many frames were recorded since the session began.
    pub(crate) fn sent(&self) -> u64 {
        self.first + self.frames.len() as u64 - 1
    }

    /// Records the next frame sent.
    pub(crate) fn push(&mut self, frame: Frame) {
        self.bytes += weight(&frame);
        self.frames.push_back(frame);
        while self.bytes > self.limit {
            let Some(oldest) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= weight(&oldest);
            self.first += 1;
        }
    }

    /// The frames after the first `seen`, which a client that received
    /// `seen` frames is missing; the ones before are forgotten. `None`
    /// when the ring no longer has them all, or `seen` is more than was
    /// ever sent.
    pub(crate) fn resume_after(&mut self, seen: u64) -> Option<Vec<Frame>> {
        if seen > self.sent() || seen.saturating_add(1) < self.first {
            return None;
        }
        while self.first <= seen {
            let Some(oldest) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= weight(&oldest);
            self.first += 1;
        }
        Some(self.frames.iter().cloned().collect())
    }
}

/// The recovery state a connection carries: its session token and what it
/// sent.
#[derive(Debug)]
pub(crate) struct RecoverableSession {
    pub(crate) token: String,
    pub(crate) ring: ReplayRing,
}

/// One server's recovery: its settings, the sparks of its sessions that are
/// connected, and the detached ones.
pub(crate) struct Recovery {
    pub(crate) settings: ConnectionRecovery,
    detached: Mutex<HashMap<String, Detached>>,
    /// Sessions whose connection is open, by token.
    attached: Mutex<HashMap<String, Spark>>,
    /// Woken whenever a connection is detached.
    detaching: Notify,
}

/// A lost connection as the waiting room keeps it (the pipeline's
/// `Connection`; a trait so that this module need not know it).
pub(crate) trait Detachable: Send + 'static {
    /// Its spark.
    fn spark(&self) -> &Spark;
    /// Ends it for good: what `Connection::finish` does without recovery.
    fn finish_for_good(self: Box<Self>) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// Itself, for the owner to take back its own type.
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

/// A lost connection waiting for its client.
struct Detached {
    connection: Box<dyn Detachable>,
    /// The task that ends it when the window passes or the server ends it.
    watcher: AbortHandle,
}

impl Recovery {
    pub(crate) fn new(settings: ConnectionRecovery) -> Arc<Recovery> {
        Arc::new(Recovery {
            settings,
            detached: Mutex::new(HashMap::new()),
            attached: Mutex::new(HashMap::new()),
            detaching: Notify::new(),
        })
    }

    /// Notes that the session `token` is connected, as `spark`.
    pub(crate) fn attach(&self, token: &str, spark: &Spark) {
        if let Ok(mut attached) = self.attached.lock() {
            attached.insert(token.to_owned(), spark.clone());
        }
    }

    /// Notes that the session `token` is no longer connected.
    pub(crate) fn forget(&self, token: &str) {
        if let Ok(mut attached) = self.attached.lock() {
            attached.remove(token);
        }
    }

    /// A client is back for session `token` while its old connection still
    /// looks open (a half-open TCP connection after a network change): the
    /// old connection is closed and, once it is detached, the new one can
    /// resume it. Waits at most `within`; false when there was nothing to
    /// take over or it did not detach in time.
    pub(crate) async fn take_over(&self, token: &str, within: Duration) -> bool {
        let spark = self
            .attached
            .lock()
            .ok()
            .and_then(|attached| attached.get(token).cloned());
        let Some(spark) = spark else {
            return false;
        };
        if spark.is_detached() {
            // Detached meanwhile: there is nothing to close.
            return true;
        }
        tracing::debug!(
            spark = spark.id(),
            "client back on a new connection; the old one is closed"
        );
        if !spark.supersede() {
            return false;
        }
        let detached = async {
            loop {
                let notified = self.detaching.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.detached.lock().is_ok_and(|map| map.contains_key(token)) {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(within, detached).await.is_ok()
    }

    /// Keeps `connection` (whose session is `token`) for its client until
    /// the window passes or the server ends its spark; then it finishes.
    /// True while another lost connection may be kept.
    pub(crate) fn has_room(&self) -> bool {
        self.detached
            .lock()
            .is_ok_and(|map| map.len() < self.settings.max_detached)
    }

    pub(crate) fn detach(self: &Arc<Self>, token: String, connection: Box<dyn Detachable>) {
        let spark = connection.spark().clone();
        spark.set_detached(true);
        tracing::debug!(spark = spark.id(), window = ?self.settings.window, "connection lost; kept for recovery");
        let Ok(mut detached) = self.detached.lock() else {
            return;
        };
        let recovery = Arc::downgrade(self);
        let window = self.settings.window;
        let key = token.clone();
        let watcher = tokio::spawn(async move {
            let deadline = tokio::time::sleep(window);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    () = &mut deadline => break,
                    _ = spark.close_requested() => {
                        // A takeover that raced the detaching: its client is
                        // about to claim the spark, which stays.
                        if spark.is_superseded() {
                            spark.reopen();
                            continue;
                        }
                        break;
                    }
                }
            }
            let Some(recovery) = recovery.upgrade() else {
                return;
            };
            let connection = recovery.take(&key);
            if let Some(connection) = connection {
                tracing::debug!(spark = connection.spark().id(), "not resumed; ended");
                connection.finish_for_good().await;
            }
        });
        self.forget(&token);
        detached.insert(
            token,
            Detached {
                connection,
                watcher: watcher.abort_handle(),
            },
        );
        drop(detached);
        telemetry::sparks_detached().increment(1);
        self.detaching.notify_waiters();
    }

    /// The detached connection of `token`, taken out of the waiting room.
    fn take(&self, token: &str) -> Option<Box<dyn Detachable>> {
        let entry = self.detached.lock().ok()?.remove(token)?;
        telemetry::sparks_detached().decrement(1);
        Some(entry.connection)
    }

    /// The detached connection of `token` for a returning client, its
    /// watcher stopped; `None` when there is none.
    pub(crate) fn claim(&self, token: &str) -> Option<Box<dyn Detachable>> {
        let entry = self.detached.lock().ok()?.remove(token)?;
        telemetry::sparks_detached().decrement(1);
        entry.watcher.abort();
        Some(entry.connection)
    }
}

/// How a connection's first messages look under recovery.
pub(crate) fn first_state(ask: &Option<RecoverAsk>) -> SessionRecovery {
    match ask {
        None => SessionRecovery::Off,
        Some(RecoverAsk::New) => SessionRecovery::New,
        Some(RecoverAsk::Resume { .. }) => SessionRecovery::Missed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_replays_what_a_client_missed_and_forgets_what_it_confirmed() {
        let mut ring = ReplayRing::new(1024);
        for n in 1..=5 {
            ring.push(Frame::text(n.to_string()));
        }
        assert_eq!(ring.sent(), 5);
        let missed = ring.resume_after(3).unwrap();
        let texts: Vec<_> = missed.iter().map(|f| f.as_str().unwrap().to_owned()).collect();
        assert_eq!(texts, ["4", "5"]);
        // Confirmed frames are gone; the rest stays for a second loss.
        assert_eq!(ring.resume_after(2), None);
        assert_eq!(ring.resume_after(5).unwrap().len(), 0);
        assert_eq!(ring.resume_after(6), None, "more than was ever sent");
    }

    #[test]
    fn the_ring_is_bounded_in_bytes() {
        // Room for two frames of 4 bytes and their bookkeeping.
        let mut ring = ReplayRing::new(2 * (4 + FRAME_OVERHEAD) + 1);
        for _ in 0..4 {
            ring.push(Frame::text("abcd"));
        }
        assert_eq!(ring.sent(), 4);
        assert!(ring.bytes <= 2 * (4 + FRAME_OVERHEAD) + 1);
        assert_eq!(ring.resume_after(1), None, "frame 2 fell out");
        assert_eq!(ring.resume_after(2).unwrap().len(), 2);
    }

    #[test]
    fn a_client_asks_with_a_query_parameter() {
        let token = new_token();
        assert_eq!(token.len(), TOKEN_LENGTH);
        let ask = |raw: &str| RecoverAsk::from_query(&Query::parse(raw));
        assert_eq!(ask("a=1"), None);
        assert_eq!(ask("primus_recover=new"), Some(RecoverAsk::New));
        assert_eq!(
            ask(&format!("primus_recover={token}-17")),
            Some(RecoverAsk::Resume {
                token: token.clone(),
                seen: 17
            })
        );
        assert_eq!(ask("primus_recover=zz-1"), Some(RecoverAsk::New));
        assert_eq!(ask(&format!("primus_recover={token}-x")), Some(RecoverAsk::New));
    }
}
