#!/usr/bin/env python3
"""Writes the hand-made seed inputs into corpus/<target>/ (named by SHA-1,
like libFuzzer's own files). Run from fuzz/: python3 seeds.py

The seeds are Primus frames as they travel (control messages, typed
events, requests and replies), the edge cases each decoder's doc comments
name, and masked client frames for the WebSocket target.
"""
import hashlib
import os
import struct


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = f"corpus/{target}"
    os.makedirs(folder, exist_ok=True)
    with open(f"{folder}/{hashlib.sha1(data).hexdigest()}", "wb") as out:
        out.write(data)


MESSAGES = [
    '"primus::ping::1795616336603"', '"primus::pong::1795616336603"', '"primus::id::"',
    '"primus::server::close"', '{"event":"say","data":{"text":"hi"}}',
    '{"event":"say","data":{"text":"hi"},"request":1}', '{"reply":1,"data":{"ok":true}}',
    '{"reply":2,"error":"no such room"}', '{"event":"join","data":"lobby","request":3}',
    '[1,-2.5e3,true,false,null,"x"]', '{"a":{"b":[{},[],""]}}',
    ' {"event" : "say" , "data" : "caf\\u00e9 \\ud83d\\ude00"} ', '"\\u0070rimus::ping::1"',
    '"line\\u2028sep"', '{"ev\\u0065nt":"escaped"}', '{"event":"a","event":"b"}', '{"event":5}',
    '{"request":-1}', '"\\ud800"', '0', '-0.0e-0', '1E400', '"\\/\\b\\f\\n\\r\\t\\"\\\\"',
]
for message in MESSAGES:
    put("json_scan", message)
    put("envelope", message)
put("json_scan", "[" * 128 + "]" * 128)
put("json_scan", "[" * 129 + "]" * 129)
put("envelope", '{"data":' + "[" * 128 + "]" * 128 + ',"event":"deep"}')

# The control target also tries each input behind "primus::".
for text in ["primus::ping::1795616336603", "primus::pong::17", "primus::id::", "primus::id::abc",
             "primus::server::close", "primus::server::other", "primus::pongx", "primus::",
             "primus:ping:1", "ping::é1", "ping:é1", "pong:😀1", "ping😀", "server:😀close", "id",
             "primus::ping:\u2028", "pin:g"]:
    put("control", text)


def frame(opcode, payload, fin=True, mask=b"\x01\x02\x03\x04", length=None):
    """A client frame (clients mask every frame)."""
    first = (0x80 if fin else 0) | opcode
    n = len(payload) if length is None else length
    if n < 126:
        header = bytes([first, 0x80 | n])
    elif n < 65536:
        header = bytes([first, 0x80 | 126]) + struct.pack(">H", n)
    else:
        header = bytes([first, 0x80 | 127]) + struct.pack(">Q", n)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# The first byte picks max_length, the read buffer and how bytes arrive.
close = frame(8, struct.pack(">H", 1000))
for settings in [0x07, 0x04, 0x00, 0x9F, 0x62]:
    put("websocket_frames", bytes([settings]) + frame(1, b'"primus::pong::1795616336603"')
        + frame(1, b'{"event":"say","data":{"text":"hi"}}') + close)
put("websocket_frames", bytes([0x07]) + frame(2, bytes(range(40))) + frame(9, b"ping") + frame(10, b"") + close)
put("websocket_frames", bytes([0x07]) + frame(1, b'{"event":', fin=False) + frame(9, b"") + frame(0, b'"say"}') + close)
put("websocket_frames", bytes([0x04]) + frame(1, b"x" * 126))
put("websocket_frames", bytes([0x05]) + frame(2, b"y" * 300))
put("websocket_frames", bytes([0x07]) + frame(1, b"", length=1 << 40))
put("websocket_frames", bytes([0x07]) + frame(1, "é".encode()[:1]) + close)
put("websocket_frames", bytes([0x07]) + bytes([0x81, 8]) + b"unmasked")



def deflated(data):
    """One message compressed on its own, without the trailing empty block
    (RFC 7692), as permessage-deflate sends it."""
    import zlib
    compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return out[:-4]


# The first byte picks max_length (0, 125, 64 KiB, 1 MiB) and how bytes arrive.
text = deflated(b'{"event":"say","data":{"text":"' + b"hello " * 300 + b'"}}')
for settings in [0x03, 0x07, 0x1F, 0x02]:
    put("deflate_frames", bytes([settings]) + frame(0x41, text) + frame(1, b'"plain"') + close)
put("deflate_frames", bytes([0x03]) + frame(0x41, text[:10], fin=False) + frame(9, b"ping") + frame(0, text[10:]) + close)
put("deflate_frames", bytes([0x03]) + frame(0x42, deflated(bytes(range(256)) * 20)))
put("deflate_frames", bytes([0x02]) + frame(0x41, deflated(b"\0" * 200_000)))
put("deflate_frames", bytes([0x03]) + frame(0x41, text[:10], fin=False) + frame(0x40, text[10:]))
put("deflate_frames", bytes([0x03]) + frame(0x41, text[:10], fin=False) + frame(1, b"x"))
put("deflate_frames", bytes([0x03]) + frame(0x49, b"ping") + frame(0x41, b"\xff\xff\xff"))
put("deflate_frames", bytes([0x03]) + frame(0x41, deflated("é".encode())[:3]) + frame(0x41, b""))

# The first byte picks the form: 0 a form body, 1 a JSON body, 2 messages
# split on NUL (form-encoded, read back, written into a chunk).
put("browserchannel", b"\x00count=2&ofs=0&req0__S=%22a%22&req1_JSON=%7B%22b%22%3A1%7D")
put("browserchannel", b"\x00count=0")
put("browserchannel", b"\x00count=3&ofs=9&req2__S=x&req0_other=y")
put("browserchannel", b'\x01{"ofs":3,"data":["\\"a\\"",{"b":[1]}]}')
put("browserchannel", "\x02\"primus::ping::1\"\0{\"event\":\"say\"}\0caf\u00e9 \u2028 \U0001F600".encode())

for query in ["", "a=1&a=2&b=%20x&c&d=e+f", "primus=1&token=abc%2Fdef", "%zz=%C3%A9%FF+x", "a&&b=&=c&=",
              "a=b=c", "__proto__=1&constructor=2", "x=%", "k=%E9", "&" * 999 + "a=1&b=2"]:
    put("query", query)
