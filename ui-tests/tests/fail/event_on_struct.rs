extern crate realtime as primus;

#[primus::event]
pub struct Say {
    text: String,
}

fn main() {}
