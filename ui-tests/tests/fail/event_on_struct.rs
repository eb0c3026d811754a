#[primus::event]
pub struct Say {
    text: String,
}

fn main() {}
