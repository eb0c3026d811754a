extern crate realtime as primus;

use primus::Spark;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Say)]
async fn say(spark: Spark, count: u32) {
    let _ = (spark, count);
}

fn main() {}
