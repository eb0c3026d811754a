//! Who is connected: the authorization hook (or a middleware layer) says
//! who the client is (`HttpRequest::set_extension`), the spark carries it,
//! handlers take it as `Extension<T>` or read and change it on the spark;
//! over WebSockets and over engine.io.

use primus::middleware::{HttpRequest, Outcome, Runs};
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

/// A middleware layer (no authorization hook at all) names the user from
/// the `x-user` header of the request that opens the spark; the handlers
/// of that spark see it as `Extension<User>`, and so does
/// `spark.extension::<User>()`. A request without the header sets nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_middleware_layer_says_who_the_client_is() {
    for transport in [Transport::WebSockets, Transport::EngineIo] {
        let builder = Server::builder()
            .middleware("identify", Runs::default(), |request: HttpRequest| async move {
                if let Some(name) = request.headers.get("x-user").and_then(|v| v.to_str().ok()) {
                    request.set_extension(User {
                        name: name.to_owned(),
                    });
                }
                Outcome::Continue
            })
            .handlers_from_registry();
        let builder = match transport {
            Transport::EngineIo => builder.transformer(primus::transformer::EngineIo::default()),
            _ => builder,
        };
        let running = serve(builder.build().expect("build")).await;
        let (grace, _grace_events) = Client::builder(running.url())
            .transformer(transport)
            .header("x-user", "grace")
            .connect()
            .expect("connect");
        let who = tokio::time::timeout(WAIT, grace.request(Ask::who_am_i()))
            .await
            .expect("in time");
        assert_eq!(who.expect("who"), "grace", "{transport:?}");
        let greeting = tokio::time::timeout(WAIT, grace.request(Ask::greeting()))
            .await
            .expect("in time");
        assert_eq!(greeting.expect("greeting"), "hello grace", "{transport:?}");
        let users: Vec<Option<User>> = running
            .server
            .sparks()
            .iter()
            .map(|spark| spark.extension::<User>())
            .collect();
        assert_eq!(users, [Some(User { name: "grace".into() })], "{transport:?}");

        // Without the header the layer sets nothing: the spark has no user.
        let (nobody, _nobody_events) = Client::builder(running.url())
            .transformer(transport)
            .connect()
            .expect("connect");
        let greeting = tokio::time::timeout(WAIT, nobody.request(Ask::greeting()))
            .await
            .expect("in time");
        assert_eq!(greeting.expect("greeting"), "hello stranger", "{transport:?}");
        grace.end();
        nobody.end();
    }
}
