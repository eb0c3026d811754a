//! # primus-bench
//!
//! The benchmark suite of primus-rs. It runs our server (typed-event echo
//! and raw-data echo), a minimal tokio-tungstenite echo server (the limit
//! for our stack) and the real Node.js Primus 8 server (the anchor users
//! would otherwise pick) **in the same run**, drives each with the same Rust
//! load generator over loopback, and reports ratios: on a small, shared
//! machine the absolute numbers move from run to run, the ratios much less.
//!
//! ```text
//! cargo run --release -p primus-bench -- all            # everything, writes BENCHMARKS.md
//! cargo run --release -p primus-bench -- all --quick    # small counts, for development
//! ```
//!
//! The data path of a run: [`servers`] starts a server process,
//! [`loadgen`] opens connections and drives them (speaking the wire through
//! [`wire`]), [`procfs`] reads the server's CPU time and memory,
//! [`scenarios`] measures one run, [`suite`] runs the chosen scenarios and collects
//! [`scenarios::Results`],
//! [`report`] writes the Markdown with [`machine`]'s description and the
//! [`micro`]benchmarks. [`soak`] is the separate soak scenario (churn,
//! broadcasts and bad input; resources back to baseline afterwards).
//! [`transport_scenarios`] runs echo and broadcast over the engine.io and
//! SockJS transports, speaking them through [`transport`] (and [`http`] for
//! the polling ones).

pub mod cluster;
pub mod compression;
pub mod fdlimit;
pub mod http;
pub mod latency;
pub mod loadgen;
pub mod machine;
pub mod micro;
pub mod procfs;
pub mod report;
pub mod scenarios;
pub mod servers;
pub mod soak;
pub mod suite;
pub mod transport;
pub mod transport_scenarios;
pub mod wire;
