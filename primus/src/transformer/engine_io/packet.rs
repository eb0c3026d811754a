//! Engine.IO v4 packets: `0` open, `1` close, `2` ping, `3` pong,
//! `4` message, `5` upgrade, `6` noop. A polling payload joins packets with
//! the record separator (0x1E); binary messages travel as `b` and base64.

use crate::wire::Frame;
use bytes::Bytes;

/// The record separator between the packets of a polling payload.
pub(super) const SEPARATOR: u8 = 0x1e;

/// The server's close packet.
pub(super) const CLOSE: &str = "1";
/// The server's ping (Engine.IO v4: the server pings, the client answers).
pub(super) const PING: &str = "2";
/// The answer to a polling request that has nothing to carry.
pub(super) const NOOP: &str = "6";

/// A packet from the client.
#[derive(Debug, PartialEq)]
pub(crate) enum Packet {
    /// A message (`4…`, or `b…` in base64).
    Message(Frame),
    /// `1`: the client closes.
    Close,
    /// `2…`: a ping (`2probe` during an upgrade).
    Ping(String),
    /// `3…`: a pong.
    Pong,
    /// `5`: the upgrade is complete.
    Upgrade,
    /// `6`.
    Noop,
}

/// Why a packet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PacketError {
    #[error("an empty packet")]
    Empty,
    #[error("an unknown packet type")]
    UnknownType,
    #[error("invalid base64 in a binary packet")]
    Base64,
    #[error("a message is larger than the server's limit of {limit} bytes")]
    TooLarge { limit: usize },
}

/// A message as a packet: `4` and the text, or `b` and base64.
pub(crate) fn encode(frame: &Frame) -> Option<Bytes> {
    let mut out = Vec::with_capacity(frame.len() + 1);
    match frame.as_str() {
        Some(text) => {
            out.push(b'4');
            out.extend_from_slice(text.as_bytes());
        }
        None => {
            out.push(b'b');
            base64_encode(frame.as_bytes(), &mut out);
        }
    }
    Some(Bytes::from(out))
}

/// One packet (a WebSocket frame's text, or one record of a payload).
pub(crate) fn decode(text: &str, max_length: usize) -> Result<Packet, PacketError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(PacketError::Empty)?;
    let rest = chars.as_str();
    match kind {
        '4' if rest.len() > max_length => Err(PacketError::TooLarge { limit: max_length }),
        '4' => Ok(Packet::Message(Frame::text(rest))),
        'b' => {
            let bytes = base64_decode(rest.as_bytes()).ok_or(PacketError::Base64)?;
            if bytes.len() > max_length {
                return Err(PacketError::TooLarge { limit: max_length });
            }
            Ok(Packet::Message(Frame::binary(bytes)))
        }
        '1' => Ok(Packet::Close),
        '2' => Ok(Packet::Ping(rest.to_owned())),
        '3' => Ok(Packet::Pong),
        '5' => Ok(Packet::Upgrade),
        '6' => Ok(Packet::Noop),
        _ => Err(PacketError::UnknownType),
    }
}

/// The packets of a polling payload, in order.
pub(crate) fn decode_payload(payload: &str, max_length: usize) -> Result<Vec<Packet>, PacketError> {
    payload
        .split(char::from(SEPARATOR))
        .map(|packet| decode(packet, max_length))
        .collect()
}

/// Packets joined into a polling payload.
pub(crate) fn payload(packets: &[Bytes]) -> Bytes {
    let len = packets.iter().map(|p| p.len() + 1).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            out.push(SEPARATOR);
        }
        out.extend_from_slice(packet);
    }
    Bytes::from(out)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(input: &[u8], out: &mut Vec<u8>) {
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, symbol) in symbols.iter().enumerate() {
            match i <= chunk.len() {
                true => out.push(ALPHABET[*symbol as usize]),
                false => out.push(b'='),
            }
        }
    }
}

fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let input = input
        .strip_suffix(b"==")
        .or_else(|| input.strip_suffix(b"="))
        .unwrap_or(input);
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let (mut bits, mut count) = (0u32, 0u32);
    for &c in input {
        let value = ALPHABET.iter().position(|&a| a == c)? as u32;
        bits = (bits << 6) | value;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_packets_of_type_4_or_base64() {
        assert_eq!(encode(&Frame::text(r#""hi""#)).unwrap(), r#"4"hi""#);
        assert_eq!(encode(&Frame::binary(vec![1, 2, 3, 4])).unwrap(), "bAQIDBA==");
        assert_eq!(
            decode("bAQIDBA==", 10),
            Ok(Packet::Message(Frame::binary(vec![1, 2, 3, 4])))
        );
        assert_eq!(decode("2probe", 10), Ok(Packet::Ping("probe".into())));
        assert_eq!(decode("", 10), Err(PacketError::Empty));
        assert_eq!(decode("9", 10), Err(PacketError::UnknownType));
        assert_eq!(decode("b!!", 10), Err(PacketError::Base64));
        assert_eq!(decode("4xxxxx", 3), Err(PacketError::TooLarge { limit: 3 }));
    }

    #[test]
    fn payloads_join_packets_with_the_record_separator() {
        let joined = payload(&[Bytes::from_static(b"4a"), Bytes::from_static(b"2")]);
        assert_eq!(joined, "4a\u{1e}2");
        let packets = decode_payload("4a\u{1e}3\u{1e}1", 10).unwrap();
        assert_eq!(
            packets,
            [Packet::Message(Frame::text("a")), Packet::Pong, Packet::Close]
        );
    }

    #[test]
    fn base64_round_trips() {
        for len in 0..20u8 {
            let data: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            let mut text = Vec::new();
            base64_encode(&data, &mut text);
            assert_eq!(base64_decode(&text).unwrap(), data, "{len}");
        }
    }
}
