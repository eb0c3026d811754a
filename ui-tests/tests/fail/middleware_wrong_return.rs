extern crate realtime as primus;

use primus::middleware::HttpRequest;

#[primus::middleware]
async fn check(request: HttpRequest) -> bool {
    request.upgrade
}

fn main() {}
