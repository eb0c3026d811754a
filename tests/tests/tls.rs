//! HTTPS and WSS with certificates made in the test: `Server::serve_tls`
//! with the Rust client (private authority, bearer-token header, client
//! certificates) and the real Primus Node client (websockets, and engine.io
//! polling over HTTPS); an untrusted certificate is refused with a clear,
//! final error; a client that never finishes its handshake is closed.

use primus::middleware::HttpRequest;
use primus::{AuthError, Server};
use primus_client::{Client, ClientError, ClientTls, ConnectionEvent};
use primus_tests::events::{expect_open, next_value, until_end};
use primus_tests::tls::{https_url, serve_tls, TestPki};
use primus_tests::wait::WAIT;
use primus_tests::{contract, node};
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The echo-contract server (`tests/interop/README.md`) over TLS.
async fn contract_over_tls(
    pki: &TestPki,
    configure: impl FnOnce(primus::ServerBuilder) -> primus::ServerBuilder,
) -> primus_tests::server::Running {
    let errors = primus_tests::logs::Log::default();
    let server = configure(contract::builder(&errors)).build().expect("build");
    serve_tls(server, pki.server_tls()).await
}

fn trusting(pki: &TestPki) -> ClientTls {
    ClientTls::no_roots()
        .add_root_pem(pki.ca_pem.as_bytes())
        .expect("the test CA is a valid root")
}

/// The first error event, skipping nothing else but pings.
async fn first_error(events: &mut primus_client::Events) -> ClientError {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("an error event in time")
            .expect("the event stream ended without an error");
        match event {
            ConnectionEvent::Error(error) => return error,
            ConnectionEvent::Open => panic!("the connection opened; it must be refused"),
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rust_client_talks_over_wss_to_a_server_with_a_private_authority() {
    let pki = TestPki::new("primus-rs test CA");
    let running = contract_over_tls(&pki, |builder| builder).await;
    let (client, mut events) = Client::builder(https_url(&running))
        .tls(trusting(&pki))
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    client
        .write(&json!({"over": "tls", "n": [1, 2, 3]}))
        .expect("write");
    assert_eq!(
        next_value(&mut events, WAIT).await,
        json!({"over": "tls", "n": [1, 2, 3]})
    );
    let id = client.id().await.expect("spark id over TLS");
    assert!(!id.is_empty());
    assert_eq!(running.server.connected(), 1);
    client.end();
    until_end(&mut events, WAIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_with_a_clear_error_and_no_retry() {
    let pki = TestPki::new("an authority the client does not know");
    let running = contract_over_tls(&pki, |builder| builder).await;
    // The default roots (webpki) do not include the test authority.
    let (_client, mut events) = Client::builder(https_url(&running)).connect().expect("connect");
    let error = first_error(&mut events).await;
    let text = error.to_string();
    assert!(matches!(error, ClientError::Tls(_)), "{error:?}");
    assert!(text.contains("certificate"), "{text}");
    assert!(
        text.contains("add_root_pem"),
        "the error says how to fix it: {text}"
    );
    // Final: the client ends instead of retrying a certificate for ever.
    let rest = until_end(&mut events, WAIT).await;
    assert!(!rest.contains(&"reconnect scheduled"), "{rest:?}");

    // The server is unharmed: a client that trusts the authority connects.
    let (good, mut good_events) = Client::builder(https_url(&running))
        .tls(trusting(&pki))
        .connect()
        .expect("connect");
    expect_open(&mut good_events, WAIT).await;
    good.end();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_header_travels_with_the_upgrade_not_the_url() {
    let pki = TestPki::new("primus-rs test CA");
    let server = Server::builder()
        .authorize(|request: HttpRequest| async move {
            let bearer = request.headers.get("authorization").and_then(|v| v.to_str().ok());
            match bearer {
                Some("Bearer s3cret") if !request.uri.to_string().contains("s3cret") => Ok(()),
                _ => Err(AuthError::new("a bearer token is required")),
            }
        })
        .on_data(|spark, message| async move { contract::reply(&spark, message) })
        .build()
        .expect("build");
    let running = serve_tls(server, pki.server_tls()).await;

    let (client, mut events) = Client::builder(https_url(&running))
        .tls(trusting(&pki))
        .header("Authorization", "Bearer s3cret")
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    client.write("let me in").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("let me in"));
    client.end();

    let (_refused, mut refused_events) = Client::builder(https_url(&running))
        .tls(trusting(&pki))
        .connect()
        .expect("connect");
    match first_error(&mut refused_events).await {
        ClientError::Refused { status, body } => {
            assert_eq!(status, 401);
            assert!(body.contains("a bearer token is required"), "{body}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_http_does_not_allow_fails_at_connect() {
    let result = Client::builder("https://127.0.0.1:9")
        .header("Authorization", "Bearer line\nbreak")
        .connect();
    match result {
        Err(ClientError::InvalidHeader { name, .. }) => assert_eq!(name, "Authorization"),
        Err(other) => panic!("expected InvalidHeader, got {other:?}"),
        Ok(_) => panic!("a header with a line break must be refused"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_requires_client_certificates_admits_only_clients_that_present_one() {
    let pki = TestPki::new("primus-rs test CA");
    let server = contract::builder(&primus_tests::logs::Log::default())
        .build()
        .expect("build");
    let running = serve_tls(server, pki.server_tls_requiring_client_certificates()).await;

    let me = pki.client_identity("ada");
    let (client, mut events) = Client::builder(https_url(&running))
        .tls(
            trusting(&pki)
                .client_certificate_pem(me.cert_pem.as_bytes(), me.key_pem.as_bytes())
                .expect("client certificate"),
        )
        .connect()
        .expect("connect");
    expect_open(&mut events, WAIT).await;
    client.write("with a certificate").expect("write");
    assert_eq!(next_value(&mut events, WAIT).await, json!("with a certificate"));
    client.end();

    // A certificate from another authority, and none at all: refused.
    let stranger = TestPki::new("another authority").client_identity("mallory");
    for tls in [
        trusting(&pki)
            .client_certificate_pem(stranger.cert_pem.as_bytes(), stranger.key_pem.as_bytes())
            .expect("client certificate"),
        trusting(&pki),
    ] {
        let (_client, mut events) = Client::builder(https_url(&running))
            .tls(tls)
            .reconnect(primus_client::Reconnect {
                retries: 0,
                ..Default::default()
            })
            .connect()
            .expect("connect");
        let error = first_error(&mut events).await;
        assert!(matches!(error, ClientError::Tls(_)), "{error:?}");
        assert!(error.to_string().contains("client"), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_the_tls_handshake_is_closed_after_the_handshake_timeout() {
    let pki = TestPki::new("primus-rs test CA");
    let running = contract_over_tls(&pki, |builder| {
        builder.handshake_timeout(Duration::from_millis(300))
    })
    .await;
    // Half a ClientHello record header, then silence.
    let mut stalled = tokio::net::TcpStream::connect(running.addr)
        .await
        .expect("connect");
    tokio::io::AsyncWriteExt::write_all(&mut stalled, &[0x16, 0x03])
        .await
        .expect("write");
    let mut buffer = [0u8; 64];
    let read = tokio::time::timeout(WAIT, stalled.read(&mut buffer))
        .await
        .expect("the server closes the connection in time");
    assert!(matches!(read, Ok(0) | Err(_)), "closed, not answered: {read:?}");
}

/// The real Primus Node client over HTTPS/WSS, trusting the test authority
/// through `NODE_EXTRA_CA_CERTS`.
async fn node_scenario_over_tls(transformer: &str, transports: Option<&str>) -> serde_json::Value {
    let pki = TestPki::new("primus-rs test CA");
    let running = match transformer {
        "engine.io" => {
            contract_over_tls(&pki, |builder| {
                builder.transformer(primus::transformer::EngineIo::default())
            })
            .await
        }
        _ => contract_over_tls(&pki, |builder| builder).await,
    };
    let ca = pki.write_ca_file();
    let mut command = node::scenario_command(&https_url(&running), "echo", None, transformer, transports);
    command.env("NODE_EXTRA_CA_CERTS", &ca);
    let summary = node::run_scenario(command, "echo").await;
    let _ = std::fs::remove_file(ca);
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_primus_node_client_echoes_over_wss() {
    let summary = node_scenario_over_tls("websockets", None).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_primus_node_client_echoes_over_engine_io_polling_on_https() {
    let summary = node_scenario_over_tls("engine.io", Some("polling")).await;
    assert_eq!(summary["ok"], json!(true), "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_primus_node_client_refuses_an_untrusted_certificate() {
    let pki = TestPki::new("primus-rs test CA");
    let running = contract_over_tls(&pki, |builder| builder).await;
    // No NODE_EXTRA_CA_CERTS: Node does not trust the test authority, so
    // the `open` scenario must fail (the scenario runner exits 1), and the
    // error the Primus client emitted must be Node's certificate error.
    let mut command = node::scenario_command(&https_url(&running), "open", None, "websockets", None);
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the Node client finishes")
        .expect("run node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Exit 1 is a failed scenario (2 is a usage error, 3 a leak).
    assert_eq!(output.status.code(), Some(1), "{stdout}\n{stderr}");
    // The failure is the certificate, as Node's TLS reported it to the
    // Primus client's `error` event, not any other failure.
    let summary: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
        .unwrap_or_else(|| panic!("no JSON summary in:\n{stdout}\n{stderr}"));
    assert_eq!(summary["ok"], json!(false), "{summary}");
    let error = summary["error"].as_str().unwrap_or_default();
    assert!(error.contains("emitted error"), "{summary}");
    assert!(
        error.contains("certificate")
            && ["unable to verify", "self-signed", "self signed"]
                .iter()
                .any(|reason| error.contains(reason)),
        "the error names the certificate: {summary}"
    );
    assert!(stderr.contains(error), "{stderr}");
    assert_eq!(running.server.connected(), 0);
}
