extern crate realtime as primus;

#[primus::event]
#[derive(Debug, serde::Serialize)]
pub enum ToServer {
    Say(String),
}

fn main() {}
