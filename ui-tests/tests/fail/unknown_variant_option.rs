extern crate realtime as primus;

#[primus::event]
pub enum ToServer {
    #[primus(rnme = "x")]
    Say(String),
}

fn main() {}
