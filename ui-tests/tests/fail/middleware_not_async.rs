extern crate realtime as primus;

use primus::middleware::{HttpRequest, Outcome};

#[primus::middleware(name = "check")]
fn check(request: HttpRequest) -> Outcome {
    let _ = request;
    Outcome::Continue
}

fn main() {}
