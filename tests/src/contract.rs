//! The echo contract (`tests/interop/README.md`), which the Rust server here
//! and `tests/interop/server.js` both follow so the same scenarios run
//! against either: data is echoed (binary frames as binary), `{"cmd":"id"}`
//! answers the spark id, `end` / `end-reconnect` end the spark, `broadcast`
//! writes to every spark, and `?auth=fail` is refused with 401 and a Basic
//! challenge. Errors the server reports are recorded into a [`Log`].
//!
//! In-process: [`builder`], [`server`], [`server_with`]; as a process of
//! its own (killed with SIGKILL, frozen with SIGSTOP, restarted on the same
//! port): [`start_process`] runs the `contract-server` binary of this crate.

use crate::logs::Log;
use crate::process::ServerProcess;
use crate::server::{serve_with_errors, Running};
use primus::server::Origins;
use primus::{AuthError, Cors, Message, Server, ServerBuilder, Spark};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::process::Command;

/// A builder for the echo-contract server whose `error` handler records
/// into `errors`; configure it further before `build`.
///
/// Like `tests/interop/server.js` (Node Primus with its defaults), it
/// accepts every origin and lets preflights be cached for 30 days: both are
/// explicit opt-outs of this crate's secure defaults, so that the two
/// servers answer alike.
pub fn builder(errors: &Log) -> ServerBuilder {
    builder_answering(errors, |_, _| false)
}

/// A test's own answer to a message, tried before the contract's: true
/// when it handled the message.
pub type Answer = fn(&Spark, &Message) -> bool;

/// [`builder`], with `answer` tried first on every message.
pub fn builder_answering(errors: &Log, answer: Answer) -> ServerBuilder {
    let errors = errors.clone();
    Server::builder()
        .origins(Origins::any())
        .cors(Cors::default().max_age(Duration::from_secs(30 * 24 * 60 * 60)))
        .authorize(|request| async move {
            match request.query.get("auth") {
                Some("fail") => {
                    Err(AuthError::new("Authentication required")
                        .authenticate("Basic realm=\"primus-rs-test\""))
                }
                _ => Ok(()),
            }
        })
        .on_data(move |spark, message| async move {
            if !answer(&spark, &message) {
                reply(&spark, message)
            }
        })
        .on_error(move |_spark, error| errors.push(error.to_string()))
}

/// The contract's answer to one message: binary frames (which the JSON
/// parser passes on undecoded) are echoed as they are, commands are obeyed,
/// anything else is echoed.
pub fn reply(spark: &Spark, message: Message) {
    let Ok(value) = message.decode::<Value>() else {
        let _ = spark.write_frame(message.into_frame());
        return;
    };
    match value.get("cmd").and_then(Value::as_str) {
        Some("id") => drop(spark.write(&json!({ "id": spark.id() }))),
        Some("end") => drop(spark.end()),
        Some("end-reconnect") => drop(spark.end_reconnect()),
        Some("broadcast") => drop(spark.server().write(value.get("data").unwrap_or(&Value::Null))),
        _ => drop(spark.write(&value)),
    }
}

/// The echo-contract server with the given heartbeat interval, served.
pub async fn server(ping_interval: Option<Duration>) -> Running {
    server_with(|builder| builder.ping_interval(ping_interval)).await
}

/// The echo-contract server after `configure`, served.
pub async fn server_with(configure: impl FnOnce(ServerBuilder) -> ServerBuilder) -> Running {
    let errors = Log::default();
    let server = configure(builder(&errors))
        .build()
        .expect("build the contract server");
    serve_with_errors(server, errors).await
}

/// The echo-contract server with `answer` tried first, after `configure`,
/// served.
pub async fn server_answering(
    configure: impl FnOnce(ServerBuilder) -> ServerBuilder,
    answer: Answer,
) -> Running {
    let errors = Log::default();
    let server = configure(builder_answering(&errors, answer))
        .build()
        .expect("build the contract server");
    serve_with_errors(server, errors).await
}

/// Runs `scenario` of the real Node client made with `parser` against the
/// echo-contract server with that parser (and `answer` tried first, and the
/// heartbeat every `ping_interval_ms`); panics if the server saw an error.
/// Returns the scenario's summary.
pub async fn node_parser_scenario<P: primus::parser::Parser>(
    parser: P,
    answer: Answer,
    scenario: &str,
    ping_interval_ms: Option<u64>,
) -> Value {
    let name = parser.name();
    let running = server_answering(
        |builder| {
            builder
                .parser(parser)
                .ping_interval(ping_interval_ms.map(Duration::from_millis))
        },
        answer,
    )
    .await;
    let summary = crate::node::parser_scenario(&running.url(), name, scenario, ping_interval_ms).await;
    assert!(
        running.errors.entries().is_empty(),
        "{:?}",
        running.errors.entries()
    );
    summary
}

/// The echo-contract server as a process: `program` is the path of the
/// `contract-server` binary of this crate, which integration tests get as
/// `env!("CARGO_BIN_EXE_contract-server")`. Port 0 picks a free one.
pub async fn start_process(program: &str, port: u16, ping_interval_ms: Option<u64>) -> ServerProcess {
    let mut command = Command::new(program);
    command.args(["--port", &port.to_string()]);
    if let Some(ms) = ping_interval_ms {
        command.args(["--ping-interval", &ms.to_string()]);
    }
    ServerProcess::start(command).await
}
