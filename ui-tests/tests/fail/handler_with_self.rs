extern crate realtime as primus;

struct Chat;

impl Chat {
    #[primus::on("connection")]
    async fn hello(&self) {}
}

fn main() {}
