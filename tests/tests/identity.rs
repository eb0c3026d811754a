//! Who is connected: the authorization hook says who the client is
//! (`HttpRequest::set_extension`), the spark carries it, handlers take it
//! as `Extension<T>` or read and change it on the spark; over WebSockets
//! and over engine.io.

use primus::middleware::HttpRequest;
use primus::{AuthError, Extension, Server, Spark};
use primus_client::{Client, ClientError, Transport};
use primus_tests::server::{serve, Running};
use primus_tests::wait::WAIT;

/// The user the authorization hook found.
#[derive(Debug, Clone, PartialEq)]
struct User {
    name: String,
}

/// Set by a handler, read by later ones.
#[derive(Debug, Clone, PartialEq)]
struct Nickname(String);

#[primus::event]
#[derive(Debug, Clone, PartialEq)]
enum Ask {
    #[primus(reply = String)]
    WhoAmI,
    #[primus(reply = String)]
    Greeting,
    #[primus(reply = bool)]
    Nick(String),
    #[primus(reply = String)]
    Nickname,
}

#[primus::on(Ask::WhoAmI)]
async fn who_am_i(Extension(user): Extension<User>) -> String {
    user.name
}

#[primus::on(Ask::Greeting)]
async fn greeting(user: Option<Extension<User>>) -> String {
    match user {
        Some(Extension(user)) => format!("hello {}", user.name),
        None => "hello stranger".to_owned(),
    }
}

#[primus::on(Ask::Nick)]
async fn nick(spark: Spark, primus::Payload(name): primus::Payload<String>) -> bool {
    spark.set_extension(Nickname(name)).is_none()
}

#[primus::on(Ask::Nickname)]
async fn nickname(Extension(Nickname(name)): Extension<Nickname>) -> String {
    name
}

/// `?token=ada-secret` is Ada; no token is anonymous; any other token is refused.
async fn authorize(request: HttpRequest) -> Result<(), AuthError> {
    match request.query.get("token") {
        Some("ada-secret") => {
            request.set_extension(User { name: "ada".into() });
            Ok(())
        }
        None => Ok(()),
        Some(_) => Err(AuthError::new("bad token")),
    }
}

async fn start(transformer: Option<primus::transformer::EngineIo>) -> Running {
    let builder = Server::builder().authorize(authorize).handlers_from_registry();
    let builder = match transformer {
        Some(engine_io) => builder.transformer(engine_io),
        None => builder,
    };
    serve(builder.build().expect("build")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorized_user_travels_with_the_spark() {
    for engine_io in [false, true] {
        let running = start(engine_io.then(primus::transformer::EngineIo::default)).await;
        let transport = if engine_io {
            Transport::EngineIo
        } else {
            Transport::WebSockets
        };
        let connect = |url: String| {
            Client::builder(url)
                .transformer(transport)
                .connect()
                .expect("connect")
        };
        let (ada, _ada_events) = connect(format!("{}/?token=ada-secret", running.url()));
        let ask = |client: &Client, request| {
            let client = client.clone();
            async move {
                tokio::time::timeout(WAIT, client.request(request))
                    .await
                    .expect("in time")
            }
        };
        assert_eq!(ask(&ada, Ask::who_am_i()).await.expect("who"), "ada");
        assert_eq!(ask(&ada, Ask::greeting()).await.expect("greeting"), "hello ada");

        // Set later by a handler, read by the next one.
        tokio::time::timeout(WAIT, ada.request(Ask::nick("countess".into())))
            .await
            .expect("in time")
            .expect("nick");
        assert_eq!(ask(&ada, Ask::nickname()).await.expect("nickname"), "countess");

        // Anonymous: the optional extractor sees nobody; the required one
        // is an internal error, never a panic, and the connection goes on.
        let (stranger, _events) = connect(running.url());
        assert_eq!(
            ask(&stranger, Ask::greeting()).await.expect("greeting"),
            "hello stranger"
        );
        match ask(&stranger, Ask::who_am_i()).await {
            Err(ClientError::Rejected(reason)) => {
                assert!(reason.starts_with("internal error (error id "), "{reason}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        assert_eq!(
            ask(&stranger, Ask::greeting()).await.expect("still connected"),
            "hello stranger"
        );
        // Each spark has its own: the stranger's nickname is not Ada's.
        assert!(ask(&stranger, Ask::nickname()).await.is_err());
    }
}
