"""Frames on the agent ↔ bridge socket, the framing of libs/device/src/wire.ts:
[u32 BE header length][u32 BE body length][UTF-8 JSON header][body bytes]. Requests carry an id;
answers echo it, so the agent may have several requests in flight on one connection."""

import json
import struct

MAX_HEADER = 64 * 1024
MAX_BODY = 256 * 1024 * 1024


def encode_frame(header, body=b""):
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if len(h) > MAX_HEADER or len(body) > MAX_BODY:
        raise ValueError("frame too large")
    return struct.pack(">II", len(h), len(body)) + h + body


def _read_exact(sock, n):
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def read_frame(sock):
    """The next frame's (header, body), or None when the peer closed the connection."""
    prefix = _read_exact(sock, 8)
    if prefix is None:
        return None
    hl, bl = struct.unpack(">II", prefix)
    if hl > MAX_HEADER or bl > MAX_BODY:
        raise ValueError(f"malformed frame: header {hl} bytes, body {bl} bytes")
    head = _read_exact(sock, hl)
    body = _read_exact(sock, bl) if bl else b""
    if head is None or body is None:
        return None
    header = json.loads(head.decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("malformed frame: header is not an object")
    return header, body
