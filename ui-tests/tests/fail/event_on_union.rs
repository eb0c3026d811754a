extern crate realtime as primus;

#[primus::event]
pub union Bits {
    int: u32,
    float: f32,
}

fn main() {}
