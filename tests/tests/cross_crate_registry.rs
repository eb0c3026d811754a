//! Handlers declared in another crate of the workspace are found by
//! `Server::from_registry()` when the binary names the crate once.

use primus::Server;
use primus_client::Client;
use primus_tests::events::next_message;
use primus_tests::server::serve;
use primus_tests::wait::WAIT;
use serde_json::json;

// The only reference to the crate: without it the compiler would not link it.
use remote_handlers as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_from_another_crate_are_registered_and_run() {
    let functions: Vec<_> = primus::registry::handlers()
        .iter()
        .map(|h| (h.module, h.function))
        .collect();
    assert_eq!(
        functions,
        [("remote_handlers", "remote_hello"), ("remote_handlers", "shout")]
    );
    let enums: Vec<_> = primus::registry::events().iter().map(|e| e.type_name).collect();
    assert_eq!(enums, ["Remote"]);

    let server = Server::from_registry().expect("from_registry");
    let running = serve(server).await;
    let (client, mut events) = Client::builder(running.url()).connect().expect("connect");
    let first = next_message(&mut events, WAIT).await;
    assert_eq!(first.decode::<String>().expect("json"), "remote hello");
    client
        .write(&json!({ "event": "shout", "data": "hey" }))
        .expect("write");
    let echoed = next_message(&mut events, WAIT).await;
    assert_eq!(
        echoed.decode::<serde_json::Value>().expect("json"),
        json!({ "event": "shout", "data": "HEY" })
    );
}
