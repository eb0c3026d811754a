//! socketioxide 0.18, the Rust peer a user would pick instead of primus-rs:
//! the same echo and broadcast contract, spoken in Socket.IO v5.
//!
//! Served the way socketioxide's README shows it (`SocketIo::new_layer()`
//! under an axum `Router`, `axum::serve`), with its default options: a
//! 4 KiB WebSocket read buffer (engineioxide's default, the same as
//! primus-rs'; set from `--read-buffer` like the other modes),
//! 25 s Engine.IO ping interval (the load generator answers the pings),
//! the common (JSON) parser, websocket and polling transports; `TCP_NODELAY`
//! set on every connection as the other Rust servers do.
//!
//! | mode | `echo` event | `broadcast` event |
//! |---|---|---|
//! | untyped | `42["echo",v]` decoded as a `serde_json::Value`, emitted back as `42["echo",v]` | `io.emit("b", v)` to every socket |
//! | typed | `42<id>["echo","…"]` decoded as a `String`, answered with the ack `43<id>["…"]` | the same, with a `String` |

use axum::serve::ListenerExt;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;

use super::Settings;
use std::sync::OnceLock;
use tokio::net::TcpListener;

/// The server's handle, for the `stats` command.
static IO: OnceLock<SocketIo> = OnceLock::new();

/// Sockets connected to the default namespace; 0 before the server is built.
pub fn connected() -> usize {
    IO.get().map_or(0, |io| io.sockets().len())
}

/// The `echo` and `broadcast` handlers of one socket.
fn register(socket: &SocketRef, typed: bool) {
    if typed {
        socket.on("echo", async |Data::<String>(text), ack: AckSender| {
            let _ = ack.send(&text);
        });
        socket.on("broadcast", async |io: SocketIo, Data::<String>(text)| {
            let _ = io.emit("b", &text).await;
        });
    } else {
        socket.on(
            "echo",
            async |socket: SocketRef, Data::<serde_json::Value>(value)| {
                let _ = socket.emit("echo", &value);
            },
        );
        socket.on(
            "broadcast",
            async |io: SocketIo, Data::<serde_json::Value>(value)| {
                let _ = io.emit("b", &value).await;
            },
        );
    }
}

/// Serves socketioxide on `listener`: untyped (`serde_json::Value`) or
/// typed (`String` payloads, echo answered by ack).
pub async fn serve(
    listener: TcpListener,
    settings: Settings,
    typed: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let (layer, io) = SocketIo::builder()
        .ws_read_buffer_size(settings.read_buffer)
        .build_layer();
    // The handlers are registered in a connect middleware, which runs
    // before the connect packet is sent: socketioxide runs the namespace's
    // connect handler on a task of its own after sending it, so a client
    // that emits at once (as the load generator does) can race the
    // handler's `socket.on` and see its first event dropped. Where the
    // handlers are registered does not change what an echo costs.
    io.ns(
        "/",
        (async || {}).with(async move |socket: SocketRef| {
            register(&socket, typed);
            Ok::<(), std::convert::Infallible>(())
        }),
    );
    let _ = IO.set(io);
    // The layer answers `/socket.io/`; anything else is a 404.
    let app = axum::Router::new()
        .fallback(async || axum::http::StatusCode::NOT_FOUND)
        .layer(layer);
    // TCP_NODELAY, as primus-rs and the tokio-tungstenite reference set it
    // (axum's `serve` leaves Nagle on unless asked).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await?;
    Ok(())
}
