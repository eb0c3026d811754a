//! The chat server: `cargo run -p chat-server [-- ADDRESS]` (default
//! 127.0.0.1:8080). Open http://127.0.0.1:8080/ in a browser, or talk to it
//! with `cargo run -p chat-client -- --name you` or any Primus client (see
//! `chat_events` for the wire shape).
//!
//! `cargo run -p chat-server -- --emit-typings chat.d.ts` writes the
//! TypeScript typings of the chat's events and exits;
//! `--transformer engine.io` (or `sockjs`) serves the chat over that
//! transformer instead of `websockets` (the page then speaks it too; add
//! `?websockets=false` or `?transports=xhr-streaming` to its URL to pick
//! the polling transports).
//!
//! Metrics (Prometheus text) are at `/metrics`.
//!
//! `--redis redis://127.0.0.1:6379/` makes this server one node of a chat
//! over Redis (prefix `chat`): run a second one on another port with the
//! same Redis, and people on either node chat together.
//!
//! `--tls-cert cert.pem --tls-key key.pem` serves the chat over HTTPS and
//! WSS instead (both PEM; the certificate file may hold the whole chain).

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(at) = args.iter().position(|a| a == "--emit-typings") {
        let path = args.get(at + 1).ok_or("--emit-typings needs a file name")?;
        std::fs::write(path, primus::typescript::typings()?)?;
        tracing::info!(%path, "typings written");
        return Ok(());
    }
    let mut args = args.into_iter();
    let mut address = "127.0.0.1:8080".to_owned();
    let mut transformer = "websockets".to_owned();
    let mut redis = None;
    let (mut tls_cert, mut tls_key) = (None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--transformer" => {
                transformer = args
                    .next()
                    .ok_or("--transformer needs websockets, engine.io or sockjs")?
            }
            "--redis" => {
                redis = Some(
                    args.next()
                        .ok_or("--redis needs a URL such as redis://127.0.0.1:6379/")?,
                )
            }
            "--tls-cert" => tls_cert = Some(args.next().ok_or("--tls-cert needs a PEM file")?),
            "--tls-key" => tls_key = Some(args.next().ok_or("--tls-key needs a PEM file")?),
            _ => address = arg,
        }
    }
    let transformer = primus::transformer::by_name(&transformer)
        .ok_or_else(|| format!("unknown transformer {transformer:?}: use websockets, engine.io or sockjs"))?;
    let mut builder = chat_server::builder().transformer(transformer);
    if let Some(url) = redis {
        let cluster = primus::cluster::redis::Redis::new(url)
            .prefix("chat")
            .connect()
            .await?;
        tracing::info!(node = %cluster.node_id(), "chat node on Redis");
        builder = builder.broadcast(cluster);
    }
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(primus::server::ServerTls::from_pem_files(cert, key)?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key go together".into()),
    };
    let server = builder.build()?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(
        "chat on {}://{} — open it in a browser, or `cargo run -p chat-client -- --name you`",
        if tls.is_some() { "https" } else { "http" },
        listener.local_addr()?
    );
    // Prometheus text at /metrics: connections, messages, errors, handler times.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    let app = chat_server::app_with_metrics(&server, metrics);
    let shutdown = server.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            shutdown.destroy(primus::Destroy::default()).await;
        }
    });
    // The server's accept loop: connection caps, handshake timeout, TLS.
    match tls {
        Some(tls) => server.serve_app_tls(listener, app, tls).await?,
        None => server.serve_app(listener, app).await?,
    }
    Ok(())
}
