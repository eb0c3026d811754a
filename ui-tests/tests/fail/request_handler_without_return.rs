extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    #[primus(reply = Vec<String>)]
    ListRooms,
}

#[primus::on(ToServer::ListRooms)]
async fn list_rooms() {}

fn main() {}
