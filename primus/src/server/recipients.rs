//! Who a write reaches, composed fluently: rooms joined into a union,
//! rooms and sparks left out, reliable or volatile. Made by
//! [`Server::to`](super::Server::to) and [`Spark::to`](crate::Spark::to).

use super::Server;
use crate::cluster::Target;
use crate::event::Event;
use crate::parser::ParserError;
use serde::Serialize;
use std::sync::Arc;

/// The sparks a write will reach: built with [`Server::to`] or
/// [`Spark::to`](crate::Spark::to), sent with [`emit`](Self::emit) (a typed
/// event) or [`write`](Self::write) (any value). The message is encoded
/// once, whatever the number of rooms, and reaches every node of a cluster.
///
/// ```no_run
/// # #[primus::event] enum GameEvent { Moved { x: i32 } }
/// # fn demo(server: primus::Server, sender: primus::Spark) -> Result<(), primus::parser::ParserError> {
/// // Everyone in "red" or "blue" (once each), except the spectators and the sender.
/// server
///     .to("red")
///     .to("blue")
///     .except_room("spectators")
///     .except_spark(sender.id())
///     .emit(&GameEvent::Moved { x: 3 })?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[must_use = "nothing is sent until `emit` or `write` is called"]
pub struct Recipients {
    server: Server,
    target: Target,
}

impl Recipients {
    pub(crate) fn new(server: Server, target: Target) -> Recipients {
        Recipients { server, target }
    }

    /// Also the sparks in `room` (a spark in several rooms is reached once).
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) {
    /// let both = server.to("a").to("b");
    /// # }
    /// ```
    pub fn to(mut self, room: impl Into<String>) -> Recipients {
        self.target = self.target.and_room(room);
        self
    }

    /// Not the sparks in `room`.
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) {
    /// let players = server.to("game-7").except_room("spectators");
    /// # }
    /// ```
    pub fn except_room(mut self, room: impl Into<String>) -> Recipients {
        self.target = self.target.except_room(room);
        self
    }

    /// Not the spark with this id.
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server, spark: primus::Spark) {
    /// let others = server.to("lobby").except_spark(spark.id());
    /// # }
    /// ```
    pub fn except_spark(mut self, id: impl Into<Arc<str>>) -> Recipients {
        self.target = self.target.except(id);
        self
    }

    /// Delivered volatile (see [`Target::volatile`]).
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) {
    /// let lossy = server.to("map-viewers").volatile();
    /// # }
    /// ```
    pub fn volatile(mut self) -> Recipients {
        self.target = self.target.volatile();
        self
    }

    /// The target these recipients make, for [`Server::write_to`].
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) {
    /// assert_eq!(server.to("a").target().rooms(), ["a"]);
    /// # }
    /// ```
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Sends a typed event; returns how many sparks of this process it was
    /// queued for.
    ///
    /// ```no_run
    /// # #[primus::event] enum News { Headline(String) }
    /// # fn demo(server: primus::Server) -> Result<(), primus::parser::ParserError> {
    /// server.to("readers").emit(&News::Headline("typed rooms".into()))?;
    /// # Ok(()) }
    /// ```
    pub fn emit<E: Event>(&self, event: &E) -> Result<usize, ParserError> {
        self.server.write_to(event, &self.target)
    }

    /// Sends any value (encoded once); returns how many sparks of this
    /// process it was queued for.
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) -> Result<(), primus::parser::ParserError> {
    /// server.to("lobby").write(&"plain data")?;
    /// # Ok(()) }
    /// ```
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, ParserError> {
        self.server.write_to(value, &self.target)
    }
}
