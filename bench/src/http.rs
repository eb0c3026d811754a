//! A small HTTP/1.1 client for the polling transports' load: one
//! keep-alive connection, one request at a time, bodies read whole
//! ([`HttpConn::request`]) or as they stream in ([`HttpConn::start`] then
//! [`HttpConn::body_part`]), with `Content-Length` or chunked framing.
//!
//! It knows only what the engine.io and SockJS servers under test send;
//! anything else (an answer without a length that is not chunked, a head
//! over 16 KiB) is a [`WireError::Protocol`].
//!
//! ```no_run
//! # async fn demo(addr: std::net::SocketAddr) -> Result<(), primus_bench::wire::WireError> {
//! use primus_bench::http::HttpConn;
//! let mut http = HttpConn::connect(addr).await?;
//! let answer = http.request("GET", "/primus/spec", b"").await?;
//! assert_eq!(answer.status, 200);
//! # Ok(()) }
//! ```

use crate::wire::WireError;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest accepted response head.
const MAX_HEAD: usize = 16 * 1024;

/// A whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The status code.
    pub status: u16,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

/// How the body of the current response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// This many bytes are still to come.
    Length(usize),
    /// Chunked: waiting for a chunk-size line.
    ChunkSize,
    /// Chunked: this many bytes of the current chunk are still to come.
    ChunkData(usize),
    /// Chunked: the CRLF after a chunk's data.
    ChunkEnd,
    /// Chunked: the CRLF after the last (empty) chunk.
    LastChunkEnd,
    /// The body is complete.
    Done,
}

/// One keep-alive HTTP/1.1 connection.
#[derive(Debug)]
pub struct HttpConn {
    stream: TcpStream,
    host: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    body: Body,
}

impl HttpConn {
    /// Connects to `addr` (`TCP_NODELAY`, and `SO_LINGER` 0 so that closing
    /// leaves no `TIME_WAIT` behind).
    pub async fn connect(addr: SocketAddr) -> Result<HttpConn, WireError> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        stream.set_zero_linger()?;
        Ok(HttpConn {
            stream,
            host: addr.to_string(),
            buf: vec![0; 16 * 1024],
            start: 0,
            end: 0,
            body: Body::Done,
        })
    }

    /// Sends a request and reads its whole answer.
    pub async fn request(
        &mut self,
        method: &str,
        target: &str,
        body: &[u8],
    ) -> Result<HttpAnswer, WireError> {
        let status = self.start(method, target, body).await?;
        let mut body = Vec::new();
        while self.body_part(&mut body).await? {}
        Ok(HttpAnswer { status, body })
    }

    /// Sends a request and reads the answer's head; returns the status. The
    /// body is then read with [`body_part`](Self::body_part).
    pub async fn start(&mut self, method: &str, target: &str, body: &[u8]) -> Result<u16, WireError> {
        if self.body != Body::Done {
            return Err(WireError::Protocol(
                "a request while the last answer is unread".into(),
            ));
        }
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: {}\r\n", self.host);
        if method != "GET" {
            request.push_str(&format!(
                "Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n",
                body.len()
            ));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes).await?;
        let head_end = loop {
            let buffered = &self.buf[self.start..self.end];
            if let Some(at) = buffered.windows(4).position(|w| w == b"\r\n\r\n") {
                break self.start + at + 4;
            }
            if buffered.len() > MAX_HEAD {
                return Err(WireError::Protocol("response head too long".into()));
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[self.start..head_end]).into_owned();
        self.start = head_end;
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| WireError::Protocol(format!("not an HTTP answer: {head:?}")))?;
        let mut length = None;
        let mut chunked = false;
        for line in head.split("\r\n").skip(1) {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        self.body = match (length, chunked) {
            (_, true) => Body::ChunkSize,
            (Some(length), false) => Body::Length(length),
            (None, false) if status == 204 || status == 304 => Body::Length(0),
            (None, false) => {
                return Err(WireError::Protocol(format!(
                    "an answer ({status}) without a length and not chunked"
                )))
            }
        };
        if self.body == Body::Length(0) {
            self.body = Body::Done;
        }
        Ok(status)
    }

    /// Appends the body bytes that arrived (reading the socket when none is
    /// buffered); returns `false` once the body is complete.
    pub async fn body_part(&mut self, out: &mut Vec<u8>) -> Result<bool, WireError> {
        loop {
            let progressed = self.decode(out)?;
            if self.body == Body::Done {
                return Ok(false);
            }
            if progressed {
                return Ok(true);
            }
            self.fill().await?;
        }
    }

    /// Decodes what is buffered; true when any byte was consumed.
    fn decode(&mut self, out: &mut Vec<u8>) -> Result<bool, WireError> {
        let before = self.start;
        loop {
            let buffered = &self.buf[self.start..self.end];
            match self.body {
                Body::Done => break,
                Body::Length(left) | Body::ChunkData(left) => {
                    let take = left.min(buffered.len());
                    if take == 0 {
                        break;
                    }
                    out.extend_from_slice(&buffered[..take]);
                    self.start += take;
                    self.body = match self.body {
                        Body::Length(_) if left == take => Body::Done,
                        Body::Length(_) => Body::Length(left - take),
                        _ if left == take => Body::ChunkEnd,
                        _ => Body::ChunkData(left - take),
                    };
                }
                Body::ChunkSize => {
                    let Some(line_end) = buffered.windows(2).position(|w| w == b"\r\n") else {
                        if buffered.len() > 1024 {
                            return Err(WireError::Protocol("chunk-size line too long".into()));
                        }
                        break;
                    };
                    let line = String::from_utf8_lossy(&buffered[..line_end]);
                    let digits = line.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(digits, 16)
                        .map_err(|_| WireError::Protocol(format!("bad chunk size {line:?}")))?;
                    self.start += line_end + 2;
                    self.body = if size == 0 {
                        Body::LastChunkEnd
                    } else {
                        Body::ChunkData(size)
                    };
                }
                Body::ChunkEnd | Body::LastChunkEnd => {
                    if buffered.len() < 2 {
                        break;
                    }
                    if &buffered[..2] != b"\r\n" {
                        return Err(WireError::Protocol("chunk not followed by CRLF".into()));
                    }
                    self.start += 2;
                    self.body = if self.body == Body::ChunkEnd {
                        Body::ChunkSize
                    } else {
                        Body::Done
                    };
                }
            }
        }
        Ok(self.start != before)
    }

    /// Reads once into the free space, compacting or growing first.
    async fn fill(&mut self) -> Result<(), WireError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
        }
        let read = self.stream.read(&mut self.buf[self.end..]).await?;
        if read == 0 {
            return Err(WireError::Closed);
        }
        self.end += read;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server that answers each request with the next canned answer,
    /// written in 3-byte pieces.
    async fn canned(answers: Vec<&'static [u8]>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut seen = Vec::new();
            for answer in answers {
                // Wait for the end of one request head (bodies here are empty).
                let mut byte = [0u8; 1];
                while !seen.ends_with(b"\r\n\r\n") {
                    socket.read_exact(&mut byte).await.unwrap();
                    seen.push(byte[0]);
                }
                seen.clear();
                for piece in answer.chunks(3) {
                    socket.write_all(piece).await.unwrap();
                    socket.flush().await.unwrap();
                }
            }
        });
        addr
    }

    #[tokio::test]
    async fn reads_lengths_chunks_and_empty_answers_on_one_connection() {
        let addr = canned(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        ])
        .await;
        let mut http = HttpConn::connect(addr).await.unwrap();
        let first = http.request("POST", "/a", b"").await.unwrap();
        assert_eq!((first.status, &first.body[..]), (200, &b"ok"[..]));
        let second = http.request("GET", "/b", b"").await.unwrap();
        assert_eq!((second.status, &second.body[..]), (200, &b"abcde"[..]));
        let third = http.request("GET", "/c", b"").await.unwrap();
        assert_eq!((third.status, third.body.len()), (204, 0));
        let fourth = http.request("GET", "/d", b"").await.unwrap();
        assert_eq!(fourth.status, 404);
    }

    #[tokio::test]
    async fn streams_a_chunked_body_part_by_part() {
        let addr = canned(vec![
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\no\n\r\n",
        ])
        .await;
        let mut http = HttpConn::connect(addr).await.unwrap();
        assert_eq!(http.start("POST", "/s", b"").await.unwrap(), 200);
        let mut body = Vec::new();
        while body.len() < 2 {
            assert!(http.body_part(&mut body).await.unwrap());
        }
        assert_eq!(body, b"o\n");
        // The server never ends the body: the connection closes instead.
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), http.body_part(&mut body)).await;
        assert!(matches!(end, Ok(Err(WireError::Closed))), "{end:?}");
    }
}
