//! Rooms: named groups of sparks, as Socket.IO users expect.
//!
//! Add the [`Rooms`] plugin, then use the [`SparkRooms`] and [`ServerRooms`]
//! extension traits. Membership and delivery go through the server's
//! [broadcast seam](crate::cluster), so rooms reach as far as the server's
//! [`Broadcast`](crate::cluster::Broadcast) does. A spark leaves all its
//! rooms when it disconnects (after the `disconnection` handlers, which
//! still see them); a room with no spark left disappears. Broadcasting to
//! a room encodes the message once.
//!
//! ```no_run
//! use primus::plugins::{Rooms, ServerRooms, SparkRooms};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = primus::Server::builder()
//!     .plugin(Rooms)
//!     .on_data(|spark, message| async move {
//!         if let Ok(room) = message.decode::<String>() {
//!             spark.join(&room);
//!             spark.server().room(&room).write(&format!("{} joined {room}", spark.id())).ok();
//!         }
//!     })
//!     .build()?;
//! # Ok(()) }
//! ```

use crate::cluster::Target;
use crate::parser::ParserError;
use crate::pipeline::plugin::{Plugin, PluginSetup};
use crate::{Server, Spark};
use serde::Serialize;

/// The rooms plugin (name `"rooms"`): turns on the room operations.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rooms;

/// Marks, in the server's state, that the plugin was added.
#[derive(Debug, Clone, Copy)]
struct RoomsAdded;

impl Plugin for Rooms {
    fn name(&self) -> &'static str {
        "rooms"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        setup.state(RoomsAdded);
    }
}

/// True when the plugin was added; warns otherwise.
fn rooms_added(server: &Server) -> bool {
    let added = server.state::<RoomsAdded>().is_some();
    if !added {
        tracing::warn!(
            "rooms are used but the `Rooms` plugin was not added; add it with `.plugin(primus::plugins::Rooms)`"
        );
    }
    added
}

/// Room operations on a spark (needs the [`Rooms`] plugin).
pub trait SparkRooms {
    /// Joins `room` (creating it).
    fn join(&self, room: &str);
    /// Leaves `room`.
    fn leave(&self, room: &str);
    /// The rooms this spark is in, sorted.
    fn rooms(&self) -> Vec<String>;
}

impl SparkRooms for Spark {
    fn join(&self, room: &str) {
        let server = self.server();
        if rooms_added(&server) {
            server.broadcast().join(self.id(), room);
        }
    }

    fn leave(&self, room: &str) {
        self.server().broadcast().leave(self.id(), room);
    }

    fn rooms(&self) -> Vec<String> {
        self.server().broadcast().rooms_of(self.id())
    }
}

/// Room operations on a server (needs the [`Rooms`] plugin).
pub trait ServerRooms {
    /// A handle to `room` (which may be empty).
    fn room(&self, room: &str) -> Room;
    /// The names of the rooms that have sparks, sorted.
    fn room_names(&self) -> Vec<String>;
}

impl ServerRooms for Server {
    fn room(&self, room: &str) -> Room {
        Room {
            server: self.clone(),
            name: room.to_owned(),
        }
    }

    fn room_names(&self) -> Vec<String> {
        self.broadcast().room_names()
    }
}

/// One room of a server.
#[derive(Clone, Debug)]
pub struct Room {
    server: Server,
    name: String,
}

impl Room {
    /// The room's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sparks in the room (connected ones), sorted by id.
    pub fn sparks(&self) -> Vec<Spark> {
        self.server
            .broadcast()
            .members(&self.name)
            .iter()
            .filter_map(|id| self.server.spark(id))
            .collect()
    }

    /// Number of sparks in the room.
    pub fn len(&self) -> usize {
        self.server.broadcast().members(&self.name).len()
    }

    /// True when no spark is in the room.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sends `value` to every spark in the room (encoded once); returns how
    /// many it was queued for.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, ParserError> {
        self.write_except(value, None)
    }

    /// Like [`write`](Self::write), skipping one spark (usually the sender).
    pub fn write_except<T: Serialize + ?Sized>(
        &self,
        value: &T,
        except: Option<&Spark>,
    ) -> Result<usize, ParserError> {
        let mut target = Target::room(self.name.as_str());
        if let Some(spark) = except {
            target = target.except(spark.id());
        }
        self.server.write_to(value, &target)
    }
}
