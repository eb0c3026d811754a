//! Writing server frames to a WebSocket without copying their payloads.
//!
//! tungstenite copies every outgoing message into its write buffer before
//! writing it. A [`FrameWriter`] instead keeps the frames it is given (a
//! [`Frame`]'s bytes are reference counted, so a broadcast shares one buffer
//! between all connections), encodes each frame's header (server frames are
//! not masked) and writes headers and payloads with one vectored write
//! (`writev`) per batch. Nothing is allocated per frame beyond the queue
//! slot, and no buffer outlives the frames it holds.
//!
//! The connection task must not let tungstenite write while a batch is half
//! written (the two writers would interleave bytes); it polls
//! [`FrameWriter::poll_write_to`] to completion before reading or sending
//! through tungstenite again.

use crate::transformer::packet_maker::PacketMaker;
use crate::wire::{Frame, FrameKind};
use bytes::Bytes;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

/// Largest number of frames handed to one vectored write (two slices each,
/// well under Linux' `IOV_MAX` of 1024).
const FRAMES_PER_WRITE: usize = 64;
/// Queue capacity kept after a flush; a larger one (left by a burst) is
/// given back, so an idle connection holds no burst-sized queue.
const KEPT_CAPACITY: usize = 16;

/// One frame waiting to be written: its encoded header and its payload.
struct PendingFrame {
    header: [u8; 10],
    header_len: u8,
    payload: Bytes,
}

/// Compresses frames for permessage-deflate connections: a broadcast
/// frame is compressed once for all its recipients (its packet slot keeps
/// the result), since no connection keeps a compression context.
static DEFLATED: PacketMaker = PacketMaker::new(deflate_frame);

fn deflate_frame(frame: &Frame) -> Option<Bytes> {
    crate::wire::deflate::deflate(frame.as_bytes())
}

impl PendingFrame {
    fn new(frame: Frame, compress: bool) -> PendingFrame {
        // Small messages are not worth compressing (RFC 7692 lets each
        // message choose; RSV1 marks the compressed ones).
        let deflated = match compress && frame.len() >= crate::wire::deflate::THRESHOLD {
            // Data that does not compress goes as it is.
            true => DEFLATED
                .packet(&frame)
                .filter(|deflated| deflated.len() < frame.len()),
            false => None,
        };
        let rsv1 = if deflated.is_some() { 0x40 } else { 0 };
        let (kind, payload) = frame.into_parts();
        let payload = deflated.unwrap_or(payload);
        let opcode = match kind {
            FrameKind::Text => 0x1,
            FrameKind::Binary => 0x2,
        };
        let mut header = [0u8; 10];
        // FIN, RSV1 for a compressed message, not masked (RFC 6455 §5.2:
        // servers never mask).
        header[0] = 0x80 | rsv1 | opcode;
        let len = payload.len();
        let header_len = if len < 126 {
            header[1] = len as u8;
            2
        } else if let Ok(len) = u16::try_from(len) {
            header[1] = 126;
            header[2..4].copy_from_slice(&len.to_be_bytes());
            4
        } else {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        PendingFrame {
            header,
            header_len,
            payload,
        }
    }

    fn header(&self) -> &[u8] {
        &self.header[..usize::from(self.header_len)]
    }

    fn len(&self) -> usize {
        usize::from(self.header_len) + self.payload.len()
    }
}

/// Frames queued for one connection, written in batches.
///
/// ```ignore
/// let mut writer = FrameWriter::default();
/// writer.push(Frame::text("\"hello\""));
/// // one writev for everything queued:
/// std::future::poll_fn(|cx| writer.poll_write_to(Pin::new(&mut socket), cx)).await?;
/// ```
#[derive(Default)]
pub(crate) struct FrameWriter {
    frames: VecDeque<PendingFrame>,
    /// permessage-deflate was negotiated: messages from
    /// [`THRESHOLD`](crate::wire::deflate::THRESHOLD) bytes on go compressed.
    compress: bool,
    /// Bytes of the front frame already written.
    written: usize,
    /// Bytes queued and not yet written.
    buffered: usize,
}

impl FrameWriter {
    /// A writer that compresses messages (permessage-deflate) or not.
    pub(crate) fn new(compress: bool) -> FrameWriter {
        FrameWriter {
            compress,
            ..FrameWriter::default()
        }
    }

    /// Queues a frame (nothing is written until [`poll_write_to`](Self::poll_write_to)).
    pub(crate) fn push(&mut self, frame: Frame) {
        let frame = PendingFrame::new(frame, self.compress);
        self.buffered += frame.len();
        self.frames.push_back(frame);
    }

    /// Bytes waiting to be written.
    pub(crate) fn buffered(&self) -> usize {
        self.buffered
    }

    /// True when nothing waits to be written.
    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Writes everything queued; completes once all of it is written.
    #[cfg(test)]
    async fn write_to<W: AsyncWrite + Unpin>(&mut self, stream: &mut W) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_to(Pin::new(&mut *stream), cx)).await
    }

    /// Polls the writing of everything queued to `stream`.
    pub(super) fn poll_write_to<W: AsyncWrite>(
        &mut self,
        mut stream: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        while !self.frames.is_empty() {
            // Built on the stack for each attempt, so the slices never live
            // in the connection's future.
            let mut slices = [IoSlice::new(&[]); FRAMES_PER_WRITE * 2];
            let mut count = 0;
            let mut skip = self.written;
            for frame in self.frames.iter().take(FRAMES_PER_WRITE) {
                for part in [frame.header(), &frame.payload[..]] {
                    if skip >= part.len() {
                        skip -= part.len();
                        continue;
                    }
                    slices[count] = IoSlice::new(&part[skip..]);
                    skip = 0;
                    count += 1;
                }
            }
            let written = match stream.as_mut().poll_write_vectored(cx, &slices[..count]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the socket accepted no bytes",
                    )))
                }
                Poll::Ready(Ok(written)) => written,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            };
            self.advance(written);
        }
        if self.frames.capacity() > KEPT_CAPACITY {
            self.frames.shrink_to(KEPT_CAPACITY);
        }
        Poll::Ready(Ok(()))
    }

    /// Drops what `written` more bytes completed.
    fn advance(&mut self, written: usize) {
        self.buffered -= written;
        let mut left = self.written + written;
        while let Some(front) = self.frames.front() {
            if left < front.len() {
                break;
            }
            left -= front.len();
            self.frames.pop_front();
        }
        self.written = left;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket that takes at most `per_write` bytes per call and says
    /// `Pending` (waking itself) every other call.
    struct Trickle {
        taken: Vec<u8>,
        per_write: usize,
        stall: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.stall = !self.stall;
            if self.stall {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut budget = self.per_write;
            let mut taken = 0;
            for buf in bufs {
                let n = buf.len().min(budget);
                self.taken.extend_from_slice(&buf[..n]);
                budget -= n;
                taken += n;
                if budget == 0 {
                    break;
                }
            }
            Poll::Ready(Ok(taken))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn expected(frames: &[Frame]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for frame in frames {
            bytes.push(if frame.is_binary() { 0x82 } else { 0x81 });
            let len = frame.len();
            if len < 126 {
                bytes.push(len as u8);
            } else if len <= 65535 {
                bytes.push(126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                bytes.push(127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
            bytes.extend_from_slice(frame.as_bytes());
        }
        bytes
    }

    #[tokio::test]
    async fn frames_of_every_length_class_survive_partial_writes() {
        let frames = vec![
            Frame::text("\"hi\""),
            Frame::text("x".repeat(125)),
            Frame::binary(vec![7u8; 126]),
            Frame::text("y".repeat(65_535)),
            Frame::binary(vec![9u8; 65_536]),
            Frame::text(""),
        ];
        for per_write in [1, 3, 100, 70_000, usize::MAX] {
            let mut writer = FrameWriter::default();
            for frame in &frames {
                writer.push(frame.clone());
            }
            assert_eq!(writer.buffered(), expected(&frames).len());
            let mut socket = Trickle {
                taken: Vec::new(),
                per_write,
                stall: false,
            };
            writer.write_to(&mut socket).await.unwrap();
            assert!(writer.is_empty());
            assert_eq!(writer.buffered(), 0);
            assert!(
                socket.taken == expected(&frames),
                "bytes differ with {per_write} bytes per write"
            );
        }
    }

    #[tokio::test]
    async fn more_frames_than_one_write_takes_are_all_written_in_order() {
        let frames: Vec<Frame> = (0..FRAMES_PER_WRITE * 3 + 5)
            .map(|n| Frame::text(n.to_string()))
            .collect();
        let mut writer = FrameWriter::default();
        for frame in &frames {
            writer.push(frame.clone());
        }
        let mut socket = Trickle {
            taken: Vec::new(),
            per_write: usize::MAX,
            stall: false,
        };
        writer.write_to(&mut socket).await.unwrap();
        assert_eq!(socket.taken, expected(&frames));
        assert!(writer.frames.capacity() <= KEPT_CAPACITY);
    }

    #[tokio::test]
    async fn large_frames_go_compressed_with_rsv1_and_a_broadcast_is_compressed_once() {
        let big = Frame::text("abc".repeat(1000)).shared();
        let small = Frame::text("\"short\"");
        let before = DEFLATED.encoded();
        let mut outputs = Vec::new();
        for _recipient in 0..3 {
            let mut writer = FrameWriter::new(true);
            writer.push(big.clone());
            writer.push(small.clone());
            let mut socket = Trickle {
                taken: Vec::new(),
                per_write: usize::MAX,
                stall: false,
            };
            writer.write_to(&mut socket).await.unwrap();
            outputs.push(socket.taken);
        }
        // Other tests compress too: at least this frame's one compression,
        // not one per recipient (3).
        assert!(DEFLATED.encoded() - before < 3);
        assert!(outputs.iter().all(|output| output == &outputs[0]));
        let wire = &outputs[0];
        assert_eq!(wire[0], 0xc1, "FIN + RSV1 + text");
        let len = usize::from(wire[1]);
        assert!(len < 126, "3000 repetitive bytes compress below 126: {len}");
        let inflated = crate::wire::deflate::inflate(&wire[2..2 + len], 10_000).unwrap();
        assert_eq!(inflated, big.as_bytes());
        assert_eq!(
            &wire[2 + len..],
            &expected(&[small])[..],
            "a short frame goes as it is"
        );
    }

    #[tokio::test]
    async fn a_socket_that_takes_nothing_is_an_error() {
        struct Full;
        impl AsyncWrite for Full {
            fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
                Poll::Ready(Ok(0))
            }
            fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
            fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }
        }
        let mut writer = FrameWriter::default();
        writer.push(Frame::text("1"));
        let error = writer.write_to(&mut Full).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WriteZero);
    }
}
