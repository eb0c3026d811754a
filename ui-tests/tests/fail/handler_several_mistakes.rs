extern crate realtime as primus;

use primus::Spark;

// Every mistake of the handler is reported in one build, and the function is
// kept: nothing else (such as an unused import) is reported.
#[primus::on("connection", ordr = 1)]
fn hello<T>(spark: Spark, extra: impl Clone) {
    let _ = (spark, extra);
}

fn main() {}
