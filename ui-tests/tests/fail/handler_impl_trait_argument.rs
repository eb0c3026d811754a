extern crate realtime as primus;

#[primus::on("connection")]
async fn hello(spark: impl Send) {
    let _ = spark;
}

fn main() {}
