extern crate realtime as primus;

use primus::server::middleware::{Outcome, Request};

#[primus::middleware(name = "check")]
fn check(request: Request) -> Outcome {
    let _ = request;
    Outcome::Continue
}

fn main() {}
