//! What a hostile client can make the server log: bounded per connection,
//! and a request for an event without a handler is logged once per event
//! name (and answered at once). (A test binary of its own: it installs its
//! own log subscriber.)

use primus::Server;
use primus_tests::logs::CapturedLogs;
use primus_tests::raw;
use primus_tests::server::serve;
use primus_tests::wait::{until, WAIT};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// 1,000 invalid frames: about 11 WARN lines (10 errors and the notice that
/// the rest go to debug). Before: one WARN line per frame, for ever.
#[tokio::test(flavor = "current_thread")]
async fn warnings_of_one_connection_are_rate_limited() {
    let (captured, _guard) = CapturedLogs::on_this_thread(tracing_subscriber::filter::LevelFilter::WARN);
    let server = Server::builder()
        .ping_interval(None)
        .max_invalid_frames(1000)
        .build()
        .expect("build");
    let running = serve(server).await;
    let mut stream = raw::upgraded(running.addr, "/primus", &[]).await;
    let frame = raw::client_frame(0x81, b"\x1b[2J\nFAKE LOG LINE");
    let flood: Vec<u8> = (0..1000).flat_map(|_| frame.clone()).collect();
    tokio::time::timeout(WAIT, stream.write_all(&flood))
        .await
        .expect("written in time")
        .expect("written");
    until("the connection to be closed after 1,000", WAIT, || {
        running.server.connected() == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let log = captured.text();
    let warnings = log.lines().filter(|line| line.contains("WARN")).count();
    assert!(
        (10..=12).contains(&warnings),
        "{warnings} WARN lines:\n{}",
        &log[..log.len().min(2000)]
    );
}

/// An app that never set up logging still sees a failing handler: with no
/// subscriber at all, the server prints the spark's first errors to stderr
/// (the `quiet-server` process installs none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_handler_is_visible_without_a_log_subscriber() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_quiet-server"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start quiet-server");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::time::timeout(WAIT, tokio::io::BufReader::new(stdout).lines().next_line())
        .await
        .expect("the port line in time")
        .expect("read")
        .expect("a port line");
    let port: serde_json::Value = serde_json::from_str(&line).expect("json");
    let url = format!("ws://127.0.0.1:{}/primus/", port["port"]);
    let _socket = raw::try_connect(&url, &[]).await.expect("connect");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = tokio::io::BufReader::new(stderr).lines();
    let printed = tokio::time::timeout(WAIT, async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains("the database at 10.0.0.7 refused the login") {
                return line;
            }
        }
        String::new()
    })
    .await
    .expect("the failure on stderr in time");
    assert!(printed.starts_with("primus: spark "), "{printed}");
}

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Traced {
    #[primus(reply = u32)]
    Hello(u32),
}

#[primus::on(Traced::Hello)]
async fn hello(primus::Payload(n): primus::Payload<u32>) -> u32 {
    tracing::info!(n, "inside the handler");
    n + 1
}

/// A spark's handlers run inside its span (`spark{id=… address=…
/// transformer=…}`), and each typed event inside one of its own
/// (`event{name=… request=…}`), so every log line of a handler says whose
/// it is.
#[tokio::test(flavor = "current_thread")]
async fn handlers_log_inside_the_spark_and_event_spans() {
    let (captured, _guard) = CapturedLogs::on_this_thread(tracing_subscriber::filter::LevelFilter::INFO);
    let server = Server::builder().handlers_from_registry().build().expect("build");
    let running = serve(server).await;
    let (client, _events) = primus_client::Client::builder(running.url())
        .connect()
        .expect("connect");
    let answer = tokio::time::timeout(WAIT, client.request(Traced::hello(41)))
        .await
        .expect("in time")
        .expect("answer");
    assert_eq!(answer, 42);
    let spark = running
        .server
        .sparks()
        .first()
        .map(|s| s.id().to_owned())
        .expect("a spark");
    let log = captured.text();
    let line = log
        .lines()
        .find(|line| line.contains("inside the handler"))
        .unwrap_or_else(|| panic!("no handler line in:\n{log}"));
    assert!(line.contains(&format!("spark{{id=\"{spark}\"")), "{line}");
    assert!(line.contains("transformer=\"websockets\""), "{line}");
    assert!(line.contains("event{name=\"hello\" request=1}"), "{line}");
}

/// Events the client may ask for that no handler of this binary answers.
#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Unhandled {
    #[primus(reply = u32)]
    Ghost,
    #[primus(reply = u32)]
    Phantom,
}

/// Requests for events without a handler: each gets its error reply at once
/// (not the client's 10 s request timeout), and the server logs one WARN
/// line per event name however often it is asked for (the repeats go to
/// debug).
#[tokio::test(flavor = "current_thread")]
async fn a_request_without_a_handler_is_answered_at_once_and_logged_once_per_event() {
    let (captured, _guard) = CapturedLogs::on_this_thread(tracing_subscriber::filter::LevelFilter::WARN);
    let server = Server::builder().handlers_from_registry().build().expect("build");
    let running = serve(server).await;
    let (client, _events) = primus_client::Client::builder(running.url())
        .connect()
        .expect("connect");
    let asks = [
        ("ghost", Unhandled::ghost()),
        ("ghost", Unhandled::ghost()),
        ("phantom", Unhandled::phantom()),
        ("ghost", Unhandled::ghost()),
        ("phantom", Unhandled::phantom()),
    ];
    for (name, request) in asks {
        let started = tokio::time::Instant::now();
        let answer = tokio::time::timeout(WAIT, client.request(request))
            .await
            .expect("an answer in time");
        let took = started.elapsed();
        match answer {
            Err(primus_client::ClientError::Rejected(reason)) => {
                assert_eq!(reason, format!("no handler for event \"{name}\""))
            }
            other => panic!("expected a refusal for {name}, got {other:?}"),
        }
        assert!(took < Duration::from_secs(2), "the {name} refusal took {took:?}");
    }
    // The connection goes on: a handled event still works.
    let answer = tokio::time::timeout(WAIT, client.request(Traced::hello(1)))
        .await
        .expect("in time")
        .expect("answer");
    assert_eq!(answer, 2);
    let log = captured.text();
    let logged = |name: &str| {
        log.lines()
            .filter(|line| {
                line.contains("WARN")
                    && line.contains("a request for an event without a handler (logged once per event)")
                    && line.contains(&format!("event=\"{name}\""))
            })
            .count()
    };
    assert_eq!(logged("ghost"), 1, "{log}");
    assert_eq!(logged("phantom"), 1, "{log}");
    let warnings = log.lines().filter(|line| line.contains("WARN")).count();
    assert_eq!(warnings, 2, "only the two first requests warn:\n{log}");
    client.end();
}
