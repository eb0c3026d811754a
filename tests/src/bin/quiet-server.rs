//! A server that installs no `tracing` subscriber, as an app that never set
//! up logging: its connection handler fails for every client, and the test
//! reads the server's stderr for the failure.
//!
//! `quiet-server` prints `{"port":N}` once listening on 127.0.0.1 and exits
//! when its stdin ends.

use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = primus::Server::builder()
        .on_connection(|_spark| async { Err::<(), _>("the database at 10.0.0.7 refused the login") })
        .build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{{\"port\":{}}}", listener.local_addr()?.port());
    let serving = server.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    let mut sink = [0u8; 64];
    while tokio::io::stdin().read(&mut sink).await.unwrap_or(0) > 0 {}
    Ok(())
}
