extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Say)]
async fn say() -> Vec<String> {
    vec![]
}

fn main() {}
