//! The outbound queue of a spark: many writers, one connection task.
//!
//! A FIFO behind a mutex, bounded in **bytes**. Writers push one item at a
//! time (and never wait, except in [`QueueSender::send`]); the connection
//! task takes **everything queued at once**, so it locks once per batch, not
//! once per frame. This is cheaper than a general-purpose channel on the hot
//! path of every reply, where the writer usually runs inside the connection
//! task itself (a handler answering a message).
//!
//! The budget counts the bytes waiting in the queue (a broadcast frame
//! shared by many sparks counts in each of them: each could keep it alive).
//! A push is refused only once the queued bytes have reached the budget,
//! so one message up to `max_length` is never refused for its size, and
//! the queue holds at most the budget plus one message. A push that takes the queue
//! past half its budget reports [`Pushed::Congested`]: the producer should
//! slow down (see `pipeline::dispatch`).
//!
//! Closing: when the receiver is dropped (the connection is gone), pushes
//! fail with [`Full::Closed`] and waiting senders are released.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// Batch capacity kept by the receiver after a burst.
const KEPT_CAPACITY: usize = 16;

struct Inner<T> {
    state: Mutex<State<T>>,
    /// `state.items.len()`, readable without the lock (written under it).
    queued: AtomicUsize,
    /// `state.bytes`, readable without the lock (written under it).
    queued_bytes: AtomicUsize,
    /// The most bytes the queue holds (a push is refused once they are reached).
    budget: usize,
    /// Set (under the lock) by the receiver when it found the queue empty
    /// and is about to wait: the next push wakes `state.waker` and clears
    /// it. Cleared without the lock by [`QueueReceiver::disarm`]: pushes
    /// made while the receiver is awake (a handler running inside the
    /// connection task) wake nobody.
    waiting: AtomicBool,
    /// Tasks waiting for room ([`QueueSender::send`]) or for the queue to
    /// drain below half its budget ([`QueueSender::drained`]).
    room: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    bytes: usize,
    /// A push was refused since the last refill (a sender may wait for room).
    refused: bool,
    closed: bool,
    /// The connection task's waker, kept across waits (replaced only when
    /// the task's waker changes), so waking it needs no clone.
    waker: Option<Waker>,
}

/// How a push went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// Queued; the queue is at most half full.
    Queued,
    /// Queued, and the queue is past half its budget: the receiver is
    /// behind, the producer should give it time.
    Congested,
}

/// Why an item was not queued; the item is handed back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full<T> {
    /// The queue has reached its byte budget.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

/// The writing end (cloned into every handle of the spark).
pub(crate) struct QueueSender<T> {
    inner: Arc<Inner<T>>,
}

/// The reading end, owned by the connection task.
pub(crate) struct QueueReceiver<T> {
    inner: Arc<Inner<T>>,
    /// Items taken from the shared queue and not yet handed out.
    batch: VecDeque<T>,
}

/// A queue of at most `budget` bytes (at least one byte).
pub(crate) fn queue<T>(budget: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            items: VecDeque::new(),
            bytes: 0,
            refused: false,
            closed: false,
            waker: None,
        }),
        queued: AtomicUsize::new(0),
        queued_bytes: AtomicUsize::new(0),
        budget: budget.max(1),
        waiting: AtomicBool::new(false),
        room: Notify::new(),
    });
    (
        QueueSender { inner: inner.clone() },
        QueueReceiver {
            inner,
            batch: VecDeque::new(),
        },
    )
}

impl<T> QueueSender<T> {
    /// Queues `item`, which weighs `bytes`, unless the queue has reached its
    /// budget or is closed. Never waits.
    pub(crate) fn try_send(&self, item: T, bytes: usize) -> Result<Pushed, Full<T>> {
        let Ok(mut state) = self.inner.state.lock() else {
            return Err(Full::Closed(item));
        };
        if state.closed {
            return Err(Full::Closed(item));
        }
        // Refused only once the budget is reached: any one message fits, so
        // the queue holds at most the budget plus one message.
        if state.bytes >= self.inner.budget {
            state.refused = true;
            return Err(Full::Full(item));
        }
        let total = state.bytes.saturating_add(bytes);
        state.items.push_back(item);
        state.bytes = total;
        self.inner.queued.store(state.items.len(), Ordering::Release);
        self.inner.queued_bytes.store(total, Ordering::Release);
        // Under the lock, like the receiver's check for an empty queue
        // before it waits (see `QueueReceiver::poll_recv`): no push is missed.
        if self.inner.waiting.load(Ordering::Acquire) && self.inner.waiting.swap(false, Ordering::AcqRel) {
            if let Some(waker) = &state.waker {
                waker.wake_by_ref();
            }
        }
        Ok(match total > self.inner.budget / 2 {
            true => Pushed::Congested,
            false => Pushed::Queued,
        })
    }

    /// Queues `item` once the queue holds at most half its budget, waiting
    /// until then; `Err(item)` when the queue closed. The other half is left
    /// to pushes that never wait (heartbeat pings, replies, broadcasts): a
    /// sender that keeps the queue busy cannot make them overflow it.
    pub(crate) async fn send(&self, mut item: T, bytes: usize) -> Result<(), T> {
        loop {
            let room = self.inner.room.notified();
            let mut room = std::pin::pin!(room);
            // Registered before looking, so room made in between is not missed.
            room.as_mut().enable();
            if !self.is_congested() {
                match self.try_send(item, bytes) {
                    Ok(_) => return Ok(()),
                    Err(Full::Closed(back)) => return Err(back),
                    Err(Full::Full(back)) => item = back,
                }
            } else if self.is_closed() {
                return Err(item);
            }
            room.await;
        }
    }

    /// Completes once the queue holds at most half its budget, or is
    /// closed. Never completes while the receiver is behind; callers bound
    /// the wait.
    pub(crate) async fn drained(&self) {
        loop {
            let room = self.inner.room.notified();
            let mut room = std::pin::pin!(room);
            room.as_mut().enable();
            if !self.is_congested() || self.is_closed() {
                return;
            }
            room.await;
        }
    }

    /// True while the queue holds more than half its budget.
    pub(crate) fn is_congested(&self) -> bool {
        self.inner.queued_bytes.load(Ordering::Acquire) > self.inner.budget / 2
    }

    fn is_closed(&self) -> bool {
        self.inner.state.lock().map_or(true, |state| state.closed)
    }

    /// The most bytes the queue holds.
    pub(crate) fn budget(&self) -> usize {
        self.inner.budget
    }
}

impl<T> QueueReceiver<T> {
    /// The next item, if one is queued.
    pub(crate) fn try_recv(&mut self) -> Option<T> {
        if self.batch.is_empty() {
            self.refill();
        }
        self.batch.pop_front()
    }

    /// Polls for the next item; when there is none, the next push wakes
    /// the task.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        loop {
            if let Some(item) = self.try_recv() {
                return Poll::Ready(item);
            }
            let Ok(mut state) = self.inner.state.lock() else {
                return Poll::Pending;
            };
            if state.items.is_empty() {
                // Checked and armed under the lock pushes take: a push
                // either came before (and is in `items`) or will wake.
                self.inner.waiting.store(true, Ordering::Release);
                if !state.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    state.waker = Some(cx.waker().clone());
                }
                return Poll::Pending;
            }
            // Pushed since `try_recv` looked: take it.
        }
    }

    /// The task is about to run handlers itself and then look at the queue
    /// ([`try_recv`](Self::try_recv) or [`poll_recv`](Self::poll_recv)):
    /// what they push need not wake it. A wake avoided is a whole extra
    /// poll of the connection task per message.
    pub(crate) fn disarm(&self) {
        // Safe without the lock: it only drops wakes while the task is
        // awake, and the task arms again (under the lock) before it waits.
        if self.inner.waiting.load(Ordering::Relaxed) {
            self.inner.waiting.store(false, Ordering::Relaxed);
        }
    }

    /// Moves everything queued into `batch` (which is empty) in one lock.
    fn refill(&mut self) {
        if self.inner.queued.load(Ordering::Acquire) == 0 {
            if self.batch.capacity() > KEPT_CAPACITY {
                self.batch.shrink_to(KEPT_CAPACITY);
            }
            return;
        }
        let wake_senders = {
            let Ok(mut state) = self.inner.state.lock() else {
                return;
            };
            if state.items.is_empty() {
                drop(state);
                if self.batch.capacity() > KEPT_CAPACITY {
                    self.batch.shrink_to(KEPT_CAPACITY);
                }
                return;
            }
            // Senders wait for room after a refused push, `drained` waits
            // while the queue is congested.
            let wake = state.bytes > self.inner.budget / 2 || std::mem::take(&mut state.refused);
            std::mem::swap(&mut state.items, &mut self.batch);
            state.bytes = 0;
            self.inner.queued.store(0, Ordering::Release);
            self.inner.queued_bytes.store(0, Ordering::Release);
            wake
        };
        if wake_senders {
            self.inner.room.notify_waiters();
        }
    }
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.inner.state.lock() {
            state.closed = true;
            state.items.clear();
            state.bytes = 0;
            state.waker = None;
        }
        self.inner.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn items_come_out_in_order_and_the_byte_budget_is_enforced() {
        let (sender, mut receiver) = queue(30);
        assert_eq!(sender.try_send(0, 10), Ok(Pushed::Queued));
        assert_eq!(sender.try_send(1, 10), Ok(Pushed::Congested));
        assert_eq!(sender.try_send(2, 10), Ok(Pushed::Congested));
        assert_eq!(sender.try_send(3, 1), Err(Full::Full(3)));
        assert!(sender.is_congested());
        assert_eq!(receiver.try_recv(), Some(0));
        // The batch holds 1 and 2; the shared queue is empty again.
        assert!(!sender.is_congested());
        assert_eq!(sender.try_send(3, 10), Ok(Pushed::Queued));
        let rest: Vec<_> = std::iter::from_fn(|| receiver.try_recv()).collect();
        assert_eq!(rest, [1, 2, 3]);
        assert_eq!(receiver.try_recv(), None);
    }

    #[test]
    fn a_queue_under_its_budget_takes_an_item_bigger_than_the_budget() {
        let (sender, mut receiver) = queue(10);
        assert_eq!(sender.try_send("first", 4), Ok(Pushed::Queued));
        assert_eq!(sender.try_send("big", 100), Ok(Pushed::Congested));
        assert_eq!(sender.try_send("small", 1), Err(Full::Full("small")));
        assert_eq!(receiver.try_recv(), Some("first"));
        assert_eq!(sender.try_send("small", 1), Ok(Pushed::Queued));
    }

    #[test]
    fn a_dropped_receiver_closes_the_queue() {
        let (sender, receiver) = queue(2);
        sender.try_send(1, 1).unwrap();
        drop(receiver);
        assert_eq!(sender.try_send(2, 1), Err(Full::Closed(2)));
    }

    /// Counts its wakes.
    #[derive(Default)]
    struct Wakes(AtomicUsize);

    impl std::task::Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_push_wakes_only_a_receiver_that_waits() {
        let (sender, mut receiver) = queue(100);
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let count = || wakes.0.load(Ordering::SeqCst);
        assert!(receiver.poll_recv(&mut cx).is_pending());
        sender.try_send(1, 1).unwrap();
        assert_eq!(count(), 1);
        // Woken already: the task will look, no second wake.
        sender.try_send(2, 1).unwrap();
        assert_eq!(count(), 1);
        assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(1));
        assert_eq!(receiver.poll_recv(&mut cx), Poll::Ready(2));
        assert!(receiver.poll_recv(&mut cx).is_pending());
        // The task runs handlers itself and then looks at the queue.
        receiver.disarm();
        sender.try_send(3, 1).unwrap();
        assert_eq!(count(), 1, "a disarmed receiver was woken");
        assert_eq!(receiver.try_recv(), Some(3));
        // Armed again by the next wait.
        assert!(receiver.poll_recv(&mut cx).is_pending());
        sender.try_send(4, 1).unwrap();
        assert_eq!(count(), 2);
    }

    #[tokio::test]
    async fn recv_wakes_on_a_push_from_another_task() {
        let (sender, mut receiver) = queue(4);
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            sender.try_send("late", 1).unwrap();
            sender
        });
        let next = std::future::poll_fn(|cx| receiver.poll_recv(cx));
        let item = tokio::time::timeout(Duration::from_secs(5), next).await;
        assert_eq!(item.ok(), Some("late"));
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn drained_waits_until_the_receiver_catches_up() {
        let (sender, mut receiver) = queue(10);
        let sender = Arc::new(sender);
        sender.try_send(0, 8).unwrap();
        let waiting = {
            let sender = sender.clone();
            tokio::spawn(async move { sender.drained().await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !waiting.is_finished(),
            "drained returned while the queue was congested"
        );
        assert_eq!(receiver.try_recv(), Some(0));
        let drained = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(matches!(drained, Ok(Ok(()))));
    }

    #[tokio::test]
    async fn send_leaves_half_the_budget_to_pushes_that_never_wait() {
        let (sender, mut receiver) = queue(10);
        let sender = Arc::new(sender);
        sender.send(0, 6).await.unwrap();
        assert!(sender.is_congested());
        let waiting = {
            let sender = sender.clone();
            tokio::spawn(async move { sender.send(1, 1).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "send filled the second half");
        // A ping or a reply still finds room.
        assert_eq!(sender.try_send(2, 3), Ok(Pushed::Congested));
        assert_eq!(receiver.try_recv(), Some(0));
        assert_eq!(receiver.try_recv(), Some(2));
        let sent = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(sent.ok().and_then(|joined| joined.ok()), Some(Ok(())));
        assert_eq!(receiver.try_recv(), Some(1));
    }

    #[tokio::test]
    async fn send_waits_for_room_and_fails_once_closed() {
        let (sender, mut receiver) = queue(1);
        let sender = Arc::new(sender);
        sender.try_send(0, 1).unwrap();
        let waiting = {
            let sender = sender.clone();
            tokio::spawn(async move { sender.send(1, 1).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "send returned while the queue was full");
        assert_eq!(receiver.try_recv(), Some(0));
        let sent = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(sent.ok().and_then(|joined| joined.ok()), Some(Ok(())));
        assert_eq!(receiver.try_recv(), Some(1));

        sender.try_send(2, 1).unwrap();
        let blocked = {
            let sender = sender.clone();
            tokio::spawn(async move { sender.send(3, 1).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(receiver);
        let outcome = tokio::time::timeout(Duration::from_secs(5), blocked).await;
        assert_eq!(outcome.ok().and_then(|joined| joined.ok()), Some(Err(3)));
    }
}
