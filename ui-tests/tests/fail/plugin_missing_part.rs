extern crate realtime as primus;

use primus::Plugin;

#[derive(Default)]
struct Nothing;

#[primus::plugin]
impl Plugin for Nothing {
    fn name(&self) -> &'static str {
        "nothing"
    }
}

fn main() {}
