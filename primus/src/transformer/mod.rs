//! Transformers: the transports that carry Primus messages.
//!
//! A transformer accepts connections, creates a [`Spark`](crate::Spark) for
//! each, hands it incoming frames and drains its outbound queue. The spark
//! never sees the socket, so other transports (engine.io, SockJS) can plug
//! in beside [`websocket`] later without touching sparks or handlers.

pub(crate) mod connection;
pub(crate) mod frame_writer;
pub(crate) mod websocket;
