//! Compressed WebSocket frames (permessage-deflate) as a server with
//! `compression(true)` reads them: arbitrary client bytes through
//! `primus::deflate::Inflating`, then into tungstenite with the server's
//! settings, as `transformer/websocket/socket.rs` stacks them.
//!
//! The first byte picks the limit (`max_length`) and how the bytes arrive
//! (in chunks, with "pending" between them, as the async socket delivers
//! them).
//!
//! Checked: no panic; the adapter stops at its first error and that error
//! is an `InflateError`; what it hands on is a stream of frames tungstenite
//! reads without ever seeing RSV1 on a data frame it did not get from the
//! client; no message larger than `max_length`; text is UTF-8.
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::deflate::{inflate_failure, Inflating, Side};
use primus::fuzzing::tungstenite::protocol::{Role, WebSocket};
use primus::fuzzing::tungstenite::{Error, Message};
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncRead, ReadBuf};

const MAX_LENGTHS: [usize; 4] = [0, 125, 65_536, 1024 * 1024];

/// The client's side: `chunk` bytes at a time, "pending" between chunks
/// when `stalls` is set.
struct Client<'a> {
    input: &'a [u8],
    chunk: usize,
    stalls: bool,
    stalled: bool,
}

impl AsyncRead for Client<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.stalls && !self.stalled && !self.input.is_empty() {
            self.stalled = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.stalled = false;
        let n = buf.remaining().min(self.chunk).min(self.input.len());
        buf.put_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Poll::Ready(Ok(()))
    }
}

/// What the adapter handed on, for tungstenite to read synchronously.
struct Handed {
    bytes: Vec<u8>,
    at: usize,
}

impl Read for Handed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.bytes.len() - self.at);
        buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Handed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&settings, input)) = data.split_first() else {
        return;
    };
    let max_length = MAX_LENGTHS[usize::from(settings & 3)];
    let chunk = [1, 3, 64, usize::MAX][usize::from((settings >> 2) & 3)];
    let stalls = settings & 0x10 != 0;
    let client = Client {
        input,
        chunk,
        stalls,
        stalled: false,
    };
    let mut stream = Inflating::new(client, Side::Server, Some(max_length));
    let mut cx = Context::from_waker(Waker::noop());
    let mut handed = Vec::new();
    let mut buffer = [0u8; 4096];
    // Each poll consumes input, fails, or is a stall followed by a read.
    loop {
        let mut read = ReadBuf::new(&mut buffer);
        match Pin::new(&mut stream).poll_read(&mut cx, &mut read) {
            Poll::Pending => continue,
            Poll::Ready(Ok(())) if read.filled().is_empty() => break,
            Poll::Ready(Ok(())) => handed.extend_from_slice(read.filled()),
            Poll::Ready(Err(error)) => {
                assert!(inflate_failure(&error).is_some(), "not an inflate error: {error}");
                break;
            }
        }
    }
    let config = primus::fuzzing::websocket_config(max_length, primus::transformer::DEFAULT_READ_BUFFER_SIZE);
    let mut socket = WebSocket::from_raw_socket(Handed { bytes: handed, at: 0 }, Role::Server, Some(config));
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => {
                assert!(
                    text.len() <= max_length,
                    "text of {} bytes over {max_length}",
                    text.len()
                );
                assert!(std::str::from_utf8(text.as_bytes()).is_ok());
            }
            Ok(Message::Binary(bytes)) => {
                assert!(
                    bytes.len() <= max_length,
                    "binary of {} bytes over {max_length}",
                    bytes.len()
                );
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
});
