//! Metrics a server reports through the `metrics` facade, read back as
//! Prometheus text: bytes out, authorization refusals, queue-full (slow
//! consumer) disconnects and disconnects by reason other than the client's.
//! (A test binary of its own with a single test: the `metrics` recorder is
//! global to the process, so the counts are exact.)

use metrics_exporter_prometheus::PrometheusHandle;
use primus::middleware::HttpRequest;
use primus::{AuthError, Server};
use primus_client::Client;
use primus_tests::events::next_value;
use primus_tests::raw;
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// The value of the sample whose line starts with `sample` (name and
/// labels, exactly as rendered), if there is one.
fn sample(text: &str, sample: &str) -> Option<f64> {
    text.lines()
        .find(|line| {
            line.strip_prefix(sample)
                .is_some_and(|rest| rest.starts_with(' '))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

/// Reads a raw socket until the server closes it (or it ends), then drops
/// it (the server need not wait for the TCP connection to end).
async fn until_closed(mut socket: raw::Socket) {
    loop {
        match raw::next_any(&mut socket, WAIT).await {
            Some(Message::Close(_)) | None => return,
            Some(_) => {}
        }
    }
}

/// Waits until `name` (with its labels) is `expected`; panics with the
/// last rendering after [`WAIT`].
async fn counted(metrics: &PrometheusHandle, name: &str, expected: f64) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = metrics.render();
        if sample(&text, name) == Some(expected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {name} to be {expected}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_out_refusals_slow_consumers_and_disconnect_reasons_are_counted() {
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .expect("the only recorder of this test binary");
    let server = Server::builder()
        .ping_interval(None)
        .send_queue_bytes(4096)
        .authorize(|request: HttpRequest| async move {
            match request.query.get("token") {
                Some("bad") => Err(AuthError::new("bad token")),
                _ => Ok(()),
            }
        })
        .on_data(|spark, message| async move {
            match message.decode::<String>().as_deref() {
                // 100 writes of ~100 bytes without yielding: past the 4 KiB queue.
                Ok("burst") => {
                    let chunk = "x".repeat(100);
                    for _ in 0..100 {
                        if spark.write(&chunk).is_err() {
                            break;
                        }
                    }
                }
                Ok("bye") => {
                    spark.end();
                }
                Ok(text) => {
                    let _ = spark.write(&text);
                }
                Err(_) => {}
            }
        })
        .build()
        .expect("build");
    let running = serve(server).await;
    // Bytes out: a 1,000-character echo is at least 1,000 bytes.
    let (client, mut events) = Client::builder(running.url())
        .ping_timeout(None)
        .connect()
        .expect("connect");
    let long = "e".repeat(1000);
    client.write(&long).expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!(long));
    let text = metrics.render();
    let bytes_out =
        sample(&text, "primus_bytes_out_total").unwrap_or_else(|| panic!("no bytes out in:\n{text}"));
    assert!(bytes_out >= 1000.0, "{bytes_out} bytes out:\n{text}");

    // An authorization refusal.
    match raw::try_connect(&format!("{}?token=bad", running.ws_url()), &[]).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("expected a refusal, got {other:?}"),
    }
    counted(&metrics, "primus_auth_refusals_total", 1.0).await;

    // A queue-full disconnect: counted as a spark error and as the reason.
    let mut slow = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut slow, "\"burst\"").await;
    until_closed(slow).await;
    counted(&metrics, "primus_spark_errors_total{kind=\"slow_consumer\"}", 1.0).await;
    counted(
        &metrics,
        "primus_disconnects_total{reason=\"slow_consumer\"}",
        1.0,
    )
    .await;

    // The server ending a spark is `ended`, not `client`.
    let mut ended = raw::connect(&running.ws_url(), &[]).await;
    raw::send_text(&mut ended, "\"bye\"").await;
    until_closed(ended).await;
    counted(&metrics, "primus_disconnects_total{reason=\"ended\"}", 1.0).await;

    // And the client leaving is `client`.
    client.end();
    counted(&metrics, "primus_disconnects_total{reason=\"client\"}", 1.0).await;
    let text = metrics.render();
    assert_eq!(
        sample(&text, "primus_auth_refusals_total"),
        Some(1.0),
        "one refusal only:\n{text}"
    );
    assert_eq!(
        sample(&text, "primus_connects_total{transformer=\"websockets\"}"),
        Some(3.0),
        "the refused upgrade opened no connection:\n{text}"
    );
}
