extern crate realtime as primus;

use primus::Payload;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Say)]
async fn say(Payload(count): Payload<u32>) {
    let _ = count;
}

fn main() {}
