extern crate realtime as primus;

#[derive(serde::Deserialize)]
pub struct Opaque;

#[primus::event]
pub enum ToServer {
    Blob(Opaque),
}

fn main() {}
