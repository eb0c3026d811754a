//! Which transport each request of a client used, seen from the server: a
//! middleware layer that records engine.io's `transport` query parameter,
//! or else the last path segment (SockJS' `websocket`, `xhr`,
//! `xhr_streaming`, `xhr_send`, `eventsource`).

use crate::logs::Log;
use primus::middleware::{HttpRequest, Outcome, Runs};
use primus::ServerBuilder;

/// The name of the recording layer.
pub const LAYER: &str = "record-transport";

/// Where the layer runs: the requests a transformer claims.
pub const RUNS: Runs = Runs {
    http: false,
    upgrade: true,
};

/// The layer's function: pushes each request's transport into `log`.
/// Add it with `builder.middleware(LAYER, RUNS, recorder(log))` or
/// `server.middleware().use_layer(LAYER, RUNS, recorder(log))`.
pub fn recorder(log: Log) -> impl Fn(HttpRequest) -> std::future::Ready<Outcome> + Send + Sync + 'static {
    move |request: HttpRequest| {
        let transport = match request.query.get("transport") {
            Some(transport) => transport.to_owned(),
            None => request
                .uri
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        log.push(transport);
        std::future::ready(Outcome::Continue)
    }
}

/// `builder` with the recording layer; the log it fills.
pub fn recording(builder: ServerBuilder) -> (ServerBuilder, Log) {
    let log = Log::default();
    (builder.middleware(LAYER, RUNS, recorder(log.clone())), log)
}

/// The distinct transports in `log`, sorted.
pub fn used(log: &Log) -> Vec<String> {
    let mut used = log.entries();
    used.sort();
    used.dedup();
    used
}
