//! An echo server for the real Primus client.
//!
//! ```text
//! cargo run -p echo                 # listens on 127.0.0.1:8080
//! cargo run -p echo -- 127.0.0.1:9000
//! ```
//!
//! Every message a client writes comes back to it; `{"broadcast": value}`
//! sends `value` to every connected client instead. From Node.js, with the
//! npm `primus` package:
//!
//! ```js
//! const Primus = require('primus');
//! const Socket = Primus.createSocket({ transformer: 'websockets' });
//! const client = new Socket('http://127.0.0.1:8080');
//! client.on('data', (data) => console.log('echo:', data));
//! client.write({ hello: 'world' });
//! ```

use primus::Server;
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".to_owned());

    let server = Server::builder()
        .on_connection(|spark| async move {
            tracing::info!(id = spark.id(), address = ?spark.address().ip, "connected");
        })
        .on_data(|spark, message| async move {
            let Ok(value) = message.decode::<Value>() else {
                // A binary frame: send the bytes back as they came.
                let _ = spark.write_frame(message.into_frame());
                return;
            };
            let result: Result<(), primus::BoxError> = match value.get("broadcast") {
                Some(payload) => spark.server().write(payload).map(drop).map_err(Into::into),
                None => spark.write(&value).map_err(Into::into),
            };
            if let Err(error) = result {
                tracing::warn!(%error, "could not answer");
            }
        })
        .on_disconnection(|spark| async move {
            tracing::info!(id = spark.id(), "disconnected");
        })
        .build()?;

    let shutdown = server.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("shutting down");
            shutdown.destroy(primus::Destroy::default()).await;
        }
    });
    tracing::info!("talk to me at http://{address} (Primus pathname /primus)");
    server.listen(address).await?;
    Ok(())
}
