extern crate realtime as primus;

use primus::Spark;

#[primus::on("connection")]
fn hello(spark: Spark) {
    let _ = spark;
}

fn main() {}
