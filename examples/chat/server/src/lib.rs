//! The chat server's handlers. The binary (`main.rs`) only builds the
//! server from the registry and serves [`app`]; everything the chat does is
//! here.

use chat_events::{ChatClient, ChatClientJoin, ChatServer};
use primus::{Message, Payload, PublicError, Server, Spark, State};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Who is in the room: spark id → name.
#[derive(Clone, Default)]
pub struct Members(Arc<Mutex<BTreeMap<String, String>>>);

impl Members {
    fn name_of(&self, spark: &Spark) -> Option<String> {
        self.0.lock().ok()?.get(spark.id()).cloned()
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }
}

/// The server with its state and every handler of this crate.
pub fn server() -> Result<Server, primus::BuildError> {
    server_over(primus::transformer::WebSockets::default())
}

/// [`server`] over another transformer (`primus::transformer::EngineIo`,
/// `SockJs`, or one of [`primus::transformer::by_name`]).
///
/// ```no_run
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = chat_server::server_over(primus::transformer::SockJs::default())?;
/// # Ok(()) }
/// ```
pub fn server_over(transformer: impl primus::transformer::Transformer) -> Result<Server, primus::BuildError> {
    builder().transformer(transformer).build()
}

/// The chat's server builder (its state and every handler of this crate),
/// to add a transformer or a cluster to before building. With a cluster
/// (`primus::cluster::redis`), what people say reaches the people on every
/// node; `who` lists the names known to the node that answers.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use primus::cluster::redis::Redis;
/// let cluster = Redis::new("redis://127.0.0.1:6379/").prefix("chat").connect().await?;
/// let server = chat_server::builder().broadcast(cluster).build()?;
/// # Ok(()) }
/// ```
pub fn builder() -> primus::ServerBuilder {
    Server::builder()
        .state(Members::default())
        .handlers_from_registry()
}

/// The chat's web page: join with a name, then chat (it uses the browser
/// client at `/primus/primus.js` and the chat's typed events).
pub const PAGE: &str = include_str!("page.html");

/// The HTTP application: the web page at `/`, and Primus (with its browser
/// client) under `/primus`. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = chat_server::server()?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let app = chat_server::app(&server);
/// axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
/// # Ok(()) }
/// ```
pub fn app(server: &Server) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(page))
        .layer(server.layer())
}

/// [`app`], plus the process's metrics as Prometheus text at `/metrics`
/// (primus' metrics are listed in [`primus::telemetry`]); `metrics` is the
/// handle of the recorder the process installed.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
/// let server = chat_server::server()?;
/// let app = chat_server::app_with_metrics(&server, metrics);
/// # let _ = app; Ok(()) }
/// ```
pub fn app_with_metrics(
    server: &Server,
    metrics: metrics_exporter_prometheus::PrometheusHandle,
) -> axum::Router {
    app(server).route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move { metrics.render() }
        }),
    )
}

async fn page() -> axum::response::Html<&'static str> {
    axum::response::Html(PAGE)
}

#[primus::on("connection")]
async fn welcome(spark: Spark) {
    let _ = spark.write(&ChatServer::System(
        "welcome! join with a name to chat".to_owned(),
    ));
}

#[primus::on(ChatClient::Join)]
async fn join(
    spark: Spark,
    server: Server,
    State(members): State<Members>,
    Payload(ChatClientJoin { name }): Payload<ChatClientJoin>,
) -> Result<Vec<String>, PublicError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.len() > 32 {
        return Err(PublicError::new("a name has 1 to 32 characters"));
    }
    if let Ok(mut map) = members.0.lock() {
        map.insert(spark.id().to_owned(), name.clone());
    }
    tracing::info!(spark = spark.id(), name = ?name, "joined");
    let _ = server.write(&ChatServer::Joined { name });
    Ok(members.names())
}

#[primus::on(ChatClient::Say)]
async fn say(spark: Spark, server: Server, State(members): State<Members>, Payload(text): Payload<String>) {
    match members.name_of(&spark) {
        Some(from) => drop(server.write(&ChatServer::Message { from, text })),
        None => drop(spark.write(&ChatServer::System("join first".to_owned()))),
    }
}

#[primus::on(ChatClient::Who)]
async fn who(State(members): State<Members>) -> Vec<String> {
    members.names()
}

#[primus::on("disconnection")]
async fn leave(spark: Spark, server: Server, State(members): State<Members>) {
    let name = members.0.lock().ok().and_then(|mut map| map.remove(spark.id()));
    if let Some(name) = name {
        tracing::info!(spark = spark.id(), name = ?name, "left");
        let _ = server.write(&ChatServer::Left { name });
    }
}

/// Plain Primus clients that do not speak the chat's events get a hint.
#[primus::on("data")]
async fn unknown(spark: Spark, message: Message) {
    tracing::debug!(raw = ?message.raw(), "not a chat event");
    let hint = r#"send {"event":"join","data":{"name":"you"},"request":1} then {"event":"say","data":"hi"}"#;
    let _ = spark.write(&ChatServer::System(hint.to_owned()));
}
