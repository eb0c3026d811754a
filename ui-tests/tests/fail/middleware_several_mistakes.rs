extern crate realtime as primus;

use primus::server::middleware::{Outcome, Request};

#[primus::middleware(nme = "check", http = false, upgrade = false, order = "first")]
fn check(request: Request, extra: u8) -> Outcome {
    let _ = (request, extra);
    Outcome::Continue
}

fn main() {}
