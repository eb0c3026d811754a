extern crate realtime as primus;

#[primus::on("connection", ordr = 1)]
async fn hello() {}

fn main() {}
