//! Asking a connection to close: the [`CloseRequest`] a spark's `end`
//! makes, and the signal that carries it to the connection task.

use futures_util::task::AtomicWaker;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Poll, Waker};

/// How the transport should close a connection.
///
/// ```
/// use primus::spark::CloseRequest;
///
/// // `spark.end()`: announce the close, so the client does not reconnect.
/// let end = CloseRequest { announce: true, code: None };
/// // `spark.end_reconnect()`: close without the notice.
/// let reconnect = CloseRequest { announce: false, code: None };
/// assert_ne!(end, reconnect);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseRequest {
    /// Send `primus::server::close` first (the client will not reconnect).
    pub announce: bool,
    /// The WebSocket close code, `None` for an empty close frame (as Primus).
    pub code: Option<u16>,
}

impl CloseRequest {
    const PRESENT: u32 = 1 << 31;
    const ANNOUNCE: u32 = 1 << 17;
    const HAS_CODE: u32 = 1 << 16;

    /// Packs the request into one non-zero word.
    fn pack(self) -> u32 {
        let mut word = CloseRequest::PRESENT;
        if self.announce {
            word |= CloseRequest::ANNOUNCE;
        }
        if let Some(code) = self.code {
            word |= CloseRequest::HAS_CODE | u32::from(code);
        }
        word
    }

    /// The request packed by [`pack`](Self::pack), `None` for 0.
    fn unpack(word: u32) -> Option<CloseRequest> {
        (word & CloseRequest::PRESENT != 0).then(|| CloseRequest {
            announce: word & CloseRequest::ANNOUNCE != 0,
            code: (word & CloseRequest::HAS_CODE != 0).then_some(word as u16),
        })
    }
}

/// Carries one [`CloseRequest`] from any handle of a spark to its
/// connection task: an atomic word and a waker, so polling it costs one
/// atomic load.
#[derive(Default)]
pub(crate) struct CloseSignal {
    /// The pending request, packed; 0 when none.
    word: AtomicU32,
    /// The connection task waiting for it.
    waker: AtomicWaker,
}

impl CloseSignal {
    /// Stores the request and wakes the waiting task.
    pub(crate) fn send(&self, request: CloseRequest) {
        self.word.store(request.pack(), Ordering::Release);
        self.waker.wake();
    }

    /// Waits until a request is sent, then returns it. One waiter at a time
    /// (the connection task).
    pub(crate) fn wait(&self) -> impl Future<Output = CloseRequest> + '_ {
        // Only a request wakes `waker` (and so takes the waker), and it ends
        // the wait: once registered, the waker stays there.
        let mut registered: Option<Waker> = None;
        std::future::poll_fn(move |cx| {
            if let Some(request) = self.take() {
                return Poll::Ready(request);
            }
            if !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                self.waker.register(cx.waker());
                registered = Some(cx.waker().clone());
            }
            // A request stored between the check and the registration.
            match self.take() {
                Some(request) => Poll::Ready(request),
                None => Poll::Pending,
            }
        })
    }

    /// Forgets a request nobody took (a spark kept for recovery).
    pub(crate) fn clear(&self) {
        let _ = self.take();
    }

    fn take(&self) -> Option<CloseRequest> {
        match self.word.load(Ordering::Acquire) {
            0 => None,
            _ => CloseRequest::unpack(self.word.swap(0, Ordering::AcqRel)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_requests_survive_packing() {
        for announce in [false, true] {
            for code in [None, Some(0), Some(1000), Some(1009), Some(4999), Some(u16::MAX)] {
                let request = CloseRequest { announce, code };
                assert_ne!(request.pack(), 0);
                assert_eq!(CloseRequest::unpack(request.pack()), Some(request));
            }
        }
        assert_eq!(CloseRequest::unpack(0), None);
    }

    #[tokio::test]
    async fn a_waiting_task_gets_the_request() {
        let signal = std::sync::Arc::new(CloseSignal::default());
        let sender = signal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            sender.send(CloseRequest {
                announce: true,
                code: Some(1009),
            });
        });
        let request = tokio::time::timeout(std::time::Duration::from_secs(5), signal.wait()).await;
        assert_eq!(
            request.ok(),
            Some(CloseRequest {
                announce: true,
                code: Some(1009)
            })
        );
    }
}
