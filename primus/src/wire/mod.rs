//! The wire: what travels on a transport, below any meaning.
//!
//! * [`Frame`]: one Primus message as one transport message, text or binary,
//!   reference counted so a broadcast shares one buffer.
//! * [`protocol`]: the few `primus::` strings that are the protocol itself
//!   (heartbeat ping and pong, the spark-id request, the close notice).
//! * [`deflate`]: permessage-deflate, compressed WebSocket messages.
//!
//! This layer imports nothing else of the crate.

#[cfg(feature = "deflate")]
pub mod deflate;
mod frame;
pub mod protocol;

pub use frame::{Frame, FrameKind};
