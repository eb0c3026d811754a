extern crate realtime as primus;

use primus::Payload;

#[primus::on("connection")]
async fn hello(Payload(text): Payload<String>) {
    let _ = text;
}

fn main() {}
