//! WebSocket frames as the server reads them: arbitrary bytes from a client,
//! after the handshake, into tungstenite with the server's settings.
//!
//! The first byte picks the limits (`max_length` and the read buffer) and how
//! the bytes arrive (in chunks, with "would block" between them, as the
//! async socket delivers them). Every message is then handled like
//! `transformer/websocket/socket.rs` does: a text message becomes a text
//! frame, and the JSON parser inspects it and classifies control messages.
//!
//! Checked: no panic, no message larger than `max_length`, text messages are
//! UTF-8, and reading stops at the first error (a too-large message is a
//! capacity error, as the server expects).
#![no_main]

use libfuzzer_sys::fuzz_target;
use primus::fuzzing::tungstenite::protocol::{Role, WebSocket};
use primus::fuzzing::tungstenite::{Error, Message};
use primus::parser::{Inspection, Json, Parser};
use primus::Frame;
use std::io::{self, Read, Write};

/// Limits worth trying: tiny, around the 7/16/64-bit length encodings, and
/// the server's default (10 MiB).
const MAX_LENGTHS: [usize; 8] = [0, 1, 16, 125, 126, 65_535, 65_536, 10 * 1024 * 1024];
const READ_BUFFERS: [usize; 4] = [1, 7, 64, primus::transformer::DEFAULT_READ_BUFFER_SIZE];

/// The client's side of the socket: hands out `input` `chunk` bytes at a
/// time, saying "would block" between chunks when `stalls` is set.
struct Client<'a> {
    input: &'a [u8],
    chunk: usize,
    stalls: bool,
    stalled: bool,
    written: usize,
}

impl Read for Client<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stalls && !self.stalled && !self.input.is_empty() {
            self.stalled = true;
            return Err(io::ErrorKind::WouldBlock.into());
        }
        self.stalled = false;
        let n = buf.len().min(self.chunk).min(self.input.len());
        buf[..n].copy_from_slice(&self.input[..n]);
        self.input = &self.input[n..];
        Ok(n)
    }
}

impl Write for Client<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Pongs and close frames the server answers with.
        self.written += buf.len();
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
    let max_length = MAX_LENGTHS[usize::from(settings & 7)];
    let read_buffer = READ_BUFFERS[usize::from((settings >> 3) & 3)];
    let chunk = [1, 3, 64, usize::MAX][usize::from((settings >> 5) & 3)];
    let stalls = settings & 0x80 != 0;
    let client = Client {
        input,
        chunk,
        stalls,
        stalled: false,
        written: 0,
    };
    let config = primus::fuzzing::websocket_config(max_length, read_buffer);
    let mut socket = WebSocket::from_raw_socket(client, Role::Server, Some(config));
    // Each call consumes input or fails, and a stall is followed by a read:
    // the loop ends.
    loop {
        match socket.read() {
            Ok(Message::Text(text)) => {
                assert!(
                    text.len() <= max_length,
                    "text of {} bytes over {max_length}",
                    text.len()
                );
                assert!(std::str::from_utf8(text.as_bytes()).is_ok());
                let frame = Frame::text(text.as_str());
                if let Ok(Inspection::Control(control)) = Json.inspect(&frame) {
                    let _ = primus::protocol::classify(&control);
                }
            }
            Ok(Message::Binary(bytes)) => {
                assert!(
                    bytes.len() <= max_length,
                    "binary of {} bytes over {max_length}",
                    bytes.len()
                );
                let _ = Json.inspect(&Frame::binary(bytes));
            }
            // Control frames carry at most 125 bytes.
            Ok(Message::Ping(payload) | Message::Pong(payload)) => assert!(payload.len() <= 125),
            Ok(Message::Close(_) | Message::Frame(_)) => {}
            // The async socket is polled again once more bytes arrive.
            Err(Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {}
            // The server closes with 1009 here, other errors end the connection.
            Err(_) => break,
        }
    }
});
