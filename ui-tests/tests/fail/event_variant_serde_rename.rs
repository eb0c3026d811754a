extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    #[serde(rename = "speak")]
    Say(String),
}

fn main() {}
