extern crate realtime as primus;

use primus::Payload;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Sya)]
async fn say(Payload(text): Payload<String>) {
    let _ = text;
}

fn main() {}
