//! First-party plugins.
//!
//! * [`Rooms`]: join and leave named rooms, broadcast to a room.

mod rooms;

pub use rooms::{Room, Rooms, ServerRooms, SparkRooms};
