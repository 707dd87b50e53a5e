#!/usr/bin/env python3
"""HTTPS stand-in for LLM APIs on 127.0.0.1, used by the end-to-end tests.

Speaks enough of each API for real clients and for llmtap's decoders:
  POST /v1/chat/completions   OpenAI Chat Completions, plain or "stream": true
                              (with stream_options.include_usage); ?chunked=1
                              forces chunked framing; ?enc=gzip|br compresses
  POST /v1/messages           Anthropic Messages, plain or streamed (named events)
  POST /v1beta/models/M:generateContent, :streamGenerateContent?alt=sse   Gemini
  POST /api/chat              Ollama, NDJSON streamed unless "stream": false
  GET  /index.html            not LLM traffic
Usage: llm_server.py CERT KEY          HTTPS on 127.0.0.1, a free port
       llm_server.py --plain HOST PORT plain HTTP (PORT 0: a free one; HOST may be ::1)
The assistant's text is "réponse ✓ " + the last user text (its first 200
characters), so tests can
predict every field.  Token counts are word counts.  Prints "listening PORT".
"""
import gzip
import http.server
import json
import socket
import ssl
import subprocess
import sys
import time


def words(s):
    return len(s.split())


def last_user_text(messages):
    for m in reversed(messages or []):
        if m.get("role") == "user":
            c = m.get("content")
            if isinstance(c, str):
                return c
            if isinstance(c, list):
                return " ".join(p.get("text", "") for p in c if isinstance(p, dict))
    return ""


def gemini_user_text(req):
    for c in reversed(req.get("contents") or []):
        if c.get("role", "user") == "user":
            return " ".join(p.get("text", "") for p in c.get("parts", []))
    return ""


def compress(data, enc):
    if enc == "gzip":
        return gzip.compress(data)
    if enc == "br":
        return subprocess.run(["brotli", "-c"], input=data, stdout=subprocess.PIPE,
                              check=True).stdout
    return data


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def _reply(self, status, ctype, data, chunked=False, enc=None):
        data = compress(data, enc)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if enc:
            self.send_header("Content-Encoding", enc)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            step = max(1, len(data) // 3)
            for i in range(0, len(data), step):
                part = data[i:i + step]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def _sse(self, events):
        """Streams (event, data) pairs as SSE, one chunk each, with small pauses."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for name, data in events:
            text = ("event: %s\n" % name if name else "") + "data: %s\n\n" % data
            raw = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            self.wfile.flush()
            time.sleep(0.005)
        self.wfile.write(b"0\r\n\r\n")

    def _query(self):
        q = {}
        if "?" in self.path:
            for kv in self.path.split("?", 1)[1].split("&"):
                k, _, v = kv.partition("=")
                q[k] = v
        return q

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        q = self._query()
        try:
            req = json.loads(self._body() or b"{}")
        except ValueError:
            req = {}
        if path == "/v1/chat/completions":
            self.openai_chat(req, q)
        elif path == "/v1/messages":
            self.anthropic(req)
        elif path.startswith("/v1beta/models/"):
            self.gemini(req, path)
        elif path == "/api/chat":
            self.ollama_chat(req)
        else:
            self._reply(404, "text/plain", b"not found")

    def do_GET(self):
        if self.path == "/index.html":
            self._reply(200, "text/html", b"<html><body>hello</body></html>")
        else:
            self._reply(404, "text/plain", b"not found")

    def openai_chat(self, req, q):
        user = last_user_text(req.get("messages"))
        text = "réponse ✓ " + user[:200]
        model = req.get("model", "gpt-test")
        usage = {"prompt_tokens": words(user), "completion_tokens": words(text),
                 "total_tokens": words(user) + words(text),
                 "prompt_tokens_details": {"cached_tokens": 0}}
        if not req.get("stream"):
            out = {"id": "chatcmpl-e2e", "object": "chat.completion", "created": 1,
                   "model": model + "-2024-08-06", "system_fingerprint": "fp_e2e",
                   "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": text}}],
                   "usage": usage}
            self._reply(200, "application/json", json.dumps(out, ensure_ascii=False).encode(),
                        chunked="chunked" in q, enc=q.get("enc"))
            return
        base = {"id": "chatcmpl-e2e-s", "object": "chat.completion.chunk", "created": 1,
                "model": model + "-2024-08-06", "system_fingerprint": "fp_e2e"}
        events = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant",
                                                            "content": ""}}])]
        for w in text.split(" "):
            events.append(dict(base, choices=[{"index": 0, "delta": {"content": w + " "}}]))
        events.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
        if (req.get("stream_options") or {}).get("include_usage"):
            usage["completion_tokens"] = words(text)
            events.append(dict(base, choices=[], usage=usage))
        self._sse([(None, json.dumps(e, ensure_ascii=False)) for e in events] +
                  [(None, "[DONE]")])

    def anthropic(self, req):
        user = last_user_text(req.get("messages"))
        text = "réponse ✓ " + user[:200]
        model = req.get("model", "claude-test")
        if not req.get("stream"):
            out = {"id": "msg_e2e", "type": "message", "role": "assistant", "model": model,
                   "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                   "usage": {"input_tokens": words(user), "output_tokens": words(text),
                             "cache_read_input_tokens": 2, "cache_creation_input_tokens": 0}}
            self._reply(200, "application/json", json.dumps(out, ensure_ascii=False).encode())
            return
        ev = [("message_start", {"type": "message_start", "message": {
            "id": "msg_e2e_s", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": None,
            "usage": {"input_tokens": words(user), "output_tokens": 1,
                      "cache_read_input_tokens": 2, "cache_creation_input_tokens": 0}}}),
              ("content_block_start", {"type": "content_block_start", "index": 0,
                                       "content_block": {"type": "text", "text": ""}}),
              ("ping", {"type": "ping"})]
        for w in text.split(" "):
            ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": w + " "}}))
        ev += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
               ("message_delta", {"type": "message_delta",
                                  "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                  "usage": {"output_tokens": words(text)}}),
               ("message_stop", {"type": "message_stop"})]
        self._sse([(n, json.dumps(d, ensure_ascii=False)) for n, d in ev])

    def ollama_chat(self, req):
        user = last_user_text(req.get("messages"))
        text = "réponse ✓ " + user[:200]
        model = req.get("model", "llama3.2")
        done = {"model": model, "created_at": "2026-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": text}, "done": True,
                "done_reason": "stop", "total_duration": 1000, "prompt_eval_count": words(user),
                "eval_count": words(text)}
        if req.get("stream") is False:
            self._reply(200, "application/json", json.dumps(done, ensure_ascii=False).encode())
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        lines = [{"model": model, "created_at": "2026-01-01T00:00:00Z",
                  "message": {"role": "assistant", "content": w + " "}, "done": False}
                 for w in text.split(" ")]
        last = dict(done, message={"role": "assistant", "content": ""})
        for obj in lines + [last]:
            raw = (json.dumps(obj, ensure_ascii=False) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            self.wfile.flush()
            time.sleep(0.005)
        self.wfile.write(b"0\r\n\r\n")

    def gemini(self, req, path):
        model = path.split("/")[-1].split(":")[0]
        user = gemini_user_text(req)
        text = "réponse ✓ " + user[:200]
        usage = {"promptTokenCount": words(user), "candidatesTokenCount": words(text),
                 "totalTokenCount": words(user) + words(text)}
        if path.endswith(":generateContent"):
            out = {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                   "finishReason": "STOP", "index": 0}],
                   "usageMetadata": usage, "modelVersion": model, "responseId": "gem-e2e"}
            self._reply(200, "application/json", json.dumps(out, ensure_ascii=False).encode())
            return
        chunks = []
        parts = text.split(" ")
        for i, w in enumerate(parts):
            c = {"candidates": [{"content": {"role": "model", "parts": [{"text": w + " "}]},
                                 "index": 0}], "modelVersion": model, "responseId": "gem-e2e-s"}
            if i == len(parts) - 1:
                c["candidates"][0]["finishReason"] = "STOP"
                c["usageMetadata"] = usage
            chunks.append((None, json.dumps(c, ensure_ascii=False)))
        self._sse(chunks)


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def main():
    if sys.argv[1] == "--plain":
        host, port = sys.argv[2], int(sys.argv[3])
        cls = Server6 if ":" in host else http.server.ThreadingHTTPServer
        srv = cls((host, port), Handler)
    else:
        cert, key = sys.argv[1], sys.argv[2]
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
