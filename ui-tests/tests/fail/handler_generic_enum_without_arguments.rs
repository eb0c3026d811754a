extern crate realtime as primus;

use primus::Payload;

#[primus::event]
pub enum Wrapper<T> {
    Item(T),
}

#[primus::on(Wrapper::Item)]
async fn item(Payload(value): Payload<u32>) {
    let _ = value;
}

fn main() {}
