//! Rooms: named groups of sparks, as Socket.IO users expect.
//!
//! Add the [`Rooms`] plugin, then use the [`SparkRooms`] and [`ServerRooms`]
//! extension traits. A spark leaves all its rooms when it disconnects; a
//! room with no spark left disappears. Broadcasting to a room encodes the
//! message once.
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

use crate::parser::ParserError;
use crate::server::plugin::{Plugin, PluginSetup};
use crate::{Server, Spark};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

/// The rooms plugin (name `"rooms"`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Rooms;

/// Room membership, shared through the server's state.
#[derive(Clone, Default)]
struct Registry(Arc<RwLock<Membership>>);

#[derive(Default)]
struct Membership {
    /// room → spark ids
    rooms: BTreeMap<String, BTreeSet<Arc<str>>>,
    /// spark id → rooms
    sparks: BTreeMap<Arc<str>, BTreeSet<String>>,
}

impl Plugin for Rooms {
    fn name(&self) -> &'static str {
        "rooms"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        let registry = Registry::default();
        setup.state(registry.clone());
        setup.on_disconnection(move |spark| {
            let registry = registry.clone();
            async move { registry.leave_all(&spark) }
        });
    }
}

impl Registry {
    fn of(server: &Server) -> Option<Registry> {
        server.state::<Registry>()
    }

    fn join(&self, spark: &Spark, room: &str) {
        if let Ok(mut membership) = self.0.write() {
            membership
                .rooms
                .entry(room.to_owned())
                .or_default()
                .insert(spark.id_arc());
            membership
                .sparks
                .entry(spark.id_arc())
                .or_default()
                .insert(room.to_owned());
        }
    }

    fn leave(&self, spark: &Spark, room: &str) {
        if let Ok(mut membership) = self.0.write() {
            membership.remove(spark.id(), room);
        }
    }

    fn leave_all(&self, spark: &Spark) {
        if let Ok(mut membership) = self.0.write() {
            let rooms = membership.sparks.remove(spark.id()).unwrap_or_default();
            for room in rooms {
                membership.remove(spark.id(), &room);
            }
        }
    }

    fn rooms_of(&self, spark: &Spark) -> Vec<String> {
        self.0
            .read()
            .ok()
            .and_then(|m| m.sparks.get(spark.id()).map(|r| r.iter().cloned().collect()))
            .unwrap_or_default()
    }

    fn members(&self, room: &str) -> Vec<Arc<str>> {
        self.0
            .read()
            .ok()
            .and_then(|m| m.rooms.get(room).map(|s| s.iter().cloned().collect()))
            .unwrap_or_default()
    }

    fn names(&self) -> Vec<String> {
        self.0
            .read()
            .map(|m| m.rooms.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl Membership {
    fn remove(&mut self, spark: &str, room: &str) {
        if let Some(members) = self.rooms.get_mut(room) {
            members.remove(spark);
            if members.is_empty() {
                self.rooms.remove(room);
            }
        }
        if let Some(rooms) = self.sparks.get_mut(spark) {
            rooms.remove(room);
            if rooms.is_empty() {
                self.sparks.remove(spark);
            }
        }
    }
}

fn missing_plugin() {
    tracing::warn!(
        "rooms are used but the `Rooms` plugin was not added; add it with `.plugin(primus::plugins::Rooms)`"
    );
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
        match Registry::of(&self.server()) {
            Some(registry) => registry.join(self, room),
            None => missing_plugin(),
        }
    }

    fn leave(&self, room: &str) {
        if let Some(registry) = Registry::of(&self.server()) {
            registry.leave(self, room);
        }
    }

    fn rooms(&self) -> Vec<String> {
        Registry::of(&self.server())
            .map(|r| r.rooms_of(self))
            .unwrap_or_default()
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
        Registry::of(self).map(|r| r.names()).unwrap_or_default()
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
        let Some(registry) = Registry::of(&self.server) else {
            return Vec::new();
        };
        registry
            .members(&self.name)
            .iter()
            .filter_map(|id| self.server.spark(id))
            .collect()
    }

    /// Number of sparks in the room.
    pub fn len(&self) -> usize {
        Registry::of(&self.server).map_or(0, |r| r.members(&self.name).len())
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
        let targets: Vec<Spark> = self.sparks().into_iter().filter(|s| Some(s) != except).collect();
        if self.server.shared().outgoing_transforms() {
            let mut reached = 0;
            for spark in &targets {
                if spark.write(value).is_ok() {
                    reached += 1;
                }
            }
            return Ok(reached);
        }
        let frame = self.server.parser().encode_value(value)?;
        Ok(targets
            .iter()
            .filter(|spark| spark.write_frame(frame.clone()).is_ok())
            .count())
    }
}
