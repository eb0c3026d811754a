extern crate realtime as primus;

pub struct Opaque;

#[primus::event]
pub enum ToServer {
    Say(String),
    Blob(Opaque),
}

fn main() {}
