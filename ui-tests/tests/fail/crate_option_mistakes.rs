extern crate realtime as primus;

// `#[primus(..)]` on the item itself takes only `crate = "path"`.
#[primus::event]
#[primus(crate = "realtime", rename = "x")]
pub enum ToServer {
    #[primus(crate = "realtime")]
    Say(String),
}

#[primus::on("connection")]
#[primus(crate = "not a path", crat = "realtime")]
async fn hello() {}

fn main() {}
