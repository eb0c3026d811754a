//! A terminal chat: `cargo run -p chat-client -- --name ada [--url http://127.0.0.1:8080] [--ca ca.pem]`.
//!
//! Type a line to say it, `/who` to list the room, `/quit` to leave.

use chat_events::{ChatClient, ChatServer, ChatServerJoined, ChatServerLeft, ChatServerMessage};
use primus_client::{Client, ConnectionEvent, Payload};
use tokio::io::{AsyncBufReadExt, BufReader};

#[primus_client::on(ChatServer::Message)]
async fn message(Payload(ChatServerMessage { from, text }): Payload<ChatServerMessage>) {
    println!("<{from}> {text}");
}

#[primus_client::on(ChatServer::Joined)]
async fn joined(Payload(ChatServerJoined { name }): Payload<ChatServerJoined>) {
    println!("* {name} joined");
}

#[primus_client::on(ChatServer::Left)]
async fn left(Payload(ChatServerLeft { name }): Payload<ChatServerLeft>) {
    println!("* {name} left");
}

#[primus_client::on(ChatServer::System)]
async fn system(Payload(text): Payload<String>) {
    println!("! {text}");
}

fn argument(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = argument("--name").unwrap_or_else(|| "guest".to_owned());
    let url = argument("--url").unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let mut builder = Client::builder(&url).handlers_from_registry();
    // A server whose certificate comes from a private authority (or is
    // self-signed): `--ca ca.pem` trusts it, besides the public roots.
    if let Some(ca) = argument("--ca") {
        let tls = primus_client::ClientTls::webpki_roots().add_root_pem(&std::fs::read(&ca)?)?;
        builder = builder.tls(tls);
    }
    let (client, mut events) = builder.connect()?;

    let members = client.request(ChatClient::join(name.clone())).await?;
    println!("* you are {name}; here: {}", members.join(", "));

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => match line?.as_deref().map(str::trim) {
                None | Some("/quit") => break,
                Some("") => {}
                Some("/who") => println!("* here: {}", client.request(ChatClient::who()).await?.join(", ")),
                Some(text) => client.send(&ChatClient::Say(text.to_owned()))?,
            },
            event = events.next() => match event {
                Some(ConnectionEvent::Error(error)) => eprintln!("! {error}"),
                Some(ConnectionEvent::End) | None => {
                    println!("* disconnected");
                    return Ok(());
                }
                _ => {}
            },
        }
    }
    client.end();
    // Let the close handshake finish before the process exits.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), async {
        while !matches!(events.next().await, Some(ConnectionEvent::End) | None) {}
    })
    .await;
    Ok(())
}
