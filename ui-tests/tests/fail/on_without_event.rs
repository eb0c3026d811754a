#[primus::on()]
async fn hello() {}

fn main() {}
