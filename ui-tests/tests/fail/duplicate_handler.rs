extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Say)]
async fn say() {}

#[primus::on(ToServer::Say)]
async fn say_again() {}

fn main() {}
