extern crate realtime as primus;

use primus::middleware::{HttpRequest, Outcome};

#[primus::middleware(nme = "check", http = false, upgrade = false, order = "first")]
fn check(request: HttpRequest, extra: u8) -> Outcome {
    let _ = (request, extra);
    Outcome::Continue
}

fn main() {}
