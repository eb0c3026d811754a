extern crate realtime as primus;

use primus::middleware::Outcome;

#[primus::middleware(name = "check")]
async fn check(request: String) -> Outcome {
    let _ = request;
    Outcome::Continue
}

fn main() {}
