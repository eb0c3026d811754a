//! The chat server: `cargo run -p chat-server [-- ADDRESS]` (default
//! 127.0.0.1:8080). Talk to it with `cargo run -p chat-client -- --name you`
//! or any Primus client (see `chat_events` for the wire shape).

use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let server = chat_server::server()?;
    let shutdown = server.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            shutdown.destroy(primus::Destroy::default()).await;
        }
    });
    tracing::info!("chat on http://{address} — join with `cargo run -p chat-client -- --name you`");
    server.listen(address).await?;
    Ok(())
}
