//! The chat server: `cargo run -p chat-server [-- ADDRESS]` (default
//! 127.0.0.1:8080). Open http://127.0.0.1:8080/ in a browser, or talk to it
//! with `cargo run -p chat-client -- --name you` or any Primus client (see
//! `chat_events` for the wire shape).
//!
//! `cargo run -p chat-server -- --emit-typings chat.d.ts` writes the
//! TypeScript typings of the chat's events and exits.

use std::net::SocketAddr;
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
    let address = args
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = chat_server::server()?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    tracing::info!(
        "chat on http://{} — open it in a browser, or `cargo run -p chat-client -- --name you`",
        listener.local_addr()?
    );
    let app = chat_server::app(&server).into_make_service_with_connect_info::<SocketAddr>();
    let shutdown = server.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                shutdown.destroy(primus::Destroy::default()).await;
            }
        })
        .await?;
    Ok(())
}
