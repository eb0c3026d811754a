// A crate path that names no crate is reported once, on the path (the
// compiler's bare-path suggestion is accepted by `crate = ..` too).
#[realtime::on("connection")]
#[primus(crate = "realtme")]
async fn hello() {}

fn main() {}
