//! Who a write reaches, composed fluently: rooms joined into a union,
//! rooms and sparks left out, reliable or volatile. Made by
//! [`Server::to`](super::Server::to) and [`Spark::to`](crate::Spark::to).

use super::Server;
use crate::cluster::{local_sparks_reached, ClusterAnswer, RemoteReplies, Target};
use crate::message::envelope::decode_reply;
use crate::message::event::{Event, Request};
use crate::message::Message;
use crate::parser::ParserError;
use crate::spark::RequestError;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

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

    /// Sends a request to every spark reached, on every node of a
    /// cluster, and collects their replies within `timeout` (Socket.IO's
    /// `timeout(..).emitWithAck`). Each spark gets its own request (see
    /// [`Spark::request`](crate::Spark::request)); the answer says which
    /// replied and which did not, and how many nodes answered, so a partial
    /// result is never mistaken for a complete one. Other nodes are asked
    /// through the server's [`Broadcast`](crate::cluster::Broadcast) (with
    /// the Redis cluster, a node that does not answer within `timeout`
    /// plus its request timeout is counted as not answered). The event
    /// travels to other nodes as JSON. [`volatile`](Self::volatile) does
    /// not apply (a request is never dropped for a busy spark; it times out
    /// instead).
    ///
    /// ```no_run
    /// # #[primus::event] #[derive(Clone)] enum Poll { #[primus(reply = bool)] Ready }
    /// # async fn demo(server: primus::Server) {
    /// let votes = server.to("players").request(Poll::ready(), std::time::Duration::from_secs(5)).await;
    /// let ready = votes.answered.iter().filter(|(_, ready)| *ready).count();
    /// if !votes.is_complete() {
    ///     tracing::warn!(missing = votes.failed.len(), "some players did not answer");
    /// }
    /// # }
    /// ```
    pub async fn request<E, R>(&self, request: Request<E, R>, timeout: Duration) -> BroadcastReplies<R>
    where
        E: Event + Clone,
        R: DeserializeOwned,
    {
        let event = request.into_event();
        let broadcast = self.server.broadcast();
        let sparks = local_sparks_reached(broadcast.as_ref(), &self.target);
        let asks = sparks.iter().map(|spark| {
            let request = Request::<E, R>::new(event.clone());
            async move {
                (
                    spark.id().to_owned(),
                    spark.request_within(request, timeout).await,
                )
            }
        });
        // A spark found here is the only one a one-spark target names.
        let only_here = self.target.spark_id().is_some() && !sparks.is_empty();
        let not_asked = || -> BoxFuture<'static, ClusterAnswer<RemoteReplies>> {
            Box::pin(async {
                ClusterAnswer {
                    value: RemoteReplies::new(),
                    nodes_answered: 1,
                    nodes_expected: 2,
                }
            })
        };
        let elsewhere: BoxFuture<'static, ClusterAnswer<RemoteReplies>> = if only_here
            || !broadcast.spans_nodes()
        {
            Box::pin(async { ClusterAnswer::local(RemoteReplies::new()) })
        } else if !self.server.parser().self_describing() {
            // The event travels between nodes as JSON, which a parser
            // without field names (bincode) cannot turn back into its
            // positional form: the other nodes (one at least) are not
            // asked, and the answer says so.
            tracing::warn!("broadcast requests reach other nodes only with a self-describing parser; asked this node's sparks only");
            not_asked()
        } else {
            match serde_json::to_value(&event) {
                Ok(event) => broadcast.request_elsewhere(event, &self.target, timeout),
                // The event cannot travel as JSON (serde_json refuses it):
                // the other nodes (one at least) are not asked, and the
                // answer says so.
                Err(error) => {
                    tracing::warn!(%error, "a broadcast request could not be sent to the other nodes");
                    not_asked()
                }
            }
        };
        let (local, remote) =
            futures_util::future::join(futures_util::future::join_all(asks), elsewhere).await;
        let mut replies = BroadcastReplies {
            nodes_answered: remote.nodes_answered,
            nodes_expected: remote.nodes_expected,
            ..BroadcastReplies::default()
        };
        for (id, result) in local {
            match result {
                Ok(reply) => replies.answered.push((id, reply)),
                Err(error) => replies.failed.push((id, error)),
            }
        }
        let parser = self.server.parser();
        for (id, result) in remote.value {
            let decoded =
                result.and_then(
                    |frame| match decode_reply::<R>(&Message::new(frame, parser.clone()))? {
                        Ok(reply) => Ok(reply),
                        Err(reason) => Err(RequestError::Rejected(reason)),
                    },
                );
            match decoded {
                Ok(reply) => replies.answered.push((id.to_string(), reply)),
                Err(error) => replies.failed.push((id.to_string(), error)),
            }
        }
        replies
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

/// What [`Recipients::request`] collected: the replies, and the sparks that
/// did not reply (with why: timeout, refusal, closed).
///
/// ```
/// let replies: primus::server::BroadcastReplies<bool> = Default::default();
/// assert!(replies.is_complete());
/// assert_eq!(replies.asked(), 0);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct BroadcastReplies<R> {
    /// Spark id and reply, for each spark that replied.
    pub answered: Vec<(String, R)>,
    /// Spark id and why, for each spark that did not.
    pub failed: Vec<(String, RequestError)>,
    /// How many nodes of the cluster answered, this one included (1 on a
    /// single node).
    pub nodes_answered: usize,
    /// How many nodes were asked, this one included; a node that did not
    /// answer in time leaves its sparks out of both lists.
    pub nodes_expected: usize,
}

impl<R> Default for BroadcastReplies<R> {
    fn default() -> BroadcastReplies<R> {
        BroadcastReplies {
            answered: Vec::new(),
            failed: Vec::new(),
            nodes_answered: 1,
            nodes_expected: 1,
        }
    }
}

impl<R> BroadcastReplies<R> {
    /// True when every spark asked replied and every node answered.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.nodes_answered >= self.nodes_expected
    }

    /// How many sparks were asked.
    pub fn asked(&self) -> usize {
        self.answered.len() + self.failed.len()
    }
}
