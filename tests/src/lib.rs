//! Shared support for the integration tests in `tests/tests/*.rs`, split by
//! concern. Every wait in here is bounded: a helper that waits takes a
//! `Duration` (usually [`wait::WAIT`]) or has a documented limit, and panics
//! with what it was waiting for when the limit passes.
//!
//! | module | concern |
//! |---|---|
//! | [`logs`] | the tracing subscriber of a test binary, and [`logs::Log`], a list of strings tests record into from handlers |
//! | [`wait`] | the common bound [`wait::WAIT`] and polling a condition until it holds |
//! | [`server`] | serving a primus [`primus::Server`] (or an axum app) in-process on an ephemeral port |
//! | [`contract`] | the echo-contract server of `tests/interop/README.md`, in-process or as the `contract-server` binary |
//! | [`process`] | child processes: running one to its JSON summary, a server process that prints its port, `npm ci` |
//! | [`node`] | the Node.js harness in `tests/interop`: the real npm `primus@8.0.9` client scenarios and server |
//! | [`browser`] | the headless-Chromium harness in `tests/browser`: Chromium, its npm modules, running and stepping scripts |
//! | [`raw`] | speaking the wire by hand: a raw WebSocket client and raw HTTP/1.1 over TCP |
//! | [`redis`] | a real `redis-server` on a free port, killed and restarted at will |
//! | [`events`] | waiting on a `primus-client` event stream: the next event, message or value, expected sequences, reconnects |
//! | [`memory`] | the resident memory of the test process |
//! | [`counting_proxy`] | a TCP proxy that counts the bytes of the WebSocket connections through it |
//! | [`proxy`] | a TCP proxy that loses what the server sends, cuts connections without a close, and refuses new ones |
//! | [`tls`] | certificates made in the test (an authority, server and client certificates) and serving over TLS |
//! | [`transports`] | recording which transport each request of a client used |
//!
//! Interop and browser tests never pass by being skipped: when Node.js, npm
//! Chromium or redis-server is missing they panic with what to install.

pub mod browser;
pub mod contract;
pub mod counting_proxy;
pub mod events;
pub mod logs;
pub mod memory;
pub mod node;
pub mod process;
pub mod proxy;
pub mod raw;
pub mod redis;
pub mod server;
pub mod tls;
pub mod transports;
pub mod wait;
