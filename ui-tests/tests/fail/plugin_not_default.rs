extern crate realtime as primus;

use primus::PluginSetup;
use primus::Plugin;

struct NeedsConfig {
    limit: usize,
}

#[primus::plugin]
impl Plugin for NeedsConfig {
    fn name(&self) -> &'static str {
        "needs-config"
    }

    fn server(&self, setup: &mut PluginSetup<'_>) {
        let _ = (setup, self.limit);
    }
}

fn main() {}
