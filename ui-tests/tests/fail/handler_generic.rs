extern crate realtime as primus;

use primus::State;

#[primus::on("connection")]
async fn hello<T: Clone + Send + Sync + 'static>(State(value): State<T>) {
    let _ = value;
}

fn main() {}
