extern crate realtime as primus;

use primus::PluginSetup;
use primus::transform::{Flow, TransformError};
use primus::Plugin;

#[derive(Default)]
struct Audit;

#[primus::plugin]
impl Plugin for Audit {
    fn name(&self) -> &'static str {
        "audit"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        setup
            .transform_incoming(|_spark, _packet| Ok(Flow::Continue))
            .transform_outgoing_async(|_spark, packet| async move { Ok(Some(packet)) })
            .on_connection(|_spark| async {});
    }
}

#[derive(Default)]
struct BrowserOnly;

#[primus::plugin]
impl Plugin for BrowserOnly {
    fn name(&self) -> &'static str {
        "browser-only"
    }

    fn browser(&self) -> Option<&'static str> {
        Some("Primus.prototype.hello = function () { return 'hi'; };")
    }
}

#[tokio::main]
async fn main() {
    let server = primus::Server::builder()
        .plugin(primus::plugins::Rooms)
        .transform_incoming(|_spark, packet| {
            if packet.data.is_null() {
                return Err(TransformError::new("null is not allowed"));
            }
            Ok(Flow::Continue)
        })
        .transform_outgoing(|_spark, _packet| Ok(Flow::Drop))
        .build()
        .expect("build");
    assert_eq!(server.plugins(), ["rooms"]);
}
