//! The soak's clients: one function per kind of connection, each bounded
//! by timeouts, each counting how the connection ended.

use super::{
    Context, Count, HALF_OPEN_WAIT, HANDSHAKE_TIMEOUT, IO_TIMEOUT, MAX_READS, OVERSIZE_ANNOUNCED,
    OVERSIZE_SENT,
};
use crate::wire::{self, opcode, Conn, WireError};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How a connection ended, seen from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ending {
    /// A close frame with this code (`None`: no code).
    Close(Option<u16>),
    /// End of stream without a close frame.
    Eof,
    /// Reset by the server.
    Reset,
    /// Nothing within the timeout.
    Timeout,
    /// Anything else.
    Other(String),
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Close(Some(code)) => write!(f, "close frame {code}"),
            Ending::Close(None) => f.write_str("close frame without a code"),
            Ending::Eof => f.write_str("end of stream without a close frame"),
            Ending::Reset => f.write_str("reset"),
            Ending::Timeout => f.write_str("still open after the timeout"),
            Ending::Other(what) => f.write_str(what),
        }
    }
}

/// Reads (and ignores data) until the server closes the connection.
async fn ending(conn: &mut Conn, timeout: Duration) -> Ending {
    let wait = async {
        for _ in 0..MAX_READS {
            loop {
                match conn.reader.next_frame() {
                    Ok(Some(frame)) if frame.opcode == opcode::CLOSE => {
                        let payload = conn.reader.payload(&frame);
                        let code = payload
                            .get(..2)
                            .map(|code| u16::from_be_bytes([code[0], code[1]]));
                        return Ending::Close(code);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => return Ending::Other(error.to_string()),
                }
            }
            match conn.reader.fill(&mut conn.stream).await {
                Ok(0) => return Ending::Eof,
                Ok(_) => {}
                Err(error) => return io_ending(&error),
            }
        }
        Ending::Other("too many reads".to_owned())
    };
    tokio::time::timeout(timeout, wait)
        .await
        .unwrap_or(Ending::Timeout)
}

fn io_ending(error: &std::io::Error) -> Ending {
    match error.kind() {
        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => Ending::Reset,
        _ => Ending::Other(error.to_string()),
    }
}

/// Waits for the echo of `context.echo_request`, skipping broadcasts.
async fn echo_back(conn: &mut Conn, context: &Context) -> Result<(), WireError> {
    let deadline = Instant::now() + IO_TIMEOUT;
    for _ in 0..1_000 {
        let payload = conn
            .next_data(deadline.saturating_duration_since(Instant::now()))
            .await?;
        if payload == context.echo_reply {
            return Ok(());
        }
    }
    Err(WireError::Protocol("no echo among 1,000 messages".to_owned()))
}

/// Churn: open, one echo, close in one of three ways.
pub(super) async fn churn(context: &Context, turn: u64) {
    let counters = &context.counters;
    counters.add(Count::ChurnStarted);
    let result = async {
        let mut conn = Conn::open(context.addr, "", 4 * 1024, IO_TIMEOUT).await?;
        conn.send(&context.echo_request).await?;
        echo_back(&mut conn, context).await?;
        counters.add(Count::ChurnEchoed);
        match turn % 3 {
            0 => {
                let close = wire::client_frame(opcode::CLOSE, &1000u16.to_be_bytes());
                conn.send(&close).await?;
                match ending(&mut conn, IO_TIMEOUT).await {
                    Ending::Close(_) => counters.add(Count::ChurnCloseAnswered),
                    _ => counters.add(Count::ChurnCloseUnanswered),
                }
                conn.reset();
            }
            1 => {
                counters.add(Count::ChurnFin);
                drop(conn);
            }
            _ => {
                counters.add(Count::ChurnReset);
                conn.reset();
            }
        }
        Ok::<(), WireError>(())
    }
    .await;
    if let Err(error) = result {
        counters.add(Count::ChurnFailed);
        counters.error("churn", error.to_string());
    }
}

/// Invalid JSON: a flood over the limit, a few frames and an echo, or a
/// text frame that is not UTF-8.
pub(super) async fn invalid(context: &Context, turn: u64) {
    let counters = &context.counters;
    let (started, load) = match turn % 3 {
        0 => (Count::FloodStarted, "invalid JSON flood"),
        1 => (Count::FewStarted, "invalid JSON, then an echo"),
        _ => (Count::Utf8Started, "text frame not UTF-8"),
    };
    counters.add(started);
    let mut conn = match Conn::open(context.addr, "", 4 * 1024, IO_TIMEOUT).await {
        Ok(conn) => conn,
        Err(error) => {
            counters.add(Count::Unexpected);
            counters.error(load, format!("open: {error}"));
            return;
        }
    };
    let bad = wire::client_frame(opcode::TEXT, b"{\"event\": \"echo\", \"data\": ");
    let outcome: Result<(), String> = match started {
        Count::FloodStarted => {
            let frames = bad.repeat(context.invalid_flood);
            match conn.send(&frames).await {
                // The server may close while the flood is still arriving.
                Ok(()) | Err(_) => match ending(&mut conn, IO_TIMEOUT).await {
                    Ending::Close(Some(1008)) => {
                        counters.add(Count::Flood1008);
                        Ok(())
                    }
                    other => Err(other.to_string()),
                },
            }
        }
        Count::FewStarted => {
            let mut frames = bad.repeat(10);
            frames.extend_from_slice(&context.echo_request);
            let result = async {
                conn.send(&frames).await?;
                echo_back(&mut conn, context).await
            }
            .await;
            match result {
                Ok(()) => {
                    counters.add(Count::FewEchoed);
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            }
        }
        _ => {
            let frame = wire::client_frame(opcode::TEXT, b"\"caf\xe9\"");
            match conn.send(&frame).await {
                Ok(()) | Err(_) => match ending(&mut conn, IO_TIMEOUT).await {
                    Ending::Close(Some(1007)) => {
                        counters.add(Count::Utf8Closed1007);
                        Ok(())
                    }
                    other => Err(other.to_string()),
                },
            }
        }
    };
    if let Err(error) = outcome {
        counters.add(Count::Unexpected);
        counters.error(load, error);
    }
    conn.reset();
}

/// Oversize: a header announcing 16 MiB, 64 KiB of payload, then wait.
pub(super) async fn oversize(context: &Context) {
    let counters = &context.counters;
    counters.add(Count::OversizeStarted);
    let mut conn = match Conn::open(context.addr, "", 4 * 1024, IO_TIMEOUT).await {
        Ok(conn) => conn,
        Err(error) => {
            counters.add(Count::Unexpected);
            counters.error("oversize frame", format!("open: {error}"));
            return;
        }
    };
    let mut frame = vec![0x80 | opcode::TEXT, 0x80 | 127];
    frame.extend_from_slice(&OVERSIZE_ANNOUNCED.to_be_bytes());
    frame.extend_from_slice(&wire::mask_key());
    frame.resize(frame.len() + OVERSIZE_SENT, b'x');
    // The server may close before it read everything.
    let _ = conn.send(&frame).await;
    match ending(&mut conn, IO_TIMEOUT).await {
        Ending::Close(Some(1009)) => counters.add(Count::Oversize1009),
        other => {
            counters.add(Count::Unexpected);
            counters.error("oversize frame", other.to_string());
        }
    }
    conn.reset();
}

/// Garbage TCP: noise ending the head, or a head over 64 KiB without an end.
pub(super) async fn garbage(context: &Context, turn: u64) {
    let counters = &context.counters;
    counters.add(Count::GarbageStarted);
    let noise: Vec<u8> = if turn.is_multiple_of(2) {
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http at all\r\n\r\n".to_vec()
    } else {
        (0..70 * 1024).map(|i| b'a' + (i % 26) as u8).collect()
    };
    let result = async {
        let mut stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(context.addr))
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| format!("connect: {e}"))?;
        // The server may answer and close before everything is written.
        let _ = tokio::time::timeout(IO_TIMEOUT, stream.write_all(&noise)).await;
        let (answer, end) = read_to_end(&mut stream, IO_TIMEOUT).await;
        let _ = stream.set_zero_linger();
        Ok::<_, String>((answer, end))
    }
    .await;
    match result {
        Ok((answer, Ending::Eof | Ending::Reset)) => {
            if answer.starts_with(b"HTTP/1.1 4") || answer.starts_with(b"HTTP/1.0 4") {
                counters.add(Count::GarbageAnswered4xx);
            } else {
                counters.add(Count::GarbageClosedSilently);
            }
        }
        Ok((_, other)) => {
            counters.add(Count::Unexpected);
            counters.error("garbage TCP", other.to_string());
        }
        Err(error) => {
            counters.add(Count::Unexpected);
            counters.error("garbage TCP", error);
        }
    }
}

/// Reads what the server sends until it closes (keeping the first 1 KiB).
async fn read_to_end(stream: &mut TcpStream, timeout: Duration) -> (Vec<u8>, Ending) {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    let wait = async {
        for _ in 0..MAX_READS {
            match stream.read(&mut chunk).await {
                Ok(0) => return Ending::Eof,
                Ok(read) => {
                    let keep = read.min(1024usize.saturating_sub(answer.len()));
                    answer.extend_from_slice(&chunk[..keep]);
                }
                Err(error) => return io_ending(&error),
            }
        }
        Ending::Other("too many reads".to_owned())
    };
    let end = tokio::time::timeout(timeout, wait)
        .await
        .unwrap_or(Ending::Timeout);
    (answer, end)
}

/// Half-open: a partial request head (or nothing), then silence until the
/// server closes the connection.
pub(super) async fn half_open(context: &Context, turn: u64) {
    let counters = &context.counters;
    let started = Instant::now();
    let mut stream = match tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(context.addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => {
            counters.add(Count::Unexpected);
            counters.error("half-open", format!("connect: {error}"));
            return;
        }
        Err(_) => {
            counters.add(Count::Unexpected);
            counters.error("half-open", "connect timed out".to_owned());
            return;
        }
    };
    counters.add(Count::HalfOpenStarted);
    if turn.is_multiple_of(2) {
        let head = format!(
            "GET /primus/ HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\n",
            context.addr
        );
        if let Err(error) = stream.write_all(head.as_bytes()).await {
            counters.add(Count::Unexpected);
            counters.error("half-open", format!("write: {error}"));
            return;
        }
    }
    match read_to_end(&mut stream, HALF_OPEN_WAIT).await.1 {
        Ending::Eof | Ending::Reset => {
            let ms = started.elapsed().as_millis() as u64;
            counters.add(Count::HalfOpenClosed);
            if started.elapsed() < HANDSHAKE_TIMEOUT.mul_f64(0.9) {
                counters.add(Count::HalfOpenClosedEarly);
            }
            counters.half_open_min_ms.fetch_min(ms, Ordering::Relaxed);
            counters.half_open_max_ms.fetch_max(ms, Ordering::Relaxed);
        }
        Ending::Timeout => counters.add(Count::HalfOpenNotClosed),
        other => {
            counters.add(Count::Unexpected);
            counters.error("half-open", other.to_string());
        }
    }
    let _ = stream.set_zero_linger();
}
