extern crate realtime as primus;

#[derive(Default)]
struct Helper;

#[primus::plugin]
impl Helper {
    fn name(&self) -> &'static str {
        "helper"
    }
}

fn main() {}
