#!/usr/bin/env python3
"""A local HTTP receiver for the shipping tests (http and otlp outputs).

Listens on 127.0.0.1:PORT and stores every record it accepts, once per "id",
as one line of the file given with --store (the exact sealed line, so
`llmtap verify` can run on it).  Bodies may be gzipped (Content-Encoding).

  POST /v1/logs     OTLP/HTTP JSON: the shape is checked (lowerCamelCase keys,
                    64-bit integers as decimal strings, integer enums, AnyValue
                    oneofs); a violation is a 400 naming it.  The records are
                    the logRecords' body.stringValue.
  POST <any other>  NDJSON: one JSON object per line (else 400).
  GET  /_stats      JSON counters (requests, by status, records, duplicates).

Modes, switched at run time (Receiver.set_mode(), or the JSON control file
given with --control, polled every 0.1 s: {"mode": "503", "retry_after": 2}):
  accept   200 (otlp: {} or, with "partial": N, a partialSuccess rejecting N)
  503      503 with Retry-After: retry_after (seconds; omitted when null)
  down     the listening socket is closed and open connections are cut:
           clients see "connection refused"
  status   answer every POST with "status" (e.g. 400) and store nothing

TLS (optional): with tls_cert/tls_key (--tls-cert, --tls-key) it speaks HTTPS;
with client_ca (--client-ca) too, it requires a client certificate signed by
that CA (mutual TLS).  The handshake runs in the connection's thread, so a
client that stalls or fails it never blocks the others; failed handshakes
are kept (tls_errors(), "tls_failures" in the stats) and get no HTTP answer.

As a module (tests/e2e): r = Receiver(store=path, token="t"); r.port;
r.set_mode("down"); r.ids(); r.records(); r.stop(); r.url("/path");
r.requests(): the last requests answered, each {"method", "path", "headers"
(names lowercased), "status", "peer_cn" (the client certificate's CN)}.
"""
import argparse
import gzip
import http.server
import json
import os
import re
import socket
import socketserver
import ssl
import sys
import threading
import time
from collections import deque

CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
DIGITS = re.compile(r"^[0-9]+$")
INT64 = re.compile(r"^-?[0-9]+$")
ANY_KEYS = {"stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue",
            "bytesValue"}
REQUESTS_KEPT = 1000  # requests() and tls_errors() keep the newest this many
HANDSHAKE_TIMEOUT = 5


class ShapeError(Exception):
    pass


def _check_keys(v, path="$"):
    """Every object key lowerCamelCase (attribute names live in "key" values)."""
    if isinstance(v, dict):
        for k, e in v.items():
            if not CAMEL.match(k):
                raise ShapeError("%s: key %r is not lowerCamelCase" % (path, k))
            _check_keys(e, path + "." + k)
    elif isinstance(v, list):
        for i, e in enumerate(v):
            _check_keys(e, "%s[%d]" % (path, i))


def _check_any(v, path):
    if not isinstance(v, dict):
        raise ShapeError("%s: AnyValue must be an object" % path)
    keys = set(v) & ANY_KEYS
    if len(keys) > 1 or set(v) - ANY_KEYS:
        raise ShapeError("%s: AnyValue has keys %s" % (path, sorted(v)))
    if "intValue" in v and not (isinstance(v["intValue"], str) and INT64.match(v["intValue"])):
        raise ShapeError("%s.intValue: int64 must be a decimal string" % path)
    if "stringValue" in v and not isinstance(v["stringValue"], str):
        raise ShapeError("%s.stringValue: not a string" % path)
    if "boolValue" in v and not isinstance(v["boolValue"], bool):
        raise ShapeError("%s.boolValue: not a boolean" % path)
    if "doubleValue" in v and (isinstance(v["doubleValue"], bool)
                               or not isinstance(v["doubleValue"], (int, float))):
        raise ShapeError("%s.doubleValue: not a number" % path)
    if "arrayValue" in v:
        for i, e in enumerate(v["arrayValue"].get("values", [])):
            _check_any(e, "%s.arrayValue.values[%d]" % (path, i))
    if "kvlistValue" in v:
        _check_attrs(v["kvlistValue"].get("values", []), path + ".kvlistValue.values")


def _check_attrs(attrs, path):
    if not isinstance(attrs, list):
        raise ShapeError("%s: attributes must be a list" % path)
    for i, kv in enumerate(attrs):
        p = "%s[%d]" % (path, i)
        if not isinstance(kv, dict) or not isinstance(kv.get("key"), str):
            raise ShapeError("%s: KeyValue needs a string key" % p)
        if "value" in kv:
            _check_any(kv["value"], p + ".value")


def otlp_records(doc):
    """Checks an ExportLogsServiceRequest; returns the body strings."""
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceLogs"), list):
        raise ShapeError("$: resourceLogs missing")
    _check_keys(doc)
    out = []
    for i, rl in enumerate(doc["resourceLogs"]):
        p = "$.resourceLogs[%d]" % i
        _check_attrs(rl.get("resource", {}).get("attributes", []), p + ".resource.attributes")
        for j, sl in enumerate(rl.get("scopeLogs", [])):
            q = "%s.scopeLogs[%d]" % (p, j)
            for k, rec in enumerate(sl.get("logRecords", [])):
                r = "%s.logRecords[%d]" % (q, k)
                for f in ("timeUnixNano", "observedTimeUnixNano"):
                    if f in rec and not (isinstance(rec[f], str) and DIGITS.match(rec[f])):
                        raise ShapeError("%s.%s: fixed64 must be a decimal string" % (r, f))
                sev = rec.get("severityNumber")
                if sev is not None and (isinstance(sev, bool) or not isinstance(sev, int)
                                        or not 0 <= sev <= 24):
                    raise ShapeError("%s.severityNumber: enum must be an integer 0..24" % r)
                _check_attrs(rec.get("attributes", []), r + ".attributes")
                body = rec.get("body")
                if body is not None:
                    _check_any(body, r + ".body")
                    if isinstance(body.get("stringValue"), str):
                        out.append(body["stringValue"])
    return out


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        self.tls_failed = False
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                self.request.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.server.owner._tls_failed(str(e))
                self.tls_failed = True
            self.request.settimeout(None)
        super().setup()
        self.server.owner._track(self.connection, True)

    def handle(self):
        if not self.tls_failed:
            super().handle()

    def _peer_cn(self):
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        try:
            cert = self.connection.getpeercert()
        except (ssl.SSLError, ValueError):
            return None
        for rdn in (cert or {}).get("subject", ()):
            for k, v in rdn:
                if k == "commonName":
                    return v
        return None

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def _send(self, code, body=b"", ctype="application/json", extra=()):
        self.server.owner._count(code)  # before the client can see the answer
        self.server.owner._log_request(self.command, self.path, self.headers, code,
                                       self._peer_cn())
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def do_GET(self):
        if self.path == "/_stats":
            self._send(200, json.dumps(self.server.owner.stats()).encode())
        else:
            self._send(404, b"{}")

    def do_POST(self):
        r = self.server.owner
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        mode = r.mode()
        if mode["mode"] == "503":
            extra = []
            if mode.get("retry_after") is not None:
                extra.append(("Retry-After", str(mode["retry_after"])))
            return self._send(503, b'{"message":"unavailable"}', extra=extra)
        if mode["mode"] == "status":
            return self._send(int(mode.get("status", 400)), b'{"message":"refused"}')
        if r.token is not None and self.headers.get("Authorization") != "Bearer " + r.token:
            return self._send(401, b'{"message":"bad token"}')
        if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
            try:
                raw = gzip.decompress(raw)
            except OSError:
                return self._send(400, b'{"message":"bad gzip"}')
        try:
            text = raw.decode("utf-8")
            if self.path.split("?")[0].endswith("/v1/logs"):
                if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                    raise ShapeError("Content-Type must be application/json")
                lines = otlp_records(json.loads(text))
            else:
                lines = [l for l in text.split("\n") if l]
                for l in lines:
                    if not isinstance(json.loads(l), dict):
                        raise ShapeError("NDJSON line is not an object")
        except (ValueError, ShapeError) as e:
            r._rejected(str(e))
            return self._send(400, json.dumps({"message": str(e)}).encode())
        r._store(lines)
        body = b"{}"
        if self.path.split("?")[0].endswith("/v1/logs") and mode.get("partial"):
            body = json.dumps({"partialSuccess": {"rejectedLogRecords": str(mode["partial"]),
                                                  "errorMessage": "test partial"}}).encode()
        self._send(200, body)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None  # an ssl.SSLContext: HTTPS

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls:
            # the handshake happens in the handler's thread (_Handler.setup)
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class Receiver:
    def __init__(self, port=0, store=None, token=None, control=None, tls_cert=None,
                 tls_key=None, client_ca=None):
        self.token = token
        self._tls = None
        if client_ca and not tls_cert:
            raise ValueError("client_ca needs tls_cert")
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            if client_ca:
                ctx.load_verify_locations(cafile=client_ca)
                ctx.verify_mode = ssl.CERT_REQUIRED
            self._tls = ctx
        self.scheme = "https" if self._tls else "http"
        self._requests = deque(maxlen=REQUESTS_KEPT)
        self._tls_errors = deque(maxlen=REQUESTS_KEPT)
        self.store_path = store
        self.control = control
        self._lock = threading.Lock()
        self._mode = {"mode": "accept"}
        self._ids = set()
        self._records = []
        self._conns = set()
        self._counts = {"requests": 0, "records": 0, "duplicates": 0, "by_status": {},
                        "rejections": [], "tls_failures": 0}
        self._server = None
        self._thread = None
        self.port = port
        self._up()
        self.port = self._server.server_address[1]
        self._stop = False
        if control:
            threading.Thread(target=self._poll_control, daemon=True).start()

    # -- listening --
    def _up(self):
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.owner = self
        self._server.tls = self._tls
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _down(self):
        if not self._server:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _track(self, conn, add):
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # -- modes --
    def set_mode(self, mode, **kw):
        """mode: accept | 503 | down | status; kw: retry_after, status, partial."""
        new = dict(kw, mode=mode)
        with self._lock:
            old = self._mode
            self._mode = new
        if mode == "down" and old["mode"] != "down":
            self._down()
        elif mode != "down" and old["mode"] == "down":
            for _ in range(50):  # the port may linger a moment
                try:
                    self._up()
                    break
                except OSError:
                    time.sleep(0.1)

    def mode(self):
        with self._lock:
            return dict(self._mode)

    def _poll_control(self):
        last = None
        while not self._stop:
            try:
                with open(self.control) as f:
                    text = f.read()
                if text != last:
                    last = text
                    m = json.loads(text)
                    self.set_mode(m.pop("mode"), **m)
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)

    # -- records --
    def _count(self, code):
        with self._lock:
            self._counts["requests"] += 1
            k = str(code)
            self._counts["by_status"][k] = self._counts["by_status"].get(k, 0) + 1

    def _log_request(self, method, path, headers, code, peer_cn):
        req = {"method": method, "path": path, "status": code, "peer_cn": peer_cn,
               "headers": {k.lower(): v for k, v in headers.items()}}
        with self._lock:
            self._requests.append(req)

    def _tls_failed(self, why):
        with self._lock:
            self._counts["tls_failures"] += 1
            self._tls_errors.append(why)

    def _rejected(self, why):
        with self._lock:
            self._counts["rejections"].append(why)

    def _store(self, lines):
        new = []
        with self._lock:
            for l in lines:
                try:
                    rid = json.loads(l).get("id")
                except (ValueError, AttributeError):
                    rid = None
                if rid is not None and rid in self._ids:
                    self._counts["duplicates"] += 1
                    continue
                if rid is not None:
                    self._ids.add(rid)
                self._records.append(l)
                self._counts["records"] += 1
                new.append(l)
            if self.store_path and new:
                with open(self.store_path, "a") as f:
                    f.write("".join(l + "\n" for l in new))

    def records(self):
        with self._lock:
            return list(self._records)

    def ids(self):
        with self._lock:
            return set(self._ids)

    def url(self, path="/"):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def requests(self):
        """The last requests answered, oldest first (see the module doc)."""
        with self._lock:
            return json.loads(json.dumps(list(self._requests)))

    def tls_errors(self):
        """Why the last failed TLS handshakes failed (the ssl module's words)."""
        with self._lock:
            return list(self._tls_errors)

    def stats(self):
        with self._lock:
            return json.loads(json.dumps(self._counts))

    def stop(self):
        self._stop = True
        self._down()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--store", help="append accepted records here (one per id)")
    ap.add_argument("--token", help="require Authorization: Bearer TOKEN")
    ap.add_argument("--control", help="JSON control file, polled")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's key (PEM; default: in --tls-cert)")
    ap.add_argument("--client-ca", help="require a client certificate signed by this CA")
    a = ap.parse_args()
    r = Receiver(a.port, a.store, a.token, a.control, tls_cert=a.tls_cert, tls_key=a.tls_key,
                 client_ca=a.client_ca)
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % r.port)
        os.rename(a.port_file + ".tmp", a.port_file)
    print("listening %d" % r.port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        r.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
