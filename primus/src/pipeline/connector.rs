//! The transport's way in: a [`Connector`] opens a [`Connection`] for a
//! [`ConnectionRequest`], or gives a returning client its lost session's
//! connection back (connection state recovery).

use super::connection::Connection;
use super::dispatch::Dispatcher;
use super::inbound_budget::InboundBudget;
use super::recovery::{first_state, new_token, RecoverAsk, RecoverableSession, Recovery, ReplayRing};
use super::{PipelineHost, CLOSE_GRACE};
use crate::spark::hub::SparkHub;
use crate::spark::{Address, Query, RequestExtensions, SessionRecovery, Spark, SparkInit};
use crate::telemetry::{self, ConnectionMeters};
use crate::wire::protocol;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use std::collections::VecDeque;
use std::sync::{Arc, Weak};

/// What a spark keeps of the request that opened its connection.
///
/// ```
/// use primus::pipeline::ConnectionRequest;
/// use primus::spark::Address;
///
/// let (parts, ()) = http::Request::get("/primus?room=a").header("x-token", "t").body(()).unwrap().into_parts();
/// let request = ConnectionRequest::from_parts(&parts, Address::default());
/// assert_eq!(request.query.get("room"), Some("a"));
/// assert_eq!(request.headers["x-token"], "t");
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConnectionRequest {
    /// The request headers.
    pub headers: HeaderMap,
    /// The client's address.
    pub address: Address,
    /// The parsed query string.
    pub query: Query,
    /// What the authorization hook and middleware set for the spark
    /// (`HttpRequest::set_extension`); the spark starts with these values.
    pub extensions: http::Extensions,
}

impl ConnectionRequest {
    /// The facts of `parts`. Header values are copied: hyper's point into
    /// its read buffer, which a long-lived clone would keep alive for the
    /// life of the connection.
    pub fn from_parts(parts: &Parts, address: Address) -> ConnectionRequest {
        let headers = parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), HeaderValue::from_bytes(value.as_bytes()).ok()?)))
            .collect();
        ConnectionRequest {
            headers,
            address,
            query: Query::parse(parts.uri.query().unwrap_or("")),
            extensions: parts
                .extensions
                .get::<RequestExtensions>()
                .map(RequestExtensions::snapshot)
                .unwrap_or_default(),
        }
    }
}

/// Why a connection could not be opened.
///
/// ```
/// let error = primus::pipeline::OpenError::ServerGone;
/// assert_eq!(error.to_string(), "the server was dropped");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The id generator returned an id that a connected spark has.
    #[error("the id generator returned `{0}`, which a connected spark already has")]
    IdInUse(String),
    /// The server this connector belongs to no longer exists.
    #[error("the server was dropped")]
    ServerGone,
}

/// Opens connections on one server: what a [`Transformer`](crate::transformer::Transformer)
/// is given. Cheap to clone; it does not keep the server alive.
#[derive(Clone)]
pub struct Connector {
    host: Weak<dyn PipelineHost>,
    max_length: usize,
    inbound: InboundBudget,
    pathname: Arc<str>,
    /// The transformer's name, for the sparks' spans.
    transformer: &'static str,
    /// Whether the transformer lets a client resume a session.
    resumes_sessions: bool,
}

impl Connector {
    pub(crate) fn new(
        host: Weak<dyn PipelineHost>,
        max_length: usize,
        inbound: InboundBudget,
        pathname: &str,
        transformer: &'static str,
        resumes_sessions: bool,
    ) -> Connector {
        Connector {
            host,
            max_length,
            inbound,
            pathname: Arc::from(pathname),
            transformer,
            resumes_sessions,
        }
    }

    /// The path the server answers under (`/primus` by default): a
    /// transport that routes by path (SockJS) reads its own URLs below it.
    pub fn pathname(&self) -> &str {
        &self.pathname
    }

    /// The server's budget for partly received messages: a transport
    /// counts what it has read of each message against it.
    pub fn inbound_budget(&self) -> &InboundBudget {
        &self.inbound
    }

    /// The largest message the server accepts, in bytes (`max_length`): a
    /// transport refuses bigger ones before they reach the connection.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// [`open`](Self::open), for a transport that can wait: a client that
    /// resumes a session whose old connection still looks open (a half-open
    /// TCP connection after a network change) gets it, after the old
    /// connection is closed (within [`CLOSE_GRACE`]). Without connection
    /// state recovery it is `open`.
    ///
    /// ```no_run
    /// # async fn demo(connector: primus::pipeline::Connector, request: primus::pipeline::ConnectionRequest) {
    /// if let Ok(connection) = connector.open_resuming(request).await {
    ///     // drive it as any other connection
    /// #   let _ = connection;
    /// }
    /// # }
    /// ```
    pub async fn open_resuming(&self, request: ConnectionRequest) -> Result<Connection, OpenError> {
        if self.resumes_sessions {
            if let Some(host) = self.host.upgrade() {
                if let (Some(recovery), Some(RecoverAsk::Resume { token, .. })) =
                    (&host.pipeline().recovery, RecoverAsk::from_query(&request.query))
                {
                    recovery.take_over(&token, CLOSE_GRACE).await;
                }
            }
        }
        self.open(request)
    }

    /// Opens a connection: creates its spark, registers it with the server
    /// and starts the `connection` handlers (they run while the transport
    /// drives [`Connection::progress`]).
    ///
    /// With connection state recovery on (`ServerBuilder::recovery`), a
    /// request that resumes a lost session gets that session's connection
    /// back: the same spark, its missed frames first.
    pub fn open(&self, request: ConnectionRequest) -> Result<Connection, OpenError> {
        let host = self.host.upgrade().ok_or(OpenError::ServerGone)?;
        let pipeline = host.pipeline();
        let ask = match (&pipeline.recovery, self.resumes_sessions) {
            (Some(_), true) => RecoverAsk::from_query(&request.query),
            _ => None,
        };
        if let Some(RecoverAsk::Resume { token, seen }) = &ask {
            match resume(&host, token, *seen) {
                Some(connection) => {
                    telemetry::session_resumed();
                    return Ok(connection);
                }
                None => telemetry::session_missed(),
            }
        }
        let hub: Arc<dyn SparkHub> = host.clone();
        let (spark, outbound) = Spark::new(SparkInit {
            id: pipeline.next_id(),
            headers: request.headers,
            address: request.address,
            query: request.query,
            parser: pipeline.parser.clone(),
            per_spark: pipeline.plugins.per_spark_encoding().clone(),
            hub,
            queue_bytes: pipeline.send_queue_bytes,
            extensions: request.extensions,
        });
        spark.set_recovery(first_state(&ask));
        let mut preface = VecDeque::new();
        let session = match (&ask, &pipeline.recovery) {
            (Some(_), Some(recovery)) => {
                let token = new_token();
                preface.extend(pipeline.parser.encode_value(&protocol::recover(&token)).ok());
                Some(RecoverableSession {
                    token,
                    ring: ReplayRing::new(recovery.settings.replay_bytes_limit()),
                })
            }
            _ => None,
        };
        if !pipeline.broadcast.add(&spark) {
            tracing::error!(
                spark = spark.id(),
                "the id generator returned an id already in use; connection refused"
            );
            return Err(OpenError::IdInUse(spark.id().to_owned()));
        }
        if let (Some(session), Some(recovery)) = (&session, &pipeline.recovery) {
            recovery.attach(&session.token, &spark);
        }
        tracing::debug!(spark = spark.id(), address = ?spark.address(), "connected");
        let live = pipeline.live.enter();
        host.opened(&spark);
        // One span for the spark's whole life: its handlers run inside it.
        let span = tracing::info_span!(
            "spark",
            id = spark.id(),
            address = ?spark.address().ip,
            transformer = self.transformer
        );
        let dispatcher = Dispatcher::new(spark.clone(), pipeline, span);
        Ok(Connection {
            spark,
            outbound,
            dispatcher,
            host,
            live,
            meters: ConnectionMeters::opened(self.transformer),
            unrecorded: preface.len(),
            preface,
            session,
            forgo_recovery: false,
        })
    }
}

/// The detached connection of `token` for its returning client, which
/// received `seen` frames of it; `None` when it cannot be resumed (it is
/// then ended as any other).
fn resume(host: &Arc<dyn PipelineHost>, token: &str, seen: u64) -> Option<Connection> {
    let pipeline = host.pipeline();
    let recovery: &Arc<Recovery> = pipeline.recovery.as_ref()?;
    let mut connection = recovery.claim(token)?.into_any().downcast::<Connection>().ok()?;
    let spark = connection.spark.clone();
    let missed = match spark.is_open() {
        true => connection
            .session
            .as_mut()
            .and_then(|session| session.ring.resume_after(seen)),
        false => None,
    };
    let greeting = pipeline.parser.encode_value(&protocol::recovered(token)).ok();
    let (Some(missed), Some(greeting)) = (missed, greeting) else {
        tracing::debug!(
            spark = spark.id(),
            seen,
            "cannot resume (ended, or missed frames no longer kept); a new spark follows"
        );
        tokio::spawn(connection.finish_for_good());
        return None;
    };
    tracing::debug!(spark = spark.id(), replayed = missed.len(), "resumed");
    // What a previous resume had not sent yet is in the ring, and so in
    // `missed` again.
    connection.preface.clear();
    connection.preface.push_back(greeting);
    connection.preface.extend(missed);
    connection.unrecorded = connection.preface.len();
    connection.forgo_recovery = false;
    spark.set_recovery(SessionRecovery::Resumed);
    spark.set_detached(false);
    recovery.attach(token, &spark);
    // A server shutting down ends it at once, as it does a new spark.
    host.opened(&spark);
    Some(*connection)
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("max_length", &self.max_length)
            .field("server", &(self.host.strong_count() > 0))
            .finish()
    }
}
