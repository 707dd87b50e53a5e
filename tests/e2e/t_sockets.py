"""Plaintext HTTP from the socket syscalls: local inference servers and their
clients, both ends on this host, joined into one record."""
import json
import socket
import subprocess
import time
import uuid

from e2e import (ENV, HERE, SECRET, eq, input_text, out_text, payload, python_exe, read_records,
                 reply_text, run, test, wait_records, words)

import os

# A one-shot client: POST the body, print the reply, exit at once.
PY_PLAIN = r"""
import sys, urllib.request
req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + sys.argv[3]})
print(urllib.request.urlopen(req, timeout=10).read().decode())
"""

# Raw bytes that are not HTTP, then an HTTP request on a port nobody selected.
PY_NOT_HTTP = r"""
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x00\x01binary-protocol" * 64)
s.recv(65536)
s.close()
"""

PY_ECHO = r"""
import socket
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen()
print(srv.getsockname()[1], flush=True)
while True:
    c, _ = srv.accept()
    data = c.recv(65536)
    c.sendall(data)
    c.close()
"""


def free_port(host="127.0.0.1"):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(fam) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class PlainServer:
    """llm_server.py over plain HTTP, started after the agent (traced too)."""

    def __init__(self, host, port):
        self.proc = subprocess.Popen([python_exe(), os.path.join(HERE, "llm_server.py"),
                                      "--plain", host, str(port)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            raise AssertionError("plain server on %s:%s did not start: %s"
                                 % (host, port, self.proc.stderr.read()))
        self.port = int(line.split()[1])
        self.pid = self.proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def marker_records(marker):
    return [r for r in read_records(ENV["out"]) if marker in input_text(r)]


def one_record(marker):
    """The records of one exchange, after the time a second one would need."""
    wait_records(lambda r: marker in input_text(r), timeout=10)
    time.sleep(1.5)  # the join wait is 1 s: an unjoined second view would be out by now
    return marker_records(marker)


def check_plain_chat(rec, client_pid, server_pid, port, body, peer="127.0.0.1"):
    a = rec["attributes"]
    eq(a["process.pid"], client_pid, "process.pid (client)")
    eq(a["process.executable.path"], python_exe(), "client executable")
    eq(a["llmtap.peer.process.pid"], server_pid, "llmtap.peer.process.pid (server)")
    eq(a["llmtap.peer.process.executable.path"], python_exe(), "server executable")
    eq(a["llmtap.capture.joined"], True, "joined")
    eq(a["llmtap.capture.role"], "client", "role")
    eq(a["llmtap.capture.source"], "socket", "source")
    eq(a["network.peer.address"], peer, "network.peer.address")
    eq(a["network.peer.port"], port, "network.peer.port")
    eq(a["network.local.address"], peer, "network.local.address")
    eq(a["server.port"], port, "server.port")
    eq(a["network.protocol.version"], "1.1", "protocol version")
    eq(a["url.path"], "/v1/chat/completions", "url.path")
    eq(a["http.response.status_code"], 200, "status")
    req = json.loads(body)
    user = req["messages"][-1]["content"]
    eq(a["gen_ai.provider.name"], "openai", "provider")
    eq(a["gen_ai.request.model"], "gpt-4o-mini", "request model")
    eq(a["gen_ai.input.messages"], [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": user}]}], "input messages")
    eq(out_text(rec), reply_text(user), "response text")
    eq(a["gen_ai.usage.input_tokens"], words(user), "input tokens")
    eq(a["http.request.body.size"], len(body), "request body size")
    if SECRET in json.dumps(rec):
        raise AssertionError("the bearer token reached the record")


def post(url, body):
    return run([python_exe(), "-c", PY_PLAIN, url, body.decode(), SECRET])


@test
def plaintext_local_server_one_record_both_ends():
    """An app calling a local OpenAI-compatible server (vLLM's port 8000)."""
    with PlainServer("127.0.0.1", 8000) as srv:
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, out = post("http://127.0.0.1:8000/v1/chat/completions", body)
        eq(json.loads(out)["choices"][0]["message"]["content"],
           reply_text("hello " + marker + " "), "client got the reply")
        recs = one_record(marker)
        eq(len(recs), 1, "records for one exchange seen by both ends")
        check_plain_chat(recs[0], pid, srv.pid, 8000, body)


@test
def plaintext_other_port_selected_by_first_bytes():
    """A port not in the list: the connection is selected by its first bytes."""
    with PlainServer("127.0.0.1", free_port()) as srv:
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, _ = post("http://127.0.0.1:%d/v1/chat/completions" % srv.port, body)
        recs = one_record(marker)
        eq(len(recs), 1, "records for one exchange")
        check_plain_chat(recs[0], pid, srv.pid, srv.port, body)


@test
def plaintext_ipv6_loopback():
    with PlainServer("::1", free_port("::1")) as srv:
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, _ = post("http://[::1]:%d/v1/chat/completions" % srv.port, body)
        recs = one_record(marker)
        eq(len(recs), 1, "records for one exchange")
        check_plain_chat(recs[0], pid, srv.pid, srv.port, body, peer="::1")


@test
def ollama_plaintext_streamed():
    """Ollama's /api/chat on 11434, NDJSON streamed, from curl."""
    with PlainServer("127.0.0.1", 11434) as srv:
        marker = uuid.uuid4().hex
        user = "hello " + marker
        body = json.dumps({"model": "llama3.2", "messages": [{"role": "user", "content": user}]})
        pid, out = run(["curl", "-sS", "--fail", "-H", "Content-Type: application/json",
                        "--data-binary", body, "http://127.0.0.1:11434/api/chat"])
        recs = one_record(marker)
        eq(len(recs), 1, "records for one exchange")
        a = recs[0]["attributes"]
        eq(a["process.pid"], pid, "client pid")
        eq(a["process.executable.name"], "curl", "client name")
        eq(a["llmtap.peer.process.pid"], srv.pid, "server pid")
        eq(a["gen_ai.provider.name"], "ollama", "provider")
        eq(a["gen_ai.request.model"], "llama3.2", "model")
        eq(a["gen_ai.request.stream"], True, "streamed")
        text = reply_text(user)
        eq(out_text(recs[0]), "".join(w + " " for w in text.split(" ")), "merged stream text")
        eq(a["gen_ai.usage.input_tokens"], words(user), "input tokens")
        eq(a["gen_ai.usage.output_tokens"], words(text), "output tokens")
        eq(a["gen_ai.response.finish_reasons"], ["stop"], "finish reasons")
        if not a["gen_ai.response.time_to_first_chunk"] > 0:
            raise AssertionError("no time to first chunk")


@test
def plaintext_node_client_writev():
    """node's http client (libuv writes, writev when corked) to a local server."""
    with PlainServer("127.0.0.1", 8000) as srv:
        marker = uuid.uuid4().hex
        body = payload(marker)
        js = ("const http=require('http');const b=process.argv[1];"
              "const r=http.request({host:'127.0.0.1',port:8000,path:'/v1/chat/completions',"
              "method:'POST',headers:{'content-type':'application/json',"
              "'content-length':Buffer.byteLength(b)}},res=>{res.resume();"
              "res.on('end',()=>process.exit(0))});r.cork();r.write(b.slice(0,10));"
              "r.write(b.slice(10));r.uncork();r.end();")
        pid, _ = run(["node", "-e", js, body.decode()])
        recs = one_record(marker)
        eq(len(recs), 1, "records for one exchange")
        a = recs[0]["attributes"]
        eq(a["process.pid"], pid, "client pid")
        eq(a["llmtap.peer.process.pid"], srv.pid, "server pid")
        eq(a["http.request.body.size"], len(body), "request body size")
        eq(out_text(recs[0]), reply_text("hello " + marker + " "), "response text")


@test
def unselected_sockets_are_not_copied():
    """Connections whose first bytes are not HTTP, and TLS connections, cost
    the kernel a lookup: no payload is copied (counter-checked)."""
    echo = subprocess.Popen([python_exe(), "-c", PY_ECHO], stdout=subprocess.PIPE, text=True)
    try:
        port = int(echo.stdout.readline())
        before = ENV["agent"].stats()
        run([python_exe(), "-c", PY_NOT_HTTP, str(port)])
        # TLS to the HTTPS stand-in: plaintext is captured by uprobes, never the
        # ciphertext by the socket path
        marker = uuid.uuid4().hex
        run(["curl", "-sS", "--fail", "--cacert", ENV["cert"], "-H",
             "Content-Type: application/json", "--data-binary", payload(marker).decode(),
             "https://localhost:%d/v1/chat/completions" % ENV["port"]])
        wait_records(lambda r: marker in input_text(r), count=2)
        after = ENV["agent"].stats()
    finally:
        echo.kill()
        echo.wait()
    for probe in ("socket_write", "socket_read"):
        copied = after["probes"][probe]["captured_bytes"] - before["probes"][probe]["captured_bytes"]
        eq(copied, 0, probe + " bytes copied for unselected sockets")
    declined = after["kernel"]["sock_declined"] - before["kernel"]["sock_declined"]
    # echo client + echo server + TLS client + TLS server
    if declined < 4:
        raise AssertionError("only %d connections declined at their first bytes" % declined)
    for r in marker_records(marker):
        eq(r["attributes"]["llmtap.capture.source"], "openssl", "TLS record source")


PY_PLAIN_GETS = r"""
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
for _ in range(5):
    c.request("GET", "/index.html")
    c.getresponse().read()
    time.sleep(0.3)  # the agent reads its ring every 100 ms; then the kernel stops copying
"""


@test
def plaintext_non_llm_on_selected_port_is_ignored_in_kernel():
    """HTTP on port 8000 that is not an LLM API: after the first request the
    kernel stops copying the connection."""
    with PlainServer("127.0.0.1", 8000):
        before = ENV["agent"].stats()["probes"]
        run([python_exe(), "-c", PY_PLAIN_GETS, "8000"])
        time.sleep(0.5)
        after = ENV["agent"].stats()["probes"]
    copied = sum(after[p]["captured_bytes"] - before[p]["captured_bytes"]
                 for p in ("socket_write", "socket_read"))
    # five exchanges of ~240 bytes seen by both ends are ~2400 bytes; once the
    # first request is classified, a call on the connection costs a lookup at
    # syscall entry and is neither copied nor counted
    if not 0 < copied <= 600:
        raise AssertionError("%d bytes of non-LLM plain HTTP copied" % copied)
    recs = [r for r in read_records(ENV["out"])
            if r["attributes"].get("url.path") == "/index.html"
            and r["attributes"].get("llmtap.capture.source") == "socket"]
    eq(recs, [], "records of non-LLM traffic")


PY_TWO_REQUESTS = r"""
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", 8000)
for marker in sys.argv[1:3]:
    body = '{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello %s"}]}' % marker
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    c.getresponse().read()
    print("done", flush=True)
    sys.stdin.readline()
"""


@test
def plaintext_connection_open_before_agent_start():
    """A keep-alive connection opened before the agent started is adopted at
    start-up (selected port, found through /proc/net/tcp and /proc/PID/fd)."""
    from e2e import Agent
    with PlainServer("127.0.0.1", 8000) as srv:
        first, second = uuid.uuid4().hex, uuid.uuid4().hex
        cli = subprocess.Popen([python_exe(), "-c", PY_TWO_REQUESTS, first, second],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        late = None
        try:
            eq(cli.stdout.readline().strip(), "done", "first request")
            out = os.path.join(ENV["dir"], "late-agent.jsonl")
            late = Agent(out)
            late.wait_line("llmtap: ready")
            late.wait_line("llmtap: tracking ")
            cli.stdin.write("\n")
            cli.stdin.flush()
            eq(cli.stdout.readline().strip(), "done", "second request")
            recs = wait_records(lambda r: second in input_text(r), path=out, timeout=10)
            time.sleep(1.5)
            recs = [r for r in read_records(out) if second in input_text(r)]
            eq(len(recs), 1, "records of the late agent for the second request")
            a = recs[0]["attributes"]
            eq(a["process.pid"], cli.pid, "client pid")
            # the server thread was already blocked in recv() on this socket when
            # the agent adopted it: that read's buffer was never seen, so the
            # server's view of this first exchange is lost (its later ones are not)
            eq(a["llmtap.capture.role"], "client", "role")
            eq(a["llmtap.capture.source"], "socket", "source")
            eq(out_text(recs[0]), reply_text("hello " + second), "response text")
            eq([r for r in read_records(out) if first in input_text(r)], [],
               "records of the late agent for the request before it started")
        finally:
            cli.stdin.close()
            cli.kill()
            cli.wait()
            if late:
                rc = late.stop()
                eq(rc, 0, "late agent exit status")
