//! The echo-contract server as a process of its own, so tests can kill it
//! (SIGKILL, a real crash) and start it again on the same port.
//!
//! `contract-server [--port N] [--ping-interval MS]` prints `{"port":N}` once
//! listening on 127.0.0.1 and exits when its stdin ends.

use primus_tests::contract;
use primus_tests::logs::Log;
use std::time::Duration;
use tokio::io::AsyncReadExt;

fn argument(name: &str) -> Option<u64> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()?.parse().ok()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = argument("--port").unwrap_or(0) as u16;
    let ping = argument("--ping-interval").map(Duration::from_millis);
    let server = contract::builder(&Log::default()).ping_interval(ping).build()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{{\"port\":{}}}", listener.local_addr()?.port());
    let serving = server.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    // Run until stdin closes (the test process went away).
    let mut sink = [0u8; 64];
    while tokio::io::stdin().read(&mut sink).await.unwrap_or(0) > 0 {}
    Ok(())
}
