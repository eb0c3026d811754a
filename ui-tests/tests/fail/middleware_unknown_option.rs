extern crate realtime as primus;

use primus::server::middleware::{Outcome, Request};

#[primus::middleware(nme = "check")]
async fn check(request: Request) -> Outcome {
    let _ = request;
    Outcome::Continue
}

fn main() {}
