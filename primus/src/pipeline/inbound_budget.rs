//! One budget, shared by all connections of a server, for the bytes of
//! messages that are still being received: [`InboundBudget`].
//!
//! A message may be up to `max_length` (10 MiB by default) and arrives in
//! pieces; until it is complete its bytes sit in the connection's buffer.
//! Two hundred clients that each send 9 MB slowly would hold 1.8 GB. The
//! transport counts what it has read of the current message against this
//! budget and releases it when the message is complete (or the connection
//! ends). Once the budget is spent, a connection whose partial message is
//! bigger than [`InboundBudget::SMALL`] is refused (closed with 1009);
//! small messages always get through, so ordinary traffic is never hurt
//! by someone else's uploads.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The bytes of partly received messages, across all connections.
///
/// ```
/// use primus::pipeline::InboundBudget;
///
/// let budget = InboundBudget::new(1 << 20);
/// let mut partial = 0;
/// assert!(budget.receive(&mut partial, 300 * 1024).is_ok());
/// assert!(budget.receive(&mut partial, 800 * 1024).is_err(), "past the budget");
/// budget.complete(&mut partial);
/// assert_eq!(budget.in_use(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct InboundBudget {
    limit: usize,
    used: Arc<AtomicUsize>,
}

/// The budget is spent and this connection's partial message is not small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server's budget for partly received messages ({limit} bytes) is spent")]
pub struct BudgetSpent {
    /// The budget, in bytes.
    pub limit: usize,
}

impl InboundBudget {
    /// A partial message up to this size is never refused: 64 KiB.
    pub const SMALL: usize = 64 * 1024;

    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> InboundBudget {
        InboundBudget {
            limit,
            used: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Counts `bytes` more of a connection's current message (`partial`
    /// is that connection's count). Only a message past
    /// [`SMALL`](Self::SMALL) is charged to the shared budget, so ordinary
    /// traffic never touches it. `Err` when the budget is spent: the
    /// connection should be closed (its bytes are released meanwhile).
    pub fn receive(&self, partial: &mut usize, bytes: usize) -> Result<(), BudgetSpent> {
        let before = *partial;
        *partial += bytes;
        if *partial <= InboundBudget::SMALL {
            return Ok(());
        }
        // The first time past SMALL, everything so far is charged.
        let charge = match before <= InboundBudget::SMALL {
            true => *partial,
            false => bytes,
        };
        let used = self.used.fetch_add(charge, Ordering::AcqRel) + charge;
        if used > self.limit {
            self.complete(partial);
            return Err(BudgetSpent { limit: self.limit });
        }
        Ok(())
    }

    /// The connection's message is complete (or the connection ended):
    /// releases its bytes.
    pub fn complete(&self, partial: &mut usize) {
        let done = std::mem::take(partial);
        if done > InboundBudget::SMALL {
            self.used.fetch_sub(done, Ordering::AcqRel);
        }
    }

    /// Bytes counted now.
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}
