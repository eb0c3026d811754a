//! The broadcast seam: who is connected, who is in which room, and
//! delivery to all, to rooms, except some sparks, or to one spark id.
//!
//! Everything that reaches more than the spark at hand goes through one
//! [`Broadcast`]: [`Server::write`](crate::Server::write), room writes
//! ([`Room`](crate::plugins::Room)), [`Server::spark`](crate::Server::spark)
//! and the heartbeat's walk over the sparks. The server starts with
//! [`LocalBroadcast`], which knows the sparks of this process; an
//! implementation that also reaches other processes (over Redis, say)
//! plugs in with [`ServerBuilder::broadcast`](crate::ServerBuilder::broadcast)
//! without touching any of them.
//!
//! The contract every implementation keeps:
//!
//! * **encode once**: [`deliver`](Broadcast::deliver) gets a message
//!   already encoded ([`Outbound`]) and queues clones of it, never
//!   re-encoding per spark;
//! * **local first**: local sparks are reached before `deliver` returns,
//!   without waiting on a network;
//! * **never blocks**: every method is synchronous and quick; work that
//!   needs the network happens in the background;
//! * membership is by spark id, and a spark leaves every room when it is
//!   [`forget`](Broadcast::forget)ten.
//!
//! ```
//! use primus::cluster::{Broadcast, LocalBroadcast, Target};
//!
//! let local = LocalBroadcast::default();
//! assert_eq!(local.len(), 0);
//! assert!(local.room_names().is_empty());
//! let target = Target::room("lobby").except("some-spark-id");
//! assert_eq!(target.rooms(), ["lobby"]);
//! ```

mod answer;
mod local;
#[cfg(feature = "redis")]
pub mod redis;

pub use answer::ClusterAnswer;
pub use local::LocalBroadcast;

use crate::spark::{CloseRequest, Outbound, RequestError, Spark};
use crate::wire::Frame;
use futures_util::future::BoxFuture;
use std::sync::Arc;
use std::time::Duration;

/// What the sparks of other nodes answered to a request asked of them all
/// ([`Broadcast::request_elsewhere`]): per spark id, the reply message as
/// the server's parser encoded it (`{"reply":n,"data":…}` or
/// `{"reply":n,"error":…}`), or why there is none.
pub type RemoteReplies = Vec<(Arc<str>, Result<Frame, RequestError>)>;

/// Which sparks a delivery reaches.
///
/// ```
/// use primus::cluster::Target;
///
/// let everyone = Target::all();
/// assert!(everyone.rooms().is_empty() && everyone.spark_id().is_none());
/// let others_in_lobby = Target::room("lobby").except("sender-id");
/// assert!(others_in_lobby.excludes("sender-id"));
/// let one = Target::spark("a-spark-id");
/// assert_eq!(one.spark_id(), Some("a-spark-id"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    rooms: Vec<String>,
    spark: Option<Arc<str>>,
    except: Vec<Arc<str>>,
    except_rooms: Vec<String>,
    volatile: bool,
}

impl Target {
    /// Every connected spark.
    pub fn all() -> Target {
        Target::default()
    }

    /// The sparks in `room`.
    pub fn room(room: impl Into<String>) -> Target {
        Target {
            rooms: vec![room.into()],
            ..Target::default()
        }
    }

    /// The spark with this id.
    pub fn spark(id: impl Into<Arc<str>>) -> Target {
        Target {
            spark: Some(id.into()),
            ..Target::default()
        }
    }

    /// Also the sparks in `room` (a spark in several rooms is reached once).
    pub fn and_room(mut self, room: impl Into<String>) -> Target {
        self.rooms.push(room.into());
        self
    }

    /// Not the spark with this id (usually the sender).
    pub fn except(mut self, id: impl Into<Arc<str>>) -> Target {
        self.except.push(id.into());
        self
    }

    /// Not the sparks in `room` (a spark in an included room and in an
    /// excluded one is left out).
    ///
    /// ```
    /// use primus::cluster::Target;
    ///
    /// let target = Target::room("game").except_room("spectators");
    /// assert_eq!(target.excluded_rooms(), ["spectators"]);
    /// ```
    pub fn except_room(mut self, room: impl Into<String>) -> Target {
        self.except_rooms.push(room.into());
        self
    }

    /// The rooms whose sparks are left out.
    pub fn excluded_rooms(&self) -> &[String] {
        &self.except_rooms
    }

    /// Delivered **volatile**: a spark whose outbound queue holds more than
    /// half its budget misses the message (counted in
    /// `primus_volatile_dropped_total`) instead of being disconnected as a
    /// slow consumer, and the delivery does not slow down its sender. See
    /// [`Spark::write_volatile`].
    ///
    /// ```
    /// use primus::cluster::Target;
    ///
    /// assert!(Target::room("game-7").volatile().is_volatile());
    /// assert!(!Target::all().is_volatile());
    /// ```
    pub fn volatile(mut self) -> Target {
        self.volatile = true;
        self
    }

    /// True for a [`volatile`](Self::volatile) delivery.
    pub fn is_volatile(&self) -> bool {
        self.volatile
    }

    /// Queues `message` for `spark` as this target's delivery policy says:
    /// reliably ([`Spark::write_outbound`]) or volatile. True when queued.
    pub(crate) fn offer(&self, spark: &Spark, message: Outbound) -> bool {
        match self.volatile {
            true => spark.write_outbound_volatile(message).is_ok(),
            false => spark.write_outbound(message).is_ok(),
        }
    }

    /// The rooms reached; empty means every spark (unless one spark is named).
    pub fn rooms(&self) -> &[String] {
        &self.rooms
    }

    /// The one spark reached, when the target names one.
    pub fn spark_id(&self) -> Option<&str> {
        self.spark.as_deref()
    }

    /// The ids of the sparks left out.
    pub fn excluded(&self) -> &[Arc<str>] {
        &self.except
    }

    /// True when the spark with this id is left out.
    pub fn excludes(&self, id: &str) -> bool {
        self.except.iter().any(|excluded| &**excluded == id)
    }
}

/// What the server tells its [`Broadcast`] when it is built.
///
/// ```
/// use primus::cluster::Attached;
///
/// let attached = Attached::new("/primus", "json");
/// assert_eq!(attached.pathname(), "/primus");
/// assert_eq!(attached.parser_name(), "json");
/// ```
#[derive(Debug, Clone)]
pub struct Attached {
    pathname: String,
    parser_name: &'static str,
}

impl Attached {
    /// The server's pathname and the name of its parser.
    pub fn new(pathname: impl Into<String>, parser_name: &'static str) -> Attached {
        Attached {
            pathname: pathname.into(),
            parser_name,
        }
    }

    /// The pathname Primus answers under (`/primus`).
    pub fn pathname(&self) -> &str {
        &self.pathname
    }

    /// The name of the server's parser ([`Parser::name`](crate::parser::Parser::name)):
    /// frames delivered through the seam are encoded with it.
    pub fn parser_name(&self) -> &'static str {
        self.parser_name
    }
}

/// Where sparks are known and messages are delivered: the broadcast seam.
///
/// The methods about "the sparks" see the sparks of this process (a
/// [`Spark`] is a local connection); delivery, ending sparks and the
/// `*_everywhere` questions are what a multi-process implementation (such
/// as [`redis::RedisBroadcast`](crate::cluster) with the `redis` feature)
/// extends to other processes.
pub trait Broadcast: Send + Sync + 'static {
    /// Called once by [`ServerBuilder::build`](crate::ServerBuilder::build)
    /// with the server's pathname and parser, before any spark connects.
    fn attach(&self, _server: &Attached) {}

    /// Adds a newly connected spark; false when its id is taken (the
    /// connection is then refused).
    fn add(&self, spark: &Spark) -> bool;

    /// Removes a spark that disconnected from the sparks that can be looked
    /// up and delivered to. Its rooms are kept until [`forget`](Self::forget),
    /// so `disconnection` handlers still see them.
    fn remove(&self, spark: &Spark);

    /// Drops everything known about a spark that is gone (its rooms).
    fn forget(&self, spark_id: &str);

    /// The connected spark with this id, if it is one of this process.
    fn spark(&self, id: &str) -> Option<Spark>;

    /// A snapshot of the connected sparks of this process.
    fn sparks(&self) -> Vec<Spark>;

    /// How many sparks of this process are connected.
    fn len(&self) -> usize;

    /// True when no spark is connected here.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Queues `message` for every spark `target` names; returns how many
    /// local sparks it was queued for.
    fn deliver(&self, message: &Outbound, target: &Target) -> usize;

    /// Puts the spark with this id in `room` (creating the room).
    fn join(&self, spark_id: &str, room: &str);

    /// Takes the spark with this id out of `room` (an empty room disappears).
    fn leave(&self, spark_id: &str, room: &str);

    /// The rooms of the spark with this id, sorted.
    fn rooms_of(&self, spark_id: &str) -> Vec<String>;

    /// The ids of the sparks in `room`, sorted.
    fn members(&self, room: &str) -> Vec<Arc<str>>;

    /// The names of the rooms that have sparks, sorted.
    fn room_names(&self) -> Vec<String>;

    /// Closes every spark `target` names as `request` says; returns how
    /// many local sparks were closed. The default closes local sparks only.
    fn end(&self, target: &Target, request: CloseRequest) -> usize {
        let mut closed = 0;
        for spark in self.sparks() {
            if reaches(target, &spark, |id, room| {
                self.rooms_of(id).iter().any(|r| r == room)
            }) && spark.close(request)
            {
                closed += 1;
            }
        }
        closed
    }

    /// How many sparks are connected on every node that answered. The
    /// default answers for this process alone (one node of one).
    fn connected_everywhere(&self) -> BoxFuture<'static, ClusterAnswer<usize>> {
        let count = self.len();
        Box::pin(async move { ClusterAnswer::local(count) })
    }

    /// The ids of the sparks in `room` on every node that answered, sorted.
    /// The default answers for this process alone.
    fn members_everywhere(&self, room: &str) -> BoxFuture<'static, ClusterAnswer<Vec<Arc<str>>>> {
        let members = self.members(room);
        Box::pin(async move { ClusterAnswer::local(members) })
    }

    /// True when this broadcast reaches other processes (a cluster); the
    /// default is false (this process is the whole server).
    fn spans_nodes(&self) -> bool {
        false
    }

    /// Sends a request to every spark `target` names on the *other* nodes
    /// and gathers their replies within `timeout` (this node's sparks are
    /// asked by the caller, the server's `Recipients::request`).
    /// `event` is the typed event as JSON (`{"event":…,"data":…}`); each
    /// node numbers the request per spark as it sends it. The answer says
    /// how many nodes answered. The default asks nobody: one node of one.
    fn request_elsewhere(
        &self,
        event: serde_json::Value,
        target: &Target,
        timeout: Duration,
    ) -> BoxFuture<'static, ClusterAnswer<RemoteReplies>> {
        let _ = (event, target, timeout);
        Box::pin(async { ClusterAnswer::local(Vec::new()) })
    }

    /// Called by [`Server::destroy`](crate::Server::destroy) once the
    /// sparks are closed: leave the cluster cleanly. The default does
    /// nothing.
    fn shutdown(&self) -> BoxFuture<'static, ()> {
        Box::pin(async {})
    }
}

/// The sparks of this process that `target` reaches.
pub(crate) fn local_sparks_reached(broadcast: &dyn Broadcast, target: &Target) -> Vec<Spark> {
    broadcast
        .sparks()
        .into_iter()
        .filter(|spark| {
            reaches(target, spark, |id, room| {
                broadcast.rooms_of(id).iter().any(|r| r == room)
            })
        })
        .collect()
}

/// True when `target` reaches `spark`; `in_room(id, room)` says whether the
/// spark with that id is in that room.
pub(crate) fn reaches(target: &Target, spark: &Spark, in_room: impl Fn(&str, &str) -> bool) -> bool {
    let id = spark.id();
    if target.excludes(id) || target.excluded_rooms().iter().any(|room| in_room(id, room)) {
        return false;
    }
    if let Some(only) = target.spark_id() {
        return only == id;
    }
    target.rooms().is_empty() || target.rooms().iter().any(|room| in_room(id, room))
}
