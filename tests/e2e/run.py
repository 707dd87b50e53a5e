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
AGENT = os.path.join(ROOT, os.environ.get("LLMTAP_BUILD", "build"), "llmtap")
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
        if "--config" not in args:
            # never the host's /etc/llmtap/llmtap.yaml (a package test may install one)
            empty = os.path.join(tempfile.gettempdir(), "llmtap-e2e-empty.yaml")
            if not os.path.exists(empty):
                open(empty, "w").close()
            if "--state-dir" not in args:
                # each agent its own chain, keys and spools (agents run side by side)
                self.state_dir = tempfile.mkdtemp(prefix="llmtap-state-")
                args = ("--state-dir", self.state_dir) + tuple(args)
            args = ("--config", empty) + tuple(args)
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


# the audit chain's own records (docs/audit.md), not exchanges
LIFECYCLE = {"llmtap.agent_start", "llmtap.agent_stop", "llmtap.config_change", "llmtap.gap",
             "llmtap.health", "llmtap.checkpoint"}


def read_records(path, lifecycle=False):
    """The exchange records in path (and the chain's own with lifecycle=True)."""
    recs = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                # a record being written may not have reached its newline yet
                if line.strip() and line.endswith("\n"):
                    r = json.loads(line)
                    if lifecycle or r.get("event.name") not in LIFECYCLE:
                        recs.append(r)
    except FileNotFoundError:
        pass
    return recs


def chat(marker):
    """One OpenAI chat call through TLS from python whose prompt carries marker."""
    body = json.dumps({"model": "gpt-4o-mini", "messages": [
        {"role": "user", "content": "hello " + marker}]})
    run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body, SECRET])


def wait_records(pred, count=1, timeout=15, path=None):
    """Records (of the shared agent, or in path) matching pred, once at least
    count exist or the timeout passed."""
    deadline = time.time() + timeout
    while True:
        found = [r for r in read_records(path or ENV["out"]) if pred(r)]
        if len(found) >= count or time.time() > deadline:
            return found
        time.sleep(0.1)


def input_text(rec):
    return json.dumps(rec.get("attributes", {}).get("gen_ai.input.messages", []),
                      ensure_ascii=False)


def by_marker(marker, role="client"):
    def pred(r):
        a = r.get("attributes", {})
        return a.get("llmtap.capture.role") == role and marker in input_text(r)
    return pred


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: actual %r, expected %r" % (what, actual, expected))


def words(s):
    return len(s.split())


def reply_text(user):
    """What the stand-in server answers (llm_server.py)."""
    return "réponse ✓ " + user[:200]


def streamed(text):
    return "".join(w + " " for w in text.split(" "))


def out_text(rec):
    msgs = rec["attributes"]["gen_ai.output.messages"]
    return "".join(p.get("content", "") for m in msgs for p in m["parts"]
                   if p.get("type") == "text")


def check_identity(rec, pid, exe, peer=True, source="openssl"):
    a = rec["attributes"]
    eq(a["process.pid"], pid, "process.pid")
    eq(a["process.executable.path"], exe, "process.executable.path")
    eq(a["process.owner"], "root", "process.owner")
    eq(a["llmtap.capture.role"], "client", "role")
    eq(a["llmtap.capture.source"], source, "source")
    eq(a["http.request.method"], "POST", "method")
    eq(a["server.port"], ENV["port"], "server.port")
    if peer:
        eq(a["network.peer.address"], "127.0.0.1", "network.peer.address")
        eq(a["network.peer.port"], ENV["port"], "network.peer.port")
    eq(a["network.protocol.version"], "1.1", "protocol version")
    eq(rec["schema"], "llmtap.audit/1", "schema")
    eq(rec["event.name"], "gen_ai.client.inference.operation.details", "event.name")
    eq(len(rec["id"]), 36, "record id")
    eq(rec["alerts"], [], "alerts")
    for k in a:
        if "authorization" in k or "x-api-key" in k:
            raise AssertionError("credential header recorded: " + k)
    text = json.dumps(rec, ensure_ascii=False)
    for secret in (SECRET, "sk-node-secret-0000", "sk-ant-node-secret-0000"):
        if secret in text:
            raise AssertionError("secret found in the record")
    if not (rec["time"] <= a["llmtap.request.end_time"] <= a["llmtap.response.start_time"]
            <= rec["end_time"]):
        raise AssertionError("timestamps out of order: %r" % rec)
    if not a["llmtap.duration_s"] > 0:
        raise AssertionError("duration %r" % a["llmtap.duration_s"])


def check_chat(rec, pid, exe, body, stream=False, peer=True, model="gpt-4o-mini",
               source="openssl"):
    """An OpenAI chat record, field by field."""
    check_identity(rec, pid, exe, peer, source)
    a = rec["attributes"]
    req = json.loads(body)
    user = req["messages"][-1]["content"]
    text = reply_text(user)
    eq(a["url.path"], "/v1/chat/completions", "url.path")
    eq(a["http.response.status_code"], 200, "status")
    eq(a["gen_ai.operation.name"], "chat", "operation")
    eq(a["gen_ai.provider.name"], "openai", "provider")
    eq(a["gen_ai.request.model"], model, "request model")
    eq(a["gen_ai.response.model"], model + "-2024-08-06", "response model")
    eq(a["gen_ai.request.stream"], stream, "stream flag")
    eq(a["gen_ai.response.finish_reasons"], ["stop"], "finish reasons")
    eq(a["gen_ai.usage.input_tokens"], words(user), "input tokens")
    eq(a["gen_ai.usage.output_tokens"], words(text), "output tokens")
    eq(a["gen_ai.input.messages"], [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": user}]}], "input messages")
    eq(out_text(rec), streamed(text) if stream else text, "response text")
    eq(a["gen_ai.output.messages"][0]["role"], "assistant", "output role")
    eq(a["gen_ai.output.messages"][0]["finish_reason"], "stop", "output finish reason")
    eq(a["http.request.body.size"], len(body), "http.request.body.size")
    if not a["llmtap.cost.usd"] > 0:
        raise AssertionError("no cost for a priced model")
    if stream:
        eq(a["gen_ai.response.id"], "chatcmpl-e2e-s", "response id")
        if not a["gen_ai.response.time_to_first_chunk"] > 0:
            raise AssertionError("time to first chunk %r" % a.get(
                "gen_ai.response.time_to_first_chunk"))
    else:
        eq(a["gen_ai.response.id"], "chatcmpl-e2e", "response id")


def payload(marker, pad=0, model="gpt-4o-mini", stream=False):
    msg = {"model": model, "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello " + marker + " " + "x" * pad}]}
    if stream:
        msg["stream"] = True
        msg["stream_options"] = {"include_usage": True}
    return json.dumps(msg).encode()


def run(cmd, env=None, timeout=30):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (cmd[0], p.returncode, err.decode()))
    return p.pid, out


def url(path="/v1/chat/completions"):
    return "https://localhost:%d%s" % (ENV["port"], path)


def curl():
    return os.path.realpath(shutil.which("curl"))


@test
def curl_client():
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "-H",
                    "Content-Type: application/json", "-H", "Authorization: Bearer " + SECRET,
                    "--data-binary", body])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for curl")
    rec = recs[0]
    check_chat(rec, pid, curl(), body)
    a = rec["attributes"]
    eq(a["tls.client.server_name"], "localhost", "SNI")
    eq(a["server.address"], "localhost", "server.address")
    eq(a["http.request.header.user-agent"][0].startswith("curl/"), True, "UA")
    eq(out_text(rec), json.loads(out)["choices"][0]["message"]["content"], "text curl saw")
    eq(a["openai.response.system_fingerprint"], "fp_e2e", "fingerprint")


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
    check_chat(recs[0], pid, python_exe(), body)


@test
def python_openai_streamed_with_usage():
    marker = uuid.uuid4().hex
    body = payload(marker, stream=True)
    pid, out = run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body.decode(), SECRET])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for the stream")
    check_chat(recs[0], pid, python_exe(), body, stream=True)
    a = recs[0]["attributes"]
    eq(a["http.response.header.content-type"], ["text/event-stream"], "SSE")
    if not a["llmtap.time_per_output_token_s"] > 0:
        raise AssertionError("no time per output token")


@test
def openai_streamed_curl_and_node_fetch():
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=ENV["cert"])
    clients = [("curl", lambda body: [curl(), "-sSN", "--cacert", ENV["cert"], url(), "-H",
                                      "Content-Type: application/json", "--data-binary", body],
                curl, True)]
    if shutil.which("node") or shutil.which("nodejs"):
        clients.append(("node", lambda body: [node(), os.path.join(HERE, "node_client.js"),
                                              "fetch", str(ENV["port"]),
                                              "/v1/chat/completions", body], node, False))
    for name, cmd, exe, peer in clients:
        marker = uuid.uuid4().hex
        body = payload(marker, stream=True)
        pid, out = run(cmd(body.decode()), env=env)
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "streamed records for " + name)
        check_chat(recs[0], pid, exe(), body, stream=True, peer=peer)


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
        check_chat(found[0], pid, python_exe(), b)
        recs.append(found[0])
    ports = {r["attributes"]["network.local.port"] for r in recs}
    eq(len(ports), 1, "all three exchanges on one connection (local ports %r)" % ports)
    starts = [r["time"] for r in recs]
    eq(starts, sorted(starts), "exchanges in order")


def node():
    n = shutil.which("node") or shutil.which("nodejs")
    if not n:
        raise Skip("node is not installed")
    return os.path.realpath(n)


@test
def node_https():
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([node(), os.path.join(HERE, "node_client.js"), "https", str(ENV["port"]),
                    ENV["cert"], "/v1/chat/completions", body.decode()])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for node")
    # node's TLS writes to a memory BIO and libuv does the socket I/O later,
    # outside the SSL call: the socket (and so the peer address) is not learnt
    check_chat(recs[0], pid, node(), body, peer=False)
    eq(recs[0]["attributes"]["tls.client.server_name"], "localhost", "SNI")


def anthropic_body(marker, stream=False):
    msg = {"model": "claude-sonnet-4-20250514", "max_tokens": 256, "system": "Be brief.",
           "messages": [{"role": "user", "content": "hello " + marker}]}
    if stream:
        msg["stream"] = True
    return json.dumps(msg).encode()


def check_anthropic(rec, pid, exe, body, stream, peer=True):
    check_identity(rec, pid, exe, peer)
    a = rec["attributes"]
    user = json.loads(body)["messages"][0]["content"]
    text = reply_text(user)
    eq(a["gen_ai.operation.name"], "chat", "operation")
    eq(a["gen_ai.provider.name"], "anthropic", "provider")
    eq(a["gen_ai.request.model"], "claude-sonnet-4-20250514", "request model")
    eq(a["gen_ai.request.max_tokens"], 256, "max tokens")
    eq(a["gen_ai.request.stream"], stream, "stream flag")
    eq(a["gen_ai.system_instructions"], [{"type": "text", "content": "Be brief."}],
       "system instructions")
    eq(a["gen_ai.input.messages"], [{"role": "user", "parts": [{"type": "text",
                                                                "content": user}]}], "input")
    eq(out_text(rec), streamed(text) if stream else text, "response text")
    eq(a["gen_ai.response.finish_reasons"], ["end_turn"], "finish reasons")
    # input counts the 2 cache-read tokens too (OTel semantics)
    eq(a["gen_ai.usage.input_tokens"], words(user) + 2, "input tokens")
    eq(a["gen_ai.usage.cache_read.input_tokens"], 2, "cache read tokens")
    eq(a["gen_ai.usage.output_tokens"], words(text), "output tokens")
    if not a["llmtap.cost.usd"] > 0:
        raise AssertionError("no cost")
    if stream and not a["gen_ai.response.time_to_first_chunk"] > 0:
        raise AssertionError("no time to first chunk")


@test
def anthropic_plain_python():
    marker = uuid.uuid4().hex
    body = anthropic_body(marker)
    pid, _ = run([python_exe(), "-c", PY_URLLIB, url("/v1/messages"), ENV["cert"],
                  body.decode(), "sk-ant-" + SECRET])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records")
    check_anthropic(recs[0], pid, python_exe(), body, stream=False)
    eq(recs[0]["attributes"]["gen_ai.response.id"], "msg_e2e", "response id")


@test
def anthropic_streamed_node_fetch():
    marker = uuid.uuid4().hex
    body = anthropic_body(marker, stream=True)
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=ENV["cert"])
    pid, out = run([node(), os.path.join(HERE, "node_client.js"), "fetch", str(ENV["port"]),
                    "/v1/messages", body.decode()], env=env)
    recs = wait_records(by_marker(marker))
    if not recs and os.environ.get("LLMTAP_E2E_VERBOSE"):
        for r in read_records(ENV["out"])[-3:]:
            print(json.dumps(r["attributes"], ensure_ascii=False)[:1500])
    eq(len(recs), 1, "records")
    check_anthropic(recs[0], pid, node(), body, stream=True, peer=False)
    eq(recs[0]["attributes"]["gen_ai.response.id"], "msg_e2e_s", "response id")


def gemini_body(marker):
    return json.dumps({"systemInstruction": {"parts": [{"text": "Be brief."}]},
                       "contents": [{"role": "user", "parts": [{"text": "hello " + marker}]}],
                       "generationConfig": {"temperature": 0.5}}).encode()


def check_gemini(rec, pid, exe, body, stream):
    check_identity(rec, pid, exe)
    a = rec["attributes"]
    user = json.loads(body)["contents"][0]["parts"][0]["text"]
    text = reply_text(user)
    eq(a["gen_ai.operation.name"], "generate_content", "operation")
    eq(a["gen_ai.provider.name"], "gcp.gemini", "provider")
    eq(a["gen_ai.request.model"], "gemini-2.0-flash", "request model")
    eq(a["gen_ai.request.temperature"], 0.5, "temperature")
    eq(a["gen_ai.request.stream"], stream, "stream flag")
    eq(a["gen_ai.system_instructions"], [{"type": "text", "content": "Be brief."}], "system")
    eq(out_text(rec), streamed(text) if stream else text, "response text")
    eq(a["gen_ai.usage.input_tokens"], words(user), "input tokens")
    eq(a["gen_ai.usage.output_tokens"], words(text), "output tokens")
    eq(a["gen_ai.response.finish_reasons"], ["STOP"], "finish reasons")


@test
def gemini_plain_curl():
    marker = uuid.uuid4().hex
    body = gemini_body(marker)
    pid, _ = run([curl(), "-sS", "--cacert", ENV["cert"],
                  url("/v1beta/models/gemini-2.0-flash:generateContent"),
                  "-H", "Content-Type: application/json", "--data-binary", body])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records")
    check_gemini(recs[0], pid, curl(), body, stream=False)


@test
def gemini_streamed_python():
    marker = uuid.uuid4().hex
    body = gemini_body(marker)
    pid, _ = run([python_exe(), "-c", PY_URLLIB,
                  url("/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"),
                  ENV["cert"], body.decode(), SECRET])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records")
    check_gemini(recs[0], pid, python_exe(), body, stream=True)


@test
def gzip_and_br_responses_are_decoded():
    for enc in ("gzip", "br"):
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, out = run([curl(), "-sS", "--compressed", "--cacert", ENV["cert"],
                        url("/v1/chat/completions?enc=" + enc), "-H",
                        "Content-Type: application/json", "--data-binary", body])
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "records with " + enc)
        check_chat(recs[0], pid, curl(), body)
        eq(recs[0]["attributes"]["http.response.header.content-encoding"], [enc], "encoding")


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
    pid, out = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "-H",
                    "Content-Type: application/json", "--data-binary", "@" + path])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for the 1 MiB request")
    check_chat(recs[0], pid, curl(), body)
    eq("llmtap.request.body.truncated" in recs[0]["attributes"], False, "not truncated")


@test
def chunked_response_is_decoded():
    marker = uuid.uuid4().hex
    body = payload(marker)
    pid, out = run([curl(), "-sS", "--cacert", ENV["cert"], url("/v1/chat/completions?chunked=1"),
                    "-H", "Content-Type: application/json", "--data-binary", body])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records")
    a = recs[0]["attributes"]
    eq(a["url.query"], "chunked=1", "url.query")
    eq(a["http.response.header.transfer-encoding"], ["chunked"], "chunked response")
    check_chat(recs[0], pid, curl(), body)


@test
def server_side_view():
    marker = uuid.uuid4().hex
    body = payload(marker)
    run([curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body])
    recs = wait_records(by_marker(marker, role="server"))
    eq(len(recs), 1, "server-side records")
    a = recs[0]["attributes"]
    eq(a["process.pid"], ENV["server_pid"], "server pid")
    eq(a["network.local.port"], ENV["port"], "server local port")
    eq(a["gen_ai.request.model"], "gpt-4o-mini", "model seen by the server")


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
    check_chat(recs[0], pid, python_exe(), body)


@test
def curl_with_private_libssl_is_not_missed():
    """curl reaches SSL_write a few ms after loading libssl, faster than a new
    file can be probed: the agent holds the thread until the probes are in."""
    libssl = subprocess.check_output([python_exe(), "-c", PY_FIND_LIBSSL], text=True).strip()
    if not libssl:
        raise Skip("no shared libssl")
    for i in range(3):
        priv = os.path.join(ENV["dir"], "curlpriv-" + uuid.uuid4().hex[:8])
        os.makedirs(priv)
        shutil.copy(libssl, os.path.join(priv, os.path.basename(libssl)))
        env = dict(os.environ, LD_LIBRARY_PATH=priv)
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, out = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body],
                       env=env)
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "client records of run %d through a new private libssl" % i)
        check_chat(recs[0], pid, curl(), body)


def default_uretprobes():
    """auto means uretprobes from kernel 6.14 on (agent/main_run.c ret_mode)."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 14)


@test
def uretprobe_mode():
    """The same capture with the other kind of return probe than the default:
    RET-instruction probes where auto picks uretprobes, and the reverse."""
    out = os.path.join(ENV["dir"], "uretprobe.jsonl")
    mode = "ret-insn" if default_uretprobes() else "uretprobe"
    agent = Agent(out, "--return-probes", mode)
    try:
        agent.wait_line("llmtap: ready")
        line = agent.wait_line("llmtap: attached TLS probes to ")
        if mode == "uretprobe" and "(0 uprobe-at-RET" not in line:
            raise AssertionError("not in uretprobe mode: " + line)
        if mode == "ret-insn" and ", 0 uretprobe functions" not in line:
            raise AssertionError("not in ret-insn mode: " + line)
        # the shared agent (auto) attached the system libssl at start-up
        ssl = [l for l in ENV["agent"].lines
               if l.startswith("llmtap: attached TLS probes to ") and "libssl" in l]
        if not ssl:
            raise AssertionError("the shared agent attached no libssl")
        auto_ret = "(0 uprobe-at-RET" in ssl[0]
        if auto_ret != default_uretprobes():
            raise AssertionError("auto picked the wrong return probes on this kernel: "
                                 + ssl[0])
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, _ = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body])
        pyid, _ = run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body.decode(), SECRET])
        recs = wait_records(by_marker(marker), count=2, path=out)
        eq(sorted(r["attributes"]["process.pid"] for r in recs), sorted([pid, pyid]),
           "pids recorded with uretprobes")
        for r in recs:
            eq(r["attributes"]["gen_ai.input.messages"][1]["parts"][0]["content"],
               json.loads(body)["messages"][1]["content"], "prompt")
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
    check_chat(recs[0], pid, python_exe(), body, peer=False)
    eq(recs[0]["attributes"]["tls.client.server_name"], "localhost", "SNI")


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
        pid, _ = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "-H",
                      "Content-Type: application/json", "--data-binary", "@" + path])
        recs = wait_records(lambda r: r["attributes"].get("process.pid") == pid, path=out)
        eq(len(recs), 1, "client records with a 4 KiB cap")
        a = recs[0]["attributes"]
        probes = agent.stats()["probes"]
        # curl moves the request with SSL_write and the (echoing) response with SSL_read
        cut = probes["SSL_write"]["truncated_bytes"] + probes["SSL_read"]["truncated_bytes"]
        if probes["SSL_write"]["truncated_bytes"] <= 0:
            raise AssertionError("kernel counted no truncation: %r" % probes)
        eq(a["llmtap.capture.gap_bytes"], cut, "gap bytes == truncated")
        eq(a["http.request.body.size"], len(body), "body size counts the lost bytes")
        eq(a["http.response.status_code"], 200, "the response is still paired")
        # the request body is cut: the record says so and keeps what it can
        eq(a["llmtap.exchange.incomplete"] if "llmtap.exchange.incomplete" in a else None,
           None, "the exchange itself completed")
        eq(a["gen_ai.operation.name"], "chat", "still known as a chat call")
    finally:
        eq(agent.stop(), 0, "second agent exit status")


@test
def no_content_mode():
    """--no-content keeps metadata and drops prompts and answers."""
    out = os.path.join(ENV["dir"], "nocontent.jsonl")
    agent = Agent(out, "--no-content")
    try:
        agent.wait_line("llmtap: ready")
        marker = uuid.uuid4().hex
        path = os.path.join(ENV["dir"], "nocontent.json")
        with open(path, "wb") as f:
            f.write(payload(marker))  # from a file: the command line holds no prompt
        pid, _ = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary",
                      "@" + path])
        recs = wait_records(lambda r: r["attributes"].get("process.pid") == pid, path=out)
        eq(len(recs), 1, "records")
        a = recs[0]["attributes"]
        eq(a["gen_ai.request.model"], "gpt-4o-mini", "model kept")
        eq(a["gen_ai.usage.output_tokens"] > 0, True, "usage kept")
        for k in ("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions"):
            eq(k in a, False, k + " dropped")
        if marker in json.dumps(recs[0]):
            raise AssertionError("prompt text in a --no-content record")
    finally:
        eq(agent.stop(), 0, "agent exit status")


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
    if SECRET in text or "sk-node-secret-0000" in text or "sk-ant-node-secret-0000" in text:
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
    srv = subprocess.Popen([python_exe(), os.path.join(HERE, "llm_server.py"), cert, key],
                           stdout=subprocess.PIPE, text=True)
    port = int(srv.stdout.readline().split()[1])
    return {"dir": d, "cert": cert, "out": out, "agent": agent, "server": srv,
            "server_pid": srv.pid, "port": port}


ENV = {}


def load_test_modules():
    """Test files tests/e2e/t_*.py register more tests; they import this
    module as `e2e` (from e2e import test, ENV, ...)."""
    import importlib
    sys.modules.setdefault("e2e", sys.modules[__name__])
    sys.path.insert(0, HERE)
    for name in sorted(os.listdir(HERE)):
        if name.startswith("t_") and name.endswith(".py"):
            importlib.import_module(name[:-3])


def main():
    load_test_modules()
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
