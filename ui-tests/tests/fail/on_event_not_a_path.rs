extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(Say)]
async fn say() {}

fn main() {}
