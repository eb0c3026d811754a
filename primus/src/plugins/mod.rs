//! First-party plugins.
//!
//! * [`Rooms`]: join and leave named rooms, broadcast to a room.
//! * [`Emitter`]: speaks the npm `primus-emitter` plugin's packets, mapped
//!   onto typed events and requests.

pub mod emitter;
mod rooms;

pub use emitter::Emitter;
pub use rooms::{Room, Rooms, ServerRooms, SparkRooms};
