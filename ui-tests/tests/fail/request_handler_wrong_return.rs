extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    #[primus(reply = String)]
    Name,
}

#[primus::on(ToServer::Name)]
async fn name() -> u32 {
    7
}

fn main() {}
