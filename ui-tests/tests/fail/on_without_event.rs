extern crate realtime as primus;

#[primus::on()]
async fn hello() {}

fn main() {}
