extern crate realtime as primus;

use primus::Spark;

#[primus::on("conection")]
async fn hello(spark: Spark) {
    let _ = spark;
}

fn main() {}
