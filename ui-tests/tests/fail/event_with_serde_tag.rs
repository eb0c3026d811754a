extern crate realtime as primus;

#[primus::event]
#[serde(tag = "t")]
pub enum ToServer {
    Say(String),
}

fn main() {}
