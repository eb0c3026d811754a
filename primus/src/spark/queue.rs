//! The outbound queue of a spark: many writers, one connection task.
//!
//! A bounded FIFO behind a mutex. Writers push one item at a time (and
//! never wait, except in [`QueueSender::send`]); the connection task takes
//! **everything queued at once**, so it locks once per batch, not once per
//! frame. This is cheaper than a general-purpose channel on the hot path of
//! every reply, where the writer usually runs inside the connection task
//! itself (a handler answering a message).
//!
//! Closing: when the receiver is dropped (the connection is gone), pushes
//! fail with [`Full::Closed`] and waiting senders are released.

use futures_util::task::AtomicWaker;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use tokio::sync::Notify;

/// Batch capacity kept by the receiver after a burst.
const KEPT_CAPACITY: usize = 16;

struct Inner<T> {
    state: Mutex<State<T>>,
    /// `state.items.len()`, readable without the lock (written under it).
    queued: AtomicUsize,
    capacity: usize,
    /// The connection task, waiting for items.
    receiver: AtomicWaker,
    /// Senders waiting for room (only [`QueueSender::send`]).
    room: Notify,
}

struct State<T> {
    items: VecDeque<T>,
    closed: bool,
}

/// Why an item was not queued; the item is handed back.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Full<T> {
    /// The queue holds `capacity` items.
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
    /// The waker left in `inner.receiver`, while no push can have taken it.
    registered: Option<Waker>,
}

/// A queue of at most `capacity` items (at least one).
pub(crate) fn queue<T>(capacity: usize) -> (QueueSender<T>, QueueReceiver<T>) {
    let inner = Arc::new(Inner {
        state: Mutex::new(State {
            items: VecDeque::new(),
            closed: false,
        }),
        queued: AtomicUsize::new(0),
        capacity: capacity.max(1),
        receiver: AtomicWaker::new(),
        room: Notify::new(),
    });
    (
        QueueSender { inner: inner.clone() },
        QueueReceiver {
            inner,
            batch: VecDeque::new(),
            registered: None,
        },
    )
}

impl<T> QueueSender<T> {
    /// Queues `item` unless the queue is full or closed. Never waits.
    pub(crate) fn try_send(&self, item: T) -> Result<(), Full<T>> {
        let Ok(mut state) = self.inner.state.lock() else {
            return Err(Full::Closed(item));
        };
        if state.closed {
            return Err(Full::Closed(item));
        }
        if state.items.len() >= self.inner.capacity {
            return Err(Full::Full(item));
        }
        state.items.push_back(item);
        self.inner.queued.store(state.items.len(), Ordering::Release);
        // Under the lock: a wake always happens before the refill that takes
        // this item, which is what lets the receiver skip registering again
        // (see `QueueReceiver::poll_recv`).
        self.inner.receiver.wake();
        Ok(())
    }

    /// Queues `item`, waiting for room; `Err(item)` when the queue closed.
    pub(crate) async fn send(&self, mut item: T) -> Result<(), T> {
        loop {
            let room = self.inner.room.notified();
            let mut room = std::pin::pin!(room);
            // Registered before trying, so room made in between is not missed.
            room.as_mut().enable();
            match self.try_send(item) {
                Ok(()) => return Ok(()),
                Err(Full::Closed(back)) => return Err(back),
                Err(Full::Full(back)) => item = back,
            }
            room.await;
        }
    }

    /// The most items the queue holds.
    pub(crate) fn capacity(&self) -> usize {
        self.inner.capacity
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

    /// Polls for the next item (registers the waker when there is none).
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(item) = self.try_recv() {
            return Poll::Ready(item);
        }
        // Every push wakes (and so takes) the registered waker, and every
        // push is followed by a refill that clears `registered`; while it is
        // set, the waker is still there and need not be registered again.
        let current = self.registered.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
        if !current {
            self.inner.receiver.register(cx.waker());
            self.registered = Some(cx.waker().clone());
        }
        // An item pushed before the registration woke nobody: look again.
        match self.try_recv() {
            Some(item) => Poll::Ready(item),
            None => Poll::Pending,
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
        let was_full = {
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
            let was_full = state.items.len() >= self.inner.capacity;
            std::mem::swap(&mut state.items, &mut self.batch);
            self.inner.queued.store(0, Ordering::Release);
            self.registered = None;
            was_full
        };
        if was_full {
            self.inner.room.notify_waiters();
        }
    }
}

impl<T> Drop for QueueReceiver<T> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.inner.state.lock() {
            state.closed = true;
            state.items.clear();
        }
        self.inner.room.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn items_come_out_in_order_and_capacity_is_enforced() {
        let (sender, mut receiver) = queue(3);
        for n in 0..3 {
            sender.try_send(n).unwrap();
        }
        assert_eq!(sender.try_send(3), Err(Full::Full(3)));
        assert_eq!(receiver.try_recv(), Some(0));
        // The batch holds 1 and 2; the shared queue has room again.
        sender.try_send(3).unwrap();
        let rest: Vec<_> = std::iter::from_fn(|| receiver.try_recv()).collect();
        assert_eq!(rest, [1, 2, 3]);
        assert_eq!(receiver.try_recv(), None);
    }

    #[test]
    fn a_dropped_receiver_closes_the_queue() {
        let (sender, receiver) = queue(2);
        sender.try_send(1).unwrap();
        drop(receiver);
        assert_eq!(sender.try_send(2), Err(Full::Closed(2)));
    }

    #[tokio::test]
    async fn recv_wakes_on_a_push_from_another_task() {
        let (sender, mut receiver) = queue(4);
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            sender.try_send("late").unwrap();
            sender
        });
        let next = std::future::poll_fn(|cx| receiver.poll_recv(cx));
        let item = tokio::time::timeout(Duration::from_secs(5), next).await;
        assert_eq!(item.ok(), Some("late"));
        drop(writer.await.unwrap());
    }

    #[tokio::test]
    async fn send_waits_for_room_and_fails_once_closed() {
        let (sender, mut receiver) = queue(1);
        let sender = Arc::new(sender);
        sender.try_send(0).unwrap();
        let waiting = {
            let sender = sender.clone();
            tokio::spawn(async move { sender.send(1).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "send returned while the queue was full");
        assert_eq!(receiver.try_recv(), Some(0));
        let sent = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(sent.ok().and_then(|joined| joined.ok()), Some(Ok(())));
        assert_eq!(receiver.try_recv(), Some(1));

        sender.try_send(2).unwrap();
        let blocked = {
            let sender = sender.clone();
            tokio::spawn(async move { sender.send(3).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(receiver);
        let outcome = tokio::time::timeout(Duration::from_secs(5), blocked).await;
        assert_eq!(outcome.ok().and_then(|joined| joined.ok()), Some(Err(3)));
    }
}
