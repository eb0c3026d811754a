extern crate realtime as primus;

use primus::Spark;
use std::rc::Rc;

#[primus::event]
pub enum ToServer {
    Say(String),
}

#[primus::on(ToServer::Say)]
async fn say(spark: Spark) {
    let counter = Rc::new(1);
    tokio::task::yield_now().await;
    let _ = (spark, counter);
}

fn main() {}
