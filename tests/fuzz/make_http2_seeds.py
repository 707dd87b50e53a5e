#!/usr/bin/env python3
"""Writes the seeds of fuzz_http2 into tests/data/http2/ (run from the checkout).

Each seed is one configuration byte, then records [op][len: 2 bytes BE][bytes]
(see tests/fuzz/fuzz_http2.c): op bit 0 is the direction (0 the traced
process sends, 1 it receives), op >> 1 & 3 is 0 data, 2 a gap of len bytes,
3 the end.  The connections are the shapes of tests/unit/test_http2.c, plus
Huffman-coded header strings.
"""
import os
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINUP, CONT = range(10)
ES, ACK, EH, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20

# RFC 7541 Appendix B code lengths; the code is canonical
HUFF_LEN = [13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28,
            28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8,
            11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7,
            7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15,
            5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11,
            14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22,
            23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23,
            22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22,
            23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27,
            26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
            25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30]


def huff_codes():
    codes, code = {}, 0
    for length in range(1, 31):
        for sym in range(257):
            if HUFF_LEN[sym] == length:
                codes[sym] = code
                code += 1
        code <<= 1
    return codes


CODES = huff_codes()


def huffman(s):
    bits = "".join(format(CODES[b], "0%db" % HUFF_LEN[b]) for b in s)
    bits += "1" * (-len(bits) % 8)
    return bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))


def hp_int(first, prefix, v):
    mx = (1 << prefix) - 1
    if v < mx:
        return bytes([first | v])
    out = [first | mx]
    v -= mx
    while v >= 128:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def hp_str(s, huff=False):
    s = s.encode() if isinstance(s, str) else s
    if huff:
        h = huffman(s)
        return hp_int(0x80, 7, len(h)) + h
    return hp_int(0, 7, len(s)) + s


def idx(i):
    return hp_int(0x80, 7, i)


def lit(kind, name_idx, value, name=None, huff=False):
    """kind 0x00 plain, 0x10 never indexed, 0x40 incremental indexing."""
    out = hp_int(kind, 6 if kind == 0x40 else 4, name_idx)
    if not name_idx:
        out += hp_str(name, huff)
    return out + hp_str(value, huff)


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
        struct.pack(">I", sid) + payload


def request_block(path="/v1/chat/completions", host="api.openai.com", huff=False):
    return (idx(3) + idx(7) + lit(0x40, 4, path, huff=huff) + lit(0x40, 1, host, huff=huff) +
            lit(0x40, 31, "application/json", huff=huff) +
            lit(0x10, 23, "Bearer sk-fuzz", huff=huff))


def rec(direction, data=b"", op=0, length=None):
    n = len(data) if length is None else length
    return bytes([op << 1 | direction]) + struct.pack(">H", n) + data


C, S = 0, 1


def gap(direction, n):
    return rec(direction, op=2, length=n)


def preface():
    return (rec(C, PREFACE + frame(SETTINGS, 0, 0, b"\x00\x01\x00\x00\x10\x00")) +
            rec(S, frame(SETTINGS, 0, 0) + frame(SETTINGS, ACK, 0)))


def two_streams(huff=False):
    body_a, body_b = b'{"model":"a","messages":[]}', b'{"model":"b"}'
    c = frame(HEADERS, EH, 1, request_block(huff=huff))
    c += frame(HEADERS, EH, 3, idx(3) + idx(7) + idx(64) + idx(63) + idx(62))
    c += frame(DATA, 0, 3, body_b[:5])
    c2 = frame(DATA, ES, 1, body_a) + frame(DATA, ES, 3, body_b[5:])
    s = frame(HEADERS, EH, 3, idx(8) + lit(0x40, 31, "application/json", huff=huff))
    s += frame(DATA, ES, 3, b'{"id":3}')
    s2 = frame(HEADERS, EH, 1, idx(8) + idx(62)) + frame(DATA, 0, 1, b'{"id":') + \
        frame(DATA, ES, 1, b"1}")
    return preface() + rec(C, c) + rec(C, c2) + rec(S, s) + rec(S, s2)


def continuation_padding():
    blk = request_block("/v1/messages", "api.anthropic.com")
    third = len(blk) // 3
    c = frame(HEADERS, PADDED | PRIO, 1, b"\x03" + b"\x00\x00\x00\x00\x0f" + blk[:third] +
              b"\0\0\0")
    c += frame(CONT, 0, 1, blk[third:2 * third]) + frame(CONT, EH, 1, blk[2 * third:])
    c += frame(PING, 0, 0, b"12345678") + frame(WINUP, 0, 1, b"\0\0\1\0")
    c += frame(PRIORITY, 0, 1, b"\0\0\0\0\0") + frame(0x21, 0xff, 1, b"ext")
    c += frame(DATA, PADDED | ES, 1, b"\x04" + b'{"max_tokens":5}' + b"\0\0\0\0")
    s = frame(HEADERS, EH | ES, 1, idx(9)) + frame(GOAWAY, 0, 0, b"\0\0\0\x09\0\0\0\0")
    return preface() + rec(C, c) + rec(S, s)


def rst():
    c = frame(HEADERS, EH, 1, request_block()) + frame(DATA, ES, 1, b"{}")
    s = frame(RST, 0, 1, b"\0\0\0\x08")
    c2 = frame(HEADERS, EH, 3, idx(3) + idx(7) + idx(64) + idx(63)) + frame(DATA, ES, 3, b"{}")
    s2 = frame(HEADERS, EH, 3, idx(8)) + frame(DATA, 0, 3, b"part")
    c3 = frame(RST, 0, 3, b"\0\0\0\x08")
    s3 = frame(DATA, ES, 3, b"late")
    return preface() + rec(C, c) + rec(S, s) + rec(C, c2) + rec(S, s2) + rec(C, c3) + rec(S, s3)


def sse():
    c = frame(HEADERS, EH, 1, request_block()) + \
        frame(DATA, ES, 1, b'{"model":"m","stream":true}')
    out = preface() + rec(C, c)
    out += rec(S, frame(HEADERS, EH, 1, idx(8) + lit(0x40, 31, "text/event-stream")))
    for i in range(6):
        out += rec(S, frame(DATA, 0, 1, b'data: {"choices":[{"delta":{"content":"w%d "}}]}\n\n'
                            % i))
    out += rec(S, frame(DATA, 0, 1, b"data: [DONE]\n\n") + frame(DATA, ES, 1))
    return out


def mid_connection():
    s = frame(HEADERS, EH, 5, idx(8) + idx(66)) + frame(DATA, ES, 5, b'{"old":1}')
    c = frame(HEADERS, EH, 7, idx(3) + idx(7) + idx(65) + idx(64) +
              lit(0x40, 31, "application/json"))
    c += frame(DATA, ES, 7, b'{"model":"gpt-4o","messages":[]}')
    s2 = frame(HEADERS, EH, 7, idx(8) + idx(70)) + frame(DATA, ES, 7, b'{"id":7}')
    c2 = frame(HEADERS, EH | ES, 9, idx(3) + idx(62))
    return rec(S, s) + rec(C, c) + rec(S, s2) + rec(C, c2)


def server_side():
    # the traced process is the server: the preface arrives (direction 1)
    body = two_streams()
    out, pos = b"", 0
    while pos + 3 <= len(body):
        op, n = body[pos], struct.unpack(">H", body[pos + 1:pos + 3])[0]
        out += bytes([op ^ 1]) + body[pos + 1:pos + 3] + body[pos + 3:pos + 3 + n]
        pos += 3 + n
    return out


def push_promise():
    c = frame(HEADERS, EH, 1, request_block()) + frame(DATA, ES, 1, b"{}")
    s = frame(PUSH, EH, 1, b"\0\0\0\x02" + idx(2) + lit(0x40, 0, "yes", name="x-push"))
    s += frame(HEADERS, EH, 2, idx(8)) + frame(DATA, ES, 2, b"pushed")
    s += frame(HEADERS, EH, 1, idx(8) + idx(62)) + frame(DATA, ES, 1, b"real")
    return preface() + rec(C, c) + rec(S, s)


def interim_trailers():
    c = frame(HEADERS, EH, 1, request_block()) + frame(DATA, ES, 1, b"{}")
    s = frame(HEADERS, EH, 1, lit(0x00, 8, "100"))
    s += frame(HEADERS, EH, 1, idx(8) + lit(0x00, 0, "1", name="x-a", huff=True))
    s += frame(DATA, 0, 1, b"body") + frame(HEADERS, EH | ES, 1, lit(0, 0, "0", name="grpc-status"))
    return preface() + rec(C, c) + rec(S, s)


def gaps():
    c = frame(HEADERS, EH, 1, request_block()) + frame(DATA, ES, 1, b"0123456789abcdefghij")
    c3 = frame(HEADERS, EH | ES, 3, idx(3) + idx(7) + idx(64) + idx(63))
    s = frame(HEADERS, EH, 1, idx(8) + lit(0x40, 0, "1", name="x-a")) + \
        frame(DATA, 0, 1, b"first ")
    s2 = frame(DATA, ES, 1, b"last") + frame(HEADERS, EH | ES, 3, idx(8) + idx(62))
    return (preface() + rec(C, c[:-15]) + gap(C, 10) + rec(C, c[-5:]) + rec(C, c3) + rec(S, s) +
            gap(S, 16) + rec(S, s2))


def table_size_update():
    c = frame(HEADERS, EH, 1, request_block()) + frame(DATA, ES, 1, b"{}")
    s = frame(HEADERS, EH | ES, 1, hp_int(0x20, 5, 0) + hp_int(0x20, 5, 4096) + idx(8) +
              lit(0x40, 0, "v" * 3000, name="big"))
    c2 = frame(HEADERS, EH | ES, 3, hp_int(0x20, 5, 100) + idx(3) + idx(62))
    s2 = frame(HEADERS, EH | ES, 3, idx(13) + idx(62))
    return preface() + rec(C, c) + rec(S, s) + rec(C, c2) + rec(S, s2)


SEEDS = {
    "two_streams.bin": (0x02, two_streams()),
    "two_streams_direct_huffman.bin": (0x03, two_streams(huff=True)),
    "continuation_padding.bin": (0x02, continuation_padding()),
    "rst.bin": (0x04, rst()),
    "sse_small_caps.bin": (0x32, sse()),
    "mid_connection.bin": (0x02, mid_connection()),
    "mid_connection_declined.bin": (0x00, mid_connection()),
    "server_side.bin": (0x06, server_side()),
    "push_promise.bin": (0x02, push_promise()),
    "interim_trailers.bin": (0x03, interim_trailers()),
    "gaps.bin": (0x03, gaps()),
    "table_size_update.bin": (0x02, table_size_update()),
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/data/http2"
    os.makedirs(out, exist_ok=True)
    for name, (cfg, body) in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([cfg]) + body)
    print("%d seeds in %s" % (len(SEEDS), out))


if __name__ == "__main__":
    main()
