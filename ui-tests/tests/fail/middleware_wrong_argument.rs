extern crate realtime as primus;

use primus::server::middleware::Outcome;

#[primus::middleware(name = "check")]
async fn check(request: String) -> Outcome {
    let _ = request;
    Outcome::Continue
}

fn main() {}
