//! primus used only through primus-client's re-exports
//! (`primus_client::primus`), as by a crate whose `Cargo.toml` names
//! `primus-client` alone.
//!
//! How this is tested: trybuild builds every case of this package from one
//! manifest, and that manifest also has primus (renamed `realtime`, so no
//! `primus` is in scope here). The macros therefore still find primus as
//! `::realtime` for the enum without an attribute. That a client-only
//! manifest gives `::primus_client::primus` is checked by primus-macros'
//! unit tests against real manifests (`glue::tests`); this case checks that
//! the macros work reached through `primus_client`, and that generated code
//! compiles through that exact path, given with `#[primus(crate = "...")]`.

use primus_client::{Client, Payload};

#[primus_client::primus::event]
#[derive(Debug, Clone, PartialEq)]
pub enum FromServer {
    Said { who: String, text: String },
    Tick(u64),
}

// The path a client-only crate gets.
#[primus_client::primus::event]
#[primus(crate = "primus_client::primus")]
#[derive(Debug, Clone, PartialEq)]
pub enum ToServer {
    Say(String),
    #[primus(reply = Vec<String>)]
    ListRooms,
}

#[primus_client::on(FromServer::Said)]
async fn said(client: Client, Payload(said): Payload<FromServerSaid>) {
    let _ = client.send(&ToServer::Say(format!("{}: {}", said.who, said.text)));
}

#[primus_client::on(FromServer::Tick)]
#[primus(crate = "primus_client")]
async fn tick(Payload(tick): Payload<u64>) -> Result<(), String> {
    (tick > 0).then_some(()).ok_or_else(|| "tick 0".to_owned())
}

#[tokio::main]
async fn main() {
    let _request: primus_client::primus::Request<ToServer, Vec<String>> = ToServer::list_rooms();
    // Connecting collects the registered handlers first: two, one per event.
    let connected = Client::builder("http://127.0.0.1:9")
        .handlers_from_registry()
        .connect();
    assert!(connected.is_ok(), "the client handlers are registered");
}
