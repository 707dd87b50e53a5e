"""TLS stacks besides OpenSSL: GnuTLS (wget) and Go's crypto/tls (a net/http
client built here, with and without its symbol table, HTTP/1.1 and HTTP/2)."""
import json
import os
import shutil
import subprocess
import uuid

from e2e import (ENV, HERE, SECRET, Agent, Skip, by_marker, check_chat, eq, out_text, payload,
                 test, url, wait_records)

GO_SRC = os.path.join(HERE, "go_client")
_go_bins = {}


def run_client(cmd, env=None, timeout=60):
    """Runs a client to completion; returns (pid, stdout, stderr)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, err = p.communicate(timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (cmd[0], p.returncode, err.decode()))
    return p.pid, out, err.decode()


def probe_deltas(before, after, names):
    return {n: {k: after[n][k] - before[n][k] for k in after[n]} for n in names}


def check_probes(before, after, names):
    """Each probe fired for this client and every return matched its entry."""
    d = probe_deltas(before, after, names)
    for n in names:
        if d[n]["calls"] < 1:
            raise AssertionError("probe %s did not fire: %r" % (n, d))
        eq(d[n]["unmatched_returns"], 0, n + " unmatched returns")
        eq(d[n]["read_errors"], 0, n + " read errors")
        eq(d[n]["ringbuf_drops"], 0, n + " ring buffer drops")
        eq(d[n]["captured_bytes"], d[n]["bytes"], n + " every byte captured")
    return d


def wget():
    w = shutil.which("wget")
    if not w:
        raise Skip("wget is not installed")
    return os.path.realpath(w)


@test
def wget_gnutls():
    """wget links GnuTLS: gnutls_record_send/recv carry the exchange."""
    exe = wget()
    marker = uuid.uuid4().hex
    body = payload(marker)
    before = ENV["agent"].stats()["probes"]
    pid, out, _ = run_client([exe, "-q", "-O", "-", "--ca-certificate=" + ENV["cert"],
                              "--header=Content-Type: application/json",
                              "--header=Authorization: Bearer " + SECRET,
                              "--post-data=" + body.decode(), url()])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for wget")
    rec = recs[0]
    check_chat(rec, pid, exe, body, source="gnutls")
    a = rec["attributes"]
    eq(a["tls.client.server_name"], "localhost", "SNI from gnutls_server_name_set")
    eq(a["http.request.header.user-agent"][0].startswith("Wget/"), True, "UA")
    eq(out_text(rec), json.loads(out)["choices"][0]["message"]["content"], "text wget saw")
    check_probes(before, ENV["agent"].stats()["probes"],
                 ["gnutls_record_send", "gnutls_record_recv"])


def go_binary(stripped, external_pie=False):
    """The Go client, built once per run from tests/e2e/go_client with the
    standard library only (no network): statically linked by Go's linker,
    or (external_pie) a PIE linked by the system linker against libc."""
    key = ("stripped" if stripped else "symbols") + ("-extpie" if external_pie else "")
    if key in _go_bins:
        return _go_bins[key]
    go = shutil.which("go")
    if not go:
        raise Skip("go is not installed (Debian package golang-go)")
    work = os.path.join(ENV["dir"], "go")
    os.makedirs(work, exist_ok=True)
    out = os.path.join(work, "go_client_" + key)
    env = dict(os.environ, GOFLAGS="-mod=mod", GOCACHE=os.path.join(work, "cache"),
               GOPATH=os.path.join(work, "gopath"), GOPROXY="off", GOTOOLCHAIN="local",
               GOENV="off", CGO_ENABLED="1" if external_pie else "0", GO111MODULE="on")
    ldflags = ["-s", "-w"] if stripped else []
    cmd = [go, "build", "-o", out]
    if external_pie:
        cmd.append("-buildmode=pie")
        ldflags.append("-linkmode=external")
    if ldflags:
        cmd.append("-ldflags=" + " ".join(ldflags))
    p = subprocess.run(cmd + ["."], cwd=GO_SRC, env=env, capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0:
        raise AssertionError("go build failed: " + p.stderr)
    os.chmod(out, 0o755)
    _go_bins[key] = out
    return out


def has_symtab(path):
    p = subprocess.run(["readelf", "-S", "-W", path], capture_output=True, text=True,
                       check=True)
    return " .symtab " in p.stdout


def check_go_record(exe, mode, proto):
    """Runs the Go client once (its first run: the agent attaches at exec)
    and checks its record field by field and the Go probe counters.
    Returns the agent's attach line for the binary."""
    marker = uuid.uuid4().hex
    body = payload(marker)
    start = len(ENV["agent"].lines)
    before = ENV["agent"].stats()["probes"]
    pid, out, err = run_client([exe, url(), ENV["cert"], body.decode(), mode],
                               env=dict(os.environ, API_KEY=SECRET))
    line = ENV["agent"].wait_line("llmtap: attached TLS probes to " + exe, timeout=10,
                                  start=start)
    recs = wait_records(by_marker(marker))
    eq(proto in err, True, "client used %s (%r)" % (proto, err))
    eq(len(recs), 1, "records for the Go client")
    rec = recs[0]
    # the peer address comes from the socket under the tls.Conn (net.Conn -> netFD)
    check_chat(rec, pid, exe, body, source="go_tls")
    a = rec["attributes"]
    eq(a["http.request.header.user-agent"], ["Go-http-client/1.1"], "UA")
    eq(out_text(rec), json.loads(out)["choices"][0]["message"]["content"], "text Go saw")
    check_probes(before, ENV["agent"].stats()["probes"], ["go_tls_write", "go_tls_read"])
    # Write and Read at their RET instructions, never a uretprobe on Go code
    eq("(2 uprobe-at-RET, 0 uretprobe functions" in line, True, "return probes: " + line)
    return line


@test
def go_client_http1():
    """A Go net/http client with symbols, HTTP/1.1 forced."""
    exe = go_binary(stripped=False)
    if not has_symtab(exe):
        raise AssertionError("the unstripped build has no .symtab")
    line = check_go_record(exe, "h1", "proto HTTP/1.1")
    eq("; go)" in line, True, "attached as Go from .symtab: " + line)


@test
def go_client_stripped():
    """The same client built with -ldflags=-s -w: found through .gopclntab."""
    exe = go_binary(stripped=True)
    if has_symtab(exe):
        raise AssertionError("the stripped build still has a .symtab")
    line = check_go_record(exe, "h1", "proto HTTP/1.1")
    eq("; go via .gopclntab)" in line, True, "attached through .gopclntab: " + line)


@test
def go_client_external_pie_stripped():
    """Built as a PIE by the system linker and stripped: the pclntab has no
    section of its own (merged into .data.rel.ro) and is found by its header."""
    exe = go_binary(stripped=True, external_pie=True)
    if has_symtab(exe):
        raise AssertionError("the stripped build still has a .symtab")
    sections = subprocess.run(["readelf", "-S", "-W", exe], capture_output=True, text=True,
                              check=True).stdout
    eq("gopclntab" in sections, False, "no pclntab section")
    line = check_go_record(exe, "h1", "proto HTTP/1.1")
    eq("; go via .gopclntab)" in line, True, "attached through the pclntab: " + line)


@test
def go_process_running_before_agent_start():
    """A Go process already running when an agent starts is found in the
    process maps at start-up and attached before its first TLS call."""
    exe = go_binary(stripped=True)
    marker = uuid.uuid4().hex
    body = payload(marker)
    client = subprocess.Popen([exe, url(), ENV["cert"], body.decode(), "h1"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE,
                              env=dict(os.environ, API_KEY=SECRET, WAIT_STDIN="1"))
    path = os.path.join(ENV["dir"], "go_running.jsonl")
    agent = Agent(path)
    try:
        agent.wait_line("llmtap: ready")
        agent.wait_line("llmtap: attached TLS probes to " + exe)
        client.stdin.write(b"go\n")
        client.stdin.flush()
        # the client stays until its record is made: identity from /proc
        recs = wait_records(by_marker(marker), path=path)
        out, err = client.communicate(b"", timeout=60)
        eq(client.returncode, 0, "client exit status (%s)" % err.decode())
        eq(len(recs), 1, "records of the second agent")
        check_chat(recs[0], client.pid, exe, body, source="go_tls")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        eq(agent.stop(), 0, "second agent exit status")


# An HTTP/2 stand-in (node's http2 module over TLS, h2 only) answering
# POST /v1/chat/completions as llm_server.py does; prints "listening PORT".
NODE_H2_SERVER = r"""
const http2 = require('http2');
const fs = require('fs');
const [cert, key] = process.argv.slice(1);
const words = (s) => s.split(/\s+/).filter(Boolean).length;
const srv = http2.createSecureServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
srv.on('stream', (stream, headers) => {
  const chunks = [];
  stream.on('data', (c) => chunks.push(c));
  stream.on('end', () => {
    const req = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const user = req.messages.filter((m) => m.role === 'user').pop().content;
    const text = 'réponse ✓ ' + user.slice(0, 200);
    const body = JSON.stringify({
      id: 'chatcmpl-e2e', object: 'chat.completion', created: 1,
      model: req.model + '-2024-08-06', system_fingerprint: 'fp_e2e',
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: text } }],
      usage: { prompt_tokens: words(user), completion_tokens: words(text),
               total_tokens: words(user) + words(text), prompt_tokens_details: { cached_tokens: 0 } },
    });
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(body);
  });
});
srv.listen(0, '127.0.0.1', () => console.log('listening ' + srv.address().port));
"""


def node_exe():
    n = shutil.which("node") or shutil.which("nodejs")
    if not n:
        raise Skip("node is not installed")
    return os.path.realpath(n)


@test
def go_client_http2():
    """The Go client with HTTP/2 enabled (ALPN h2) against an h2 server: one
    record per exchange from the HTTP/2 frames that crypto/tls carried."""
    exe = go_binary(stripped=False)
    srv = subprocess.Popen([node_exe(), "-e", NODE_H2_SERVER, ENV["cert"],
                            os.path.join(ENV["dir"], "key.pem")],
                           stdout=subprocess.PIPE, text=True)
    try:
        port = int(srv.stdout.readline().split()[1])
        marker = uuid.uuid4().hex
        body = payload(marker)
        before = ENV["agent"].stats()["probes"]
        pid, out, err = run_client([exe, "https://localhost:%d/v1/chat/completions" % port,
                                    ENV["cert"], body.decode(), "h2"],
                                   env=dict(os.environ, API_KEY=SECRET))
        eq("proto HTTP/2.0" in err, True, "client used HTTP/2 (%r)" % err)
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "records for the Go HTTP/2 client")
        check_probes(before, ENV["agent"].stats()["probes"], ["go_tls_write", "go_tls_read"])
        rec = recs[0]
        a = rec["attributes"]
        user = json.loads(body)["messages"][1]["content"]
        text = "réponse ✓ " + user[:200]
        eq(a["process.pid"], pid, "process.pid")
        eq(a["process.executable.path"], exe, "process.executable.path")
        eq(a["llmtap.capture.role"], "client", "role")
        eq(a["llmtap.capture.source"], "go_tls", "source")
        eq(a["network.protocol.version"], "2", "protocol version")
        eq(a["network.peer.address"], "127.0.0.1", "peer address")
        eq(a["network.peer.port"], port, "peer port")
        eq(a["server.port"], port, "server.port")
        eq(a["http.request.method"], "POST", "method")
        eq(a["url.path"], "/v1/chat/completions", "url.path")
        eq(a["http.response.status_code"], 200, "status")
        eq(a["http.request.body.size"], len(body), "request body size")
        eq(a["gen_ai.provider.name"], "openai", "provider")
        eq(a["gen_ai.request.model"], "gpt-4o-mini", "request model")
        eq(a["gen_ai.response.model"], "gpt-4o-mini-2024-08-06", "response model")
        eq(a["gen_ai.response.id"], "chatcmpl-e2e", "response id")
        eq(a["gen_ai.input.messages"], [
            {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
            {"role": "user", "parts": [{"type": "text", "content": user}]}], "input messages")
        eq(out_text(rec), text, "response text")
        eq(out_text(rec), json.loads(out)["choices"][0]["message"]["content"], "text Go saw")
        eq(a["gen_ai.usage.input_tokens"], len(user.split()), "input tokens")
        eq(a["gen_ai.usage.output_tokens"], len(text.split()), "output tokens")
        if SECRET in json.dumps(rec):
            raise AssertionError("the bearer token reached the record")
    finally:
        srv.kill()
        srv.wait()
