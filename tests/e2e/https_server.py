#!/usr/bin/env python3
"""HTTPS stand-in for an LLM API on 127.0.0.1, used by the end-to-end tests.

POST /v1/chat/completions  -> JSON that echoes the request's length and marker
POST /v1/chat/completions?chunked=1 -> the same JSON, Transfer-Encoding: chunked
GET  /index.html           -> a small HTML page (non-LLM traffic)
Prints "listening PORT" once ready.
"""
import http.server
import json
import ssl
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def _reply(self, status, ctype, data, chunked=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
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

    def do_POST(self):
        body = self._body()
        try:
            marker = json.loads(body).get("marker", "")
        except ValueError:
            marker = ""
        out = json.dumps({"id": "chatcmpl-e2e", "object": "chat.completion",
                          "marker": marker, "received": len(body),
                          "choices": [{"index": 0, "message": {"role": "assistant",
                                                              "content": "réponse ✓"}}]},
                         ensure_ascii=False).encode()
        if self.path == "/v1/chat/completions":
            self._reply(200, "application/json", out)
        elif self.path == "/v1/chat/completions?chunked=1":
            self._reply(200, "application/json", out, chunked=True)
        else:
            self._reply(404, "text/plain", b"not found")

    def do_GET(self):
        if self.path == "/index.html":
            self._reply(200, "text/html", b"<html><body>hello</body></html>")
        else:
            self._reply(404, "text/plain", b"not found")


def main():
    cert, key = sys.argv[1], sys.argv[2]
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print("listening", srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
