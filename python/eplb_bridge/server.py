"""The bridge's local socket: the node's agent sends PREPARE / COMMIT / ABORT / DESCRIBE.

One frame per message (wire.py); the header is {id, op}, the body the request's JSON. Every request
runs on its own thread, so a DESCRIBE is answered while a PREPARE moves weights and a COMMIT waits
for its step boundary. Answers: header {id, ok[, error]}, body the result's JSON.
"""

import json
import os
import socket
import threading

from .wire import encode_frame, read_frame


class BridgeServer:
    def __init__(self, bridge, path, log=None):
        self.bridge = bridge
        self.path = path
        self.log = log or (lambda msg: None)
        self._sock = None
        self._closed = False

    def start(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.bind(self.path)
        self._sock.listen(8)
        threading.Thread(target=self._accept, name="bridge-accept", daemon=True).start()
        return self

    def close(self):
        self._closed = True
        if self._sock:
            self._sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)

    def _accept(self):
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="bridge-conn", daemon=True).start()

    def _serve(self, conn):
        write = threading.Lock()

        def answer(header, result):
            body = json.dumps(result, separators=(",", ":")).encode("utf-8") if result is not None else b""
            with write:
                try:
                    conn.sendall(encode_frame(header, body))
                except OSError:
                    pass

        try:
            while True:
                frame = read_frame(conn)
                if frame is None:
                    return
                header, body = frame
                req = json.loads(body.decode("utf-8")) if body else {}
                threading.Thread(target=self._run, args=(header, req, answer), daemon=True).start()
        except (OSError, ValueError) as e:
            self.log(f"agent connection dropped: {e}")
        finally:
            conn.close()

    def _run(self, header, req, answer):
        rid = header.get("id")
        op = header.get("op")
        try:
            result = self.handle(op, req)
            answer({"id": rid, "ok": True}, result)
        except Exception as e:  # every failure is the agent's answer, not the server's end
            answer({"id": rid, "ok": False, "error": str(e) or type(e).__name__}, None)

    def handle(self, op, req):
        b = self.bridge
        if op == "prepare":
            sums = b.prepare(req["layer"], req.get("rollout", ""), req.get("attempt", 0), req["version"], req["row"],
                             req.get("local", []), req.get("recv", []), req.get("send", []),
                             bytes_per_second=req.get("bytesPerSecond"), repair=req.get("repair", False),
                             timeout_s=req.get("timeoutMs", 60_000) / 1000)
            return {"staged": {str(k): v for k, v in sorted(sums.items())}}
        if op == "commit":
            return {"holdings": b.commit(req["layer"], req.get("rollout", ""), timeout_s=req.get("timeoutMs", 60_000) / 1000)}
        if op == "abort":
            b.abort(req["layer"], req.get("rollout", ""), req.get("attempt"))
            return {}
        if op == "describe":
            return {"layers": b.describe(req.get("layers"))}
        if op == "hello":
            return {"rank": b.rank, "layers": len(b.weights), "slotsPerRank": b.S, "staged": b.staged_layers(),
                    "preparing": b.preparing_layers(), "stats": dict(b.stats)}
        raise ValueError(f"unknown op {op!r}")
