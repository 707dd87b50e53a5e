#!/usr/bin/env python3
"""End-to-end tests: the real agent, real BPF programs, real TLS clients.

Starts build/llmtap, an HTTPS stand-in server on 127.0.0.1 with a throwaway
certificate, drives curl, python (urllib, http.client), node and a python
with a private copy of libssl against it, and checks the records field by
field.  Needs root; ends with the line "N passed, N failed".
"""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "build", "llmtap")
HERE = os.path.dirname(os.path.abspath(__file__))
SECRET = "sk-e2e-secret-4f1c9a7b"

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Skip(Exception):
    pass


class Agent:
    """The agent under test, with its stderr collected in the background."""

    def __init__(self, out, *args):
        self.out = out
        self.lines = []
        self.cond = threading.Condition()
        self.proc = subprocess.Popen([AGENT, "run", "--output", out, *args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_line(self, prefix, timeout=30, start=0):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for line in self.lines[start:]:
                    if line.startswith(prefix):
                        return line
                left = deadline - time.time()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError("agent never printed %r; stderr:\n%s"
                                         % (prefix, "\n".join(self.lines)))
                self.cond.wait(left)

    def stats(self):
        """Asks the running agent for its counters (SIGUSR1)."""
        start = len(self.lines)
        self.proc.send_signal(signal.SIGUSR1)
        line = self.wait_line("llmtap: stats ", timeout=10, start=start)
        return json.loads(line[len("llmtap: stats "):])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def read_records(path):
    recs = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    recs.append(json.loads(line))
    except FileNotFoundError:
        pass
    return recs


def wait_records(pred, count=1, timeout=15):
    """Records of the run matching pred, once at least count exist."""
    deadline = time.time() + timeout
    while True:
        found = [r for r in read_records(ENV["out"]) if pred(r)]
        if len(found) >= count or time.time() > deadline:
            return found
        time.sleep(0.1)


def by_marker(marker, role="client"):
    def pred(r):
        a = r.get("attributes", {})
        return (a.get("llmtap.capture.role") == role
                and marker in (r.get("http.request.body") or ""))
    return pred


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: actual %r, expected %r" % (what, actual, expected))


def expect_response(rec, marker, received):
    body = json.loads(rec["http.response.body"])
    eq(body["marker"], marker, "response marker")
    eq(body["received"], received, "response 'received'")
    eq(body["choices"][0]["message"]["content"], "réponse ✓", "response text (UTF-8)")


def check_common(rec, pid, exe, body, peer=True):
    a = rec["attributes"]
    eq(a["process.pid"], pid, "process.pid")
    eq(a["process.executable.path"], exe, "process.executable.path")
    eq(a["process.owner"], "root", "process.owner")
    eq(a["llmtap.capture.role"], "client", "role")
    eq(a["llmtap.capture.source"], "openssl", "source")
    eq(a["http.request.method"], "POST", "method")
    eq(a["url.path"], "/v1/chat/completions", "url.path")
    eq(a["http.response.status_code"], 200, "status")
    eq(a["server.port"], ENV["port"], "server.port")
    if peer:
        eq(a["network.peer.address"], "127.0.0.1", "network.peer.address")
        eq(a["network.peer.port"], ENV["port"], "network.peer.port")
    eq(a["network.protocol.version"], "1.1", "protocol version")
    eq(a["http.request.body.size"], len(body), "http.request.body.size")
    eq(rec["http.request.body"], body.decode(), "request body")
    eq(a["http.response.header.content-type"], ["application/json"], "response content-type")
    for k in a:
        if "authorization" in k or "x-api-key" in k:
            raise AssertionError("credential header recorded: " + k)
    if SECRET in json.dumps(rec):
        raise AssertionError("secret found in the record")
    t = rec["timing"]
    if not (t["request_start"] <= t["response_start"] <= t["response_end"]):
        raise AssertionError("timestamps out of order: %r" % t)
    eq(rec["time"], t["request_start"], "time")


def payload(marker, pad=0):
    msg = {"model": "gpt-test", "marker": marker,
           "messages": [{"role": "user", "content": "hello " + "x" * pad}]}
    return json.dumps(msg).encode()


def run(cmd, env=None, timeout=30):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (cmd[0], p.returncode, err.decode()))
    return p.pid, out


def url(path="/v1/chat/completions"):
    return "https://localhost:%d%s" % (ENV["port"], path)


@test
def curl_client():
    marker = uuid.uuid4().hex
    body = payload(marker)
    curl = os.path.realpath(shutil.which("curl"))
    pid, out = run([curl, "-sS", "--cacert", ENV["cert"], url(), "-H",
                    "Content-Type: application/json", "-H", "Authorization: Bearer " + SECRET,
                    "--data-binary", body])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for curl")
    rec = recs[0]
    check_common(rec, pid, curl, body)
    eq(rec["attributes"]["tls.client.server_name"], "localhost", "SNI")
    eq(rec["attributes"]["server.address"], "localhost", "server.address")
    eq(rec["attributes"]["http.request.header.user-agent"][0].startswith("curl/"), True, "UA")
    eq(rec["http.response.body"].encode(), out, "response body as received by curl")
    expect_response(rec, marker, len(body))


PY_URLLIB = r'''
import sys, ssl, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(),
    headers={"Content-Type": "application/json", "x-api-key": sys.argv[4]})
sys.stdout.buffer.write(urllib.request.urlopen(req, context=ctx).read())
'''

PY_HTTP_CLIENT = r'''
import sys, ssl, http.client, json
ctx = ssl.create_default_context(cafile=sys.argv[2])
conn = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx)
for body in sys.argv[3:]:
    conn.request("POST", "/v1/chat/completions", body=body.encode(),
                 headers={"Content-Type": "application/json"})
    sys.stdout.buffer.write(conn.getresponse().read() + b"\n")
conn.close()
'''


def python_exe():
    return os.path.realpath(sys.executable)


@test
def python_urllib():
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body.decode(), SECRET])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for python urllib")
    check_common(recs[0], pid, python_exe(), body)
    eq(recs[0]["http.response.body"].encode(), out, "response body")
    expect_response(recs[0], marker, len(body))


@test
def python_keepalive_three_exchanges():
    markers = [uuid.uuid4().hex for _ in range(3)]
    bodies = [payload(m) for m in markers]
    pid, out = run([python_exe(), "-c", PY_HTTP_CLIENT, str(ENV["port"]), ENV["cert"]]
                   + [b.decode() for b in bodies])
    recs = []
    for m, b in zip(markers, bodies):
        found = wait_records(by_marker(m))
        eq(len(found), 1, "records for exchange " + m)
        check_common(found[0], pid, python_exe(), b)
        expect_response(found[0], m, len(b))
        recs.append(found[0])
    ports = {r["attributes"]["network.local.port"] for r in recs}
    eq(len(ports), 1, "all three exchanges on one connection (local ports %r)" % ports)
    starts = [r["timing"]["request_start"] for r in recs]
    eq(starts, sorted(starts), "exchanges in order")


@test
def node_https():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise Skip("node is not installed")
    node = os.path.realpath(node)
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([node, os.path.join(HERE, "node_client.js"), str(ENV["port"]), ENV["cert"],
                    body.decode()])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for node")
    # node's TLS writes to a memory BIO and libuv does the socket I/O later,
    # outside the SSL call: the socket (and so the peer address) is not learnt
    check_common(recs[0], pid, node, body, peer=False)
    eq(recs[0]["attributes"]["tls.client.server_name"], "localhost", "SNI")
    eq(recs[0]["http.response.body"].encode(), out, "response body")
    expect_response(recs[0], marker, len(body))


@test
def one_mib_request_body():
    marker = uuid.uuid4().hex
    body = payload(marker)
    # pad to exactly 1 MiB of JSON
    body = payload(marker, pad=(1 << 20) - len(body))
    eq(len(body), 1 << 20, "fixture size")
    path = os.path.join(ENV["dir"], "big.json")
    with open(path, "wb") as f:
        f.write(body)
    curl = os.path.realpath(shutil.which("curl"))
    pid, out = run([curl, "-sS", "--cacert", ENV["cert"], url(), "-H",
                    "Content-Type: application/json", "--data-binary", "@" + path])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for the 1 MiB request")
    check_common(recs[0], pid, curl, body)
    eq("llmtap.request.body.truncated" in recs[0]["attributes"], False, "not truncated")
    expect_response(recs[0], marker, len(body))


@test
def chunked_response_is_decoded():
    marker = uuid.uuid4().hex
    body = payload(marker)
    curl = os.path.realpath(shutil.which("curl"))
    pid, out = run([curl, "-sS", "--cacert", ENV["cert"], url("/v1/chat/completions?chunked=1"), "-H",
                    "Content-Type: application/json", "--data-binary", body])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records")
    a = recs[0]["attributes"]
    eq(a["url.query"], "chunked=1", "url.query")
    eq(a["http.response.header.transfer-encoding"], ["chunked"], "chunked response")
    eq(recs[0]["http.response.body"].encode(), out, "de-chunked body")
    expect_response(recs[0], marker, len(body))


@test
def server_side_view():
    marker = uuid.uuid4().hex
    body = payload(marker)
    curl = os.path.realpath(shutil.which("curl"))
    run([curl, "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body])
    recs = wait_records(by_marker(marker, role="server"))
    eq(len(recs), 1, "server-side records")
    a = recs[0]["attributes"]
    eq(a["process.pid"], ENV["server_pid"], "server pid")
    eq(a["network.local.port"], ENV["port"], "server local port")
    eq(recs[0]["http.request.body"], body.decode(), "request body seen by the server")


PY_FIND_LIBSSL = r'''
import ssl
for line in open("/proc/self/maps"):
    if "libssl" in line and "/" in line:
        print(line.split(None, 5)[5].strip()); break
'''


@test
def private_libssl_loaded_after_start():
    """A venv-like private copy of libssl, unknown to the agent until the
    client maps it, is attached before the client's first TLS write."""
    libssl = subprocess.check_output([python_exe(), "-c", PY_FIND_LIBSSL], text=True).strip()
    if not libssl:
        raise Skip("python's ssl module does not use a shared libssl")
    priv = os.path.join(ENV["dir"], "privlib-" + uuid.uuid4().hex[:8])
    os.makedirs(priv)
    shutil.copy(libssl, os.path.join(priv, os.path.basename(libssl)))
    env = dict(os.environ, LD_LIBRARY_PATH=priv)
    start = len(ENV["agent"].lines)
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body.decode(), SECRET],
                   env=env)
    ENV["agent"].wait_line("llmtap: attached TLS probes to " + priv, timeout=5, start=start)
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records through the private libssl")
    check_common(recs[0], pid, python_exe(), body)


@test
def curl_with_private_libssl_is_not_missed():
    """curl reaches SSL_write a few ms after loading libssl, faster than a new
    file can be probed: the agent holds the thread until the probes are in."""
    libssl = subprocess.check_output([python_exe(), "-c", PY_FIND_LIBSSL], text=True).strip()
    if not libssl:
        raise Skip("no shared libssl")
    curl = os.path.realpath(shutil.which("curl"))
    for i in range(3):
        priv = os.path.join(ENV["dir"], "curlpriv-" + uuid.uuid4().hex[:8])
        os.makedirs(priv)
        shutil.copy(libssl, os.path.join(priv, os.path.basename(libssl)))
        env = dict(os.environ, LD_LIBRARY_PATH=priv)
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, out = run([curl, "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body],
                       env=env)
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "client records of run %d through a new private libssl" % i)
        check_common(recs[0], pid, curl, body)


@test
def uretprobe_mode():
    """The same capture with uretprobes instead of RET-instruction probes."""
    out = os.path.join(ENV["dir"], "uretprobe.jsonl")
    agent = Agent(out, "--return-probes", "uretprobe")
    try:
        agent.wait_line("llmtap: ready")
        line = agent.wait_line("llmtap: attached TLS probes to ")
        if "(0 uprobe-at-RET" not in line:
            raise AssertionError("not in uretprobe mode: " + line)
        marker = uuid.uuid4().hex
        body = payload(marker)
        curl = os.path.realpath(shutil.which("curl"))
        pid, _ = run([curl, "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body])
        pyid, _ = run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body.decode(), SECRET])
        deadline = time.time() + 15
        while time.time() < deadline:
            recs = [r for r in read_records(out) if by_marker(marker)(r)]
            if len(recs) >= 2:
                break
            time.sleep(0.1)
        eq(sorted(r["attributes"]["process.pid"] for r in recs), sorted([pid, pyid]),
           "pids recorded with uretprobes")
        for r in recs:
            eq(r["http.request.body"], body.decode(), "request body")
        stats = agent.stats()
        eq(stats["probes"]["SSL_write"]["unmatched_returns"], 0, "unmatched returns")
    finally:
        eq(agent.stop(), 0, "second agent exit status")


PY_ASYNCIO = r'''
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[2])
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[1]), ssl=ctx,
                                         server_hostname="localhost")
    body = sys.argv[3].encode()
    w.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost:" + sys.argv[1].encode() +
            b"\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body)
    await w.drain()
    head = await r.readuntil(b"\r\n\r\n")
    n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0]
            .split(b":")[1])
    sys.stdout.buffer.write(await r.readexactly(n))
    w.close()
asyncio.run(main())
'''


@test
def python_asyncio_memory_bio():
    """asyncio's TLS runs on memory BIOs: the socket is never seen inside an
    SSL call, and the stream must still be right."""
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([python_exe(), "-c", PY_ASYNCIO, str(ENV["port"]), ENV["cert"],
                    body.decode()])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for asyncio")
    check_common(recs[0], pid, python_exe(), body, peer=False)
    eq(recs[0]["attributes"]["tls.client.server_name"], "localhost", "SNI")
    eq(recs[0]["http.response.body"].encode(), out, "response body")
    expect_response(recs[0], marker, len(body))


@test
def truncated_calls_become_exact_gaps():
    """With a 4 KiB per-call cap, a 100 KB upload loses bytes in the kernel:
    the record's gap equals what the kernel counted as truncated."""
    out = os.path.join(ENV["dir"], "cap4k.jsonl")
    agent = Agent(out, "--call-cap", "4k")
    try:
        agent.wait_line("llmtap: ready")
        marker = uuid.uuid4().hex
        body = payload(marker, pad=100000)
        path = os.path.join(ENV["dir"], "cap4k.json")
        with open(path, "wb") as f:
            f.write(body)
        curl = os.path.realpath(shutil.which("curl"))
        pid, _ = run([curl, "-sS", "--cacert", ENV["cert"], url(), "-H",
                      "Content-Type: application/json", "--data-binary", "@" + path])
        deadline = time.time() + 15
        recs = []
        while time.time() < deadline and not recs:
            recs = [r for r in read_records(out)
                    if r["attributes"].get("process.pid") == pid]
            time.sleep(0.1)
        eq(len(recs), 1, "client records with a 4 KiB cap")
        a = recs[0]["attributes"]
        if os.environ.get("LLMTAP_E2E_VERBOSE"):
            print(json.dumps(a, indent=1))
        stats = agent.stats()["probes"]["SSL_write"]
        if stats["truncated_bytes"] <= 0:
            raise AssertionError("kernel counted no truncation: %r" % stats)
        eq(a["llmtap.capture.gap_bytes"], stats["truncated_bytes"], "gap bytes == truncated")
        eq(a["http.request.body.size"], len(body), "body size counts the lost bytes")
        eq(a["http.response.status_code"], 200, "the response is still paired")
        eq(body.decode().startswith(recs[0]["http.request.body"][:1000]), True, "body prefix")
    finally:
        eq(agent.stop(), 0, "second agent exit status")


PY_NON_LLM = r'''
import sys, ssl, http.client, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
conn = http.client.HTTPSConnection("localhost", int(sys.argv[1]), context=ctx)
for i in range(5):
    conn.request("GET", "/index.html")
    conn.getresponse().read()
    time.sleep(0.4)
conn.close()
'''


@test
def non_llm_traffic_is_ignored_in_kernel():
    before = ENV["agent"].stats()["probes"]
    run([python_exe(), "-c", PY_NON_LLM, str(ENV["port"]), ENV["cert"]])
    time.sleep(0.5)
    after = ENV["agent"].stats()["probes"]
    ignored = sum(after[p]["ignored_bytes"] - before[p]["ignored_bytes"]
                  for p in ("SSL_write_ex", "SSL_read_ex"))
    # four GETs after the first, request and response each: well over 400 bytes
    if ignored < 400:
        raise AssertionError("kernel ignored only %d bytes of the non-LLM connection" % ignored)
    recs = [r for r in read_records(ENV["out"])
            if r["attributes"].get("url.path") == "/index.html"]
    eq(recs, [], "records of non-LLM traffic")


@test
def output_file_is_private():
    mode = stat.S_IMODE(os.stat(ENV["out"]).st_mode)
    eq(oct(mode), oct(0o600), "output file mode")


@test
def no_secret_anywhere_in_output():
    with open(ENV["out"], encoding="utf-8") as f:
        text = f.read()
    if SECRET in text or "sk-node-secret-0000" in text:
        raise AssertionError("a credential reached the output file")


@test
def kernel_counters_show_no_loss():
    s = ENV["agent"].stats()
    for name, p in s["probes"].items():
        eq(p["ringbuf_drops"], 0, name + " ringbuf_drops")
        eq(p["read_errors"], 0, name + " read_errors")
    eq(s["kernel"]["control_drops"], 0, "control_drops")
    eq(s["agent"]["bad_events"], 0, "bad_events")


# Tests that run without the shared agent.

@test
def unprivileged_run_fails_clearly():
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv (util-linux) is not installed")
    # a copy in a directory anyone may enter: the checkout may be private
    agent = os.path.join(ENV["dir"], "llmtap-unprivileged")
    shutil.copy(AGENT, agent)
    os.chmod(agent, 0o755)
    p = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                        agent, "run", "--output", "-"], capture_output=True, text=True,
                       timeout=30)
    eq(p.returncode, 4, "exit status without privileges")
    lines = p.stderr.strip().splitlines()
    eq(len(lines), 1, "one error line (got %r)" % lines)
    if "missing privileges" not in lines[0] or "CAP_BPF" not in lines[0]:
        raise AssertionError("unclear error: " + lines[0])


@test
def cli_usage_errors():
    p = subprocess.run([AGENT, "--bogus"], capture_output=True, text=True)
    eq(p.returncode, 2, "unknown option exit status")
    eq(p.stderr.splitlines()[0], "llmtap: unknown option '--bogus'", "first line")
    p = subprocess.run([AGENT, "run", "--call-cap", "12x"], capture_output=True, text=True)
    eq(p.returncode, 2, "bad value exit status")
    eq(p.stderr.splitlines()[0].startswith("llmtap: invalid --call-cap '12x'"), True, "message")
    p = subprocess.run([AGENT, "--version"], capture_output=True, text=True)
    eq(p.returncode, 0, "--version status")
    eq(p.stdout.startswith("llmtap "), True, "--version output")
    p = subprocess.run([AGENT, "--help"], capture_output=True, text=True)
    eq(p.returncode, 0, "--help status")
    eq("--output" in p.stdout, True, "--help lists --output")


def setup():
    d = tempfile.mkdtemp(prefix="llmtap-e2e-")
    os.chmod(d, 0o755)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    out = os.path.join(d, "records.jsonl")
    agent = Agent(out)
    agent.wait_line("llmtap: ready")
    # the server starts after the agent: its libssl is found by the mmap hook
    srv = subprocess.Popen([python_exe(), os.path.join(HERE, "https_server.py"), cert, key],
                           stdout=subprocess.PIPE, text=True)
    port = int(srv.stdout.readline().split()[1])
    return {"dir": d, "cert": cert, "out": out, "agent": agent, "server": srv,
            "server_pid": srv.pid, "port": port}


ENV = {}


def main():
    only = sys.argv[1:]
    if os.geteuid() != 0:
        print("SKIP: end-to-end tests need root")
        print("0 passed, 0 failed, %d skipped" % len(TESTS))
        return 0
    if not os.access(AGENT, os.X_OK):
        print("FAIL: %s is not built" % AGENT)
        print("0 passed, 1 failed")
        return 1
    ENV.update(setup())
    passed = failed = skipped = 0
    try:
        for t in TESTS:
            if only and t.__name__ not in only:
                continue
            t0 = time.time()
            try:
                t()
                print("ok   %s (%.1fs)" % (t.__name__, time.time() - t0), flush=True)
                passed += 1
            except Skip as e:
                print("SKIP %s: %s" % (t.__name__, e), flush=True)
                skipped += 1
            except Exception:
                print("FAIL %s" % t.__name__, flush=True)
                traceback.print_exc(file=sys.stdout)
                failed += 1
    finally:
        ENV["server"].kill()
        rc = ENV["agent"].stop()
        if rc != 0:
            print("FAIL agent_exit_status: %r\n%s" % (rc, "\n".join(ENV["agent"].lines)))
            failed += 1
        if failed and os.environ.get("LLMTAP_E2E_VERBOSE"):
            print("\n".join(ENV["agent"].lines))
        shutil.rmtree(ENV["dir"], ignore_errors=True)
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
