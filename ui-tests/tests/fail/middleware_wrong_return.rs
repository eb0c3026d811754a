extern crate realtime as primus;

use primus::server::middleware::Request;

#[primus::middleware]
async fn check(request: Request) -> bool {
    request.upgrade
}

fn main() {}
