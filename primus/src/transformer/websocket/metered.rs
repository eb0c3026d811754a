//! The socket as tungstenite reads it, with every byte of a message still
//! being received counted against the server's [`InboundBudget`].

use crate::pipeline::{BudgetSpent, InboundBudget};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A stream whose reads count against an [`InboundBudget`] until
/// [`message_done`](Self::message_done) releases them.
pub(in crate::transformer) struct Metered<S> {
    inner: S,
    budget: InboundBudget,
    /// Bytes read since the last complete message.
    partial: usize,
}

impl<S> Metered<S> {
    pub(in crate::transformer) fn new(inner: S, budget: InboundBudget) -> Metered<S> {
        Metered {
            inner,
            budget,
            partial: 0,
        }
    }

    /// A message is complete: what was read for it is released. (What was
    /// read of the next one in the same read goes uncounted: at most one
    /// read buffer.)
    pub(in crate::transformer) fn message_done(&mut self) {
        if self.partial > 0 {
            self.budget.complete(&mut self.partial);
        }
    }
}

/// The inflated bytes of a compressed message, counted against the same
/// budget while the permessage-deflate adapter holds them (beyond the
/// first 64 KiB, as for any message).
pub(in crate::transformer) struct InflatedBytes {
    budget: InboundBudget,
    held: usize,
}

impl InflatedBytes {
    pub(in crate::transformer) fn new(budget: InboundBudget) -> InflatedBytes {
        InflatedBytes { budget, held: 0 }
    }
}

impl crate::wire::deflate::InflateBudget for InflatedBytes {
    fn hold(&mut self, bytes: usize) -> Result<(), usize> {
        self.budget
            .receive(&mut self.held, bytes)
            .map_err(|spent| spent.limit)
    }

    fn release(&mut self) {
        if self.held > 0 {
            self.budget.complete(&mut self.held);
        }
    }
}

impl Drop for InflatedBytes {
    fn drop(&mut self) {
        self.budget.complete(&mut self.held);
    }
}

/// True when `error` is the budget refusing more bytes.
pub(in crate::transformer) fn is_budget_spent(error: &io::Error) -> Option<usize> {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<BudgetSpent>())
        .map(|spent| spent.limit)
}

impl<S> Drop for Metered<S> {
    fn drop(&mut self) {
        self.message_done();
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Metered<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = buf.filled().len() - before;
        if read > 0 {
            if let Err(spent) = this.budget.receive(&mut this.partial, read) {
                return Poll::Ready(Err(io::Error::other(spent)));
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Metered<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
