extern crate realtime as primus;

use primus_client::Client;

// Client handlers take typed events only, and have no `order`: each typed
// event has one client handler.
#[primus_client::on("connection", order = 1)]
fn connected(client: Client) {
    let _ = client;
}

fn main() {}
