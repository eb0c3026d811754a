extern crate realtime as primus;

use primus::transform::Flow;

#[tokio::main]
async fn main() {
    let _ = primus::Server::builder()
        .transform_incoming(|_spark, packet: &mut String| {
            packet.push('!');
            Ok(Flow::Continue)
        })
        .build();
}
