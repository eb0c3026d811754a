//! primus renamed in `Cargo.toml` (`realtime = { package = "primus", .. }`)
//! and used under that name only: unlike the other cases, nothing here is
//! called `primus`. The macros find `realtime` in the manifest by
//! themselves; `#[primus(crate = "...")]` under the macro attribute gives the
//! path explicitly. Both kinds register and work side by side.

use realtime::middleware::{HttpRequest, Outcome};
use realtime::{Event, Payload, Plugin, Server, Spark};

// Found in the manifest.
#[realtime::event]
#[derive(Debug, Clone, PartialEq)]
pub enum Detected {
    Say(String),
    Join { room: String },
    #[primus(reply = u32)]
    Count,
}

// Given explicitly.
#[realtime::event]
#[primus(crate = "realtime")]
#[derive(Debug, Clone, PartialEq)]
pub enum Explicit {
    Ping,
    #[primus(reply = String)]
    Echo(String),
}

#[realtime::on(Detected::Say)]
async fn say(spark: Spark, Payload(text): Payload<String>) {
    let _ = spark.write(&Explicit::Echo(text));
}

#[realtime::on(Detected::Join)]
async fn join(Payload(DetectedJoin { room }): Payload<DetectedJoin>) -> Result<(), String> {
    room.is_empty().then_some(()).ok_or(room)
}

#[realtime::on(Detected::Count)]
async fn count() -> u32 {
    1
}

#[realtime::on("connection")]
async fn hello(spark: Spark) {
    let _ = spark.write(&Explicit::Ping);
}

#[realtime::on(Explicit::Echo)]
#[primus(crate = "realtime")]
async fn echo(Payload(text): Payload<String>) -> String {
    text
}

#[realtime::on(Explicit::Ping, order = 1)]
#[primus(crate = "::realtime")]
async fn ping(_server: Server) {}

#[realtime::middleware(name = "detected")]
async fn detected(request: HttpRequest) -> Outcome {
    let _ = request;
    Outcome::Continue
}

// A bare path works too.
#[realtime::middleware(name = "explicit", http = false)]
#[primus(crate = realtime)]
async fn explicit(request: HttpRequest) -> Outcome {
    let _ = request;
    Outcome::Continue
}

#[derive(Default)]
struct DetectedPlugin;

#[realtime::plugin]
impl Plugin for DetectedPlugin {
    fn name(&self) -> &'static str {
        "detected"
    }

    fn browser(&self) -> Option<&'static str> {
        None
    }
}

#[derive(Default)]
struct ExplicitPlugin;

#[realtime::plugin]
#[primus(crate = "realtime")]
impl Plugin for ExplicitPlugin {
    fn name(&self) -> &'static str {
        "explicit"
    }

    fn browser(&self) -> Option<&'static str> {
        None
    }
}

#[tokio::main]
async fn main() {
    let mut events: Vec<_> = realtime::registry::events().iter().map(|e| e.type_name).collect();
    events.sort_unstable();
    assert_eq!(events, ["Detected", "Explicit"]);

    let mut handlers: Vec<_> = realtime::registry::handlers().iter().map(|h| h.function).collect();
    handlers.sort_unstable();
    assert_eq!(handlers, ["count", "echo", "hello", "join", "ping", "say"]);

    // The wire shape and the request constructors are the usual ones.
    let wire = serde_json::to_value(Explicit::Echo("hi".to_owned())).expect("serialize");
    assert_eq!(wire, serde_json::json!({ "event": "echo", "data": "hi" }));
    assert_eq!(Detected::Count.event_name(), "count");
    let _request = Detected::count();

    let server = Server::builder().handlers_from_registry().build().expect("build");
    assert_eq!(server.plugins(), ["detected", "explicit"]);
}
