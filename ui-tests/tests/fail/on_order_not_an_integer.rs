extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Say, order = "x")]
async fn say() {}

fn main() {}
