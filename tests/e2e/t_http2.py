"""HTTP/2 over TLS (ALPN h2) end to end: curl multiplexing two requests on one
connection, node's http2 client streaming, and the server side (the node
http2 server of tests/e2e/h2_server.js is traced too)."""
import atexit
import json
import os
import subprocess
import uuid

from e2e import (ENV, HERE, SECRET, by_marker, curl, eq, node, out_text, payload, reply_text,
                 run, streamed, test, wait_records, words)

NODE_SECRET = "sk-node-secret-0000"
_server = {}


def h2_server():
    """The node http2 stand-in, started once (after the agent, like llm_server.py)."""
    if "port" not in _server:
        cert = ENV["cert"]
        key = os.path.join(os.path.dirname(cert), "key.pem")
        p = subprocess.Popen([node(), os.path.join(HERE, "h2_server.js"), "serve", cert, key],
                             stdout=subprocess.PIPE, text=True)
        atexit.register(p.kill)
        line = p.stdout.readline()
        if not line.startswith("listening "):
            raise AssertionError("h2 server did not start: %r" % line)
        _server.update(proc=p, pid=p.pid, port=int(line.split()[1]))
    return _server


def h2_url(port):
    return "https://localhost:%d/v1/chat/completions" % port


def check_h2_chat(rec, pid, exe, body, port, role="client", stream=False, peer=True):
    """An OpenAI chat record carried by HTTP/2, field by field.  peer: the
    socket addresses must be known (else they are checked if present)."""
    a = rec["attributes"]
    req = json.loads(body)
    user = req["messages"][-1]["content"]
    text = reply_text(user)
    model = req["model"]
    eq(rec["schema"], "llmtap.audit/1", "schema")
    eq(rec["event.name"], "gen_ai.client.inference.operation.details", "event.name")
    eq(a["process.pid"], pid, "process.pid")
    eq(a["process.executable.path"], exe, "process.executable.path")
    eq(a["process.owner"], "root", "process.owner")
    eq(a["llmtap.capture.role"], role, "role")
    eq(a["llmtap.capture.source"], "openssl", "source")
    eq(a["network.protocol.name"], "http", "protocol name")
    eq(a["network.protocol.version"], "2", "protocol version")
    eq(a["http.request.method"], "POST", "method")
    eq(a["url.path"], "/v1/chat/completions", "url.path")
    eq(a["server.address"], "localhost", "server.address (from :authority)")
    eq(a["server.port"], port, "server.port")
    if peer or "network.peer.address" in a:
        eq(a["network.peer.address"], "127.0.0.1", "network.peer.address")
        eq(a["network.peer.port"], port, "network.peer.port")
    eq(a["http.request.header.content-type"], ["application/json"], "request content-type")
    eq(a["http.response.status_code"], 200, "status")
    eq(a["http.response.header.content-type"],
       ["text/event-stream" if stream else "application/json"], "response content-type")
    eq(a["http.request.body.size"], len(body), "http.request.body.size")
    eq("llmtap.exchange.incomplete" in a, False, "complete exchange")
    eq(a["gen_ai.operation.name"], "chat", "operation")
    eq(a["gen_ai.provider.name"], "openai", "provider")
    eq(a["gen_ai.request.model"], model, "request model")
    eq(a["gen_ai.response.model"], model + "-2024-08-06", "response model")
    eq(a["gen_ai.request.stream"], stream, "stream flag")
    eq(a["gen_ai.response.id"], "chatcmpl-e2e-s" if stream else "chatcmpl-e2e", "response id")
    eq(a["gen_ai.response.finish_reasons"], ["stop"], "finish reasons")
    eq(a["gen_ai.usage.input_tokens"], words(user), "input tokens")
    eq(a["gen_ai.usage.output_tokens"], words(text), "output tokens")
    eq(a["gen_ai.input.messages"], [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": user}]}], "input messages")
    eq(out_text(rec), streamed(text) if stream else text, "response text")
    eq(a["openai.response.system_fingerprint"], "fp_e2e", "fingerprint")
    if not a["llmtap.cost.usd"] > 0:
        raise AssertionError("no cost for a priced model")
    if not (rec["time"] <= a["llmtap.request.end_time"] <= a["llmtap.response.start_time"]
            <= rec["end_time"]):
        raise AssertionError("timestamps out of order: %r" % rec)
    if not a["llmtap.duration_s"] > 0:
        raise AssertionError("duration %r" % a["llmtap.duration_s"])
    for k in a:
        if "authorization" in k:
            raise AssertionError("credential header recorded: " + k)
    flat = json.dumps(rec, ensure_ascii=False)
    if SECRET in flat or NODE_SECRET in flat:
        raise AssertionError("secret found in the record")


def curl_h2(port, bodies, verbose=False):
    """curl --http2 posting each body: one connection, transfers in parallel (-Z)."""
    cmd = [curl(), "-sS", "-Z", "--parallel-max", str(len(bodies))]
    if verbose:
        cmd.append("-v")
    for i, body in enumerate(bodies):
        if i:
            cmd.append("--next")
        cmd += ["--http2", "--cacert", ENV["cert"], h2_url(port), "-H",
                "Content-Type: application/json", "-H", "Authorization: Bearer " + SECRET,
                "--data-binary", body]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    if p.returncode != 0:
        raise AssertionError("curl failed (%d): %s" % (p.returncode, err.decode()))
    return p.pid, out, err.decode(errors="replace")


@test
def curl_http2_two_streams_one_connection():
    port = h2_server()["port"]
    markers = [uuid.uuid4().hex for _ in range(2)]
    bodies = [payload(m) for m in markers]
    pid, out, err = curl_h2(port, bodies, verbose=True)
    # curl -v: h2 negotiated, one connection, the second transfer multiplexed on it
    eq("ALPN: server accepted h2" in err, True, "h2 negotiated")
    eq(err.count("Connected to localhost"), 1, "connections opened")
    eq("Multiplexed connection found" in err, True, "second stream multiplexed")
    recs = []
    for m, b in zip(markers, bodies):
        found = wait_records(by_marker(m))
        eq(len(found), 1, "client records for " + m)
        # curl's parallel (multi) mode does not reveal its socket to the TLS
        # probes here: the addresses are checked when present
        check_h2_chat(found[0], pid, curl(), b, port, peer=False)
        eq(found[0]["attributes"]["http.request.header.user-agent"][0].startswith("curl/"), True,
           "user-agent")
        recs.append(found[0])
    ports = {r["attributes"].get("network.local.port") for r in recs}
    eq(len(ports), 1, "both exchanges on one connection (local ports %r)" % ports)
    texts = sorted(json.loads(line)["choices"][0]["message"]["content"]
                   for line in out.decode().replace("}{", "}\n{").splitlines())
    eq(sorted(out_text(r) for r in recs), texts, "texts curl saw")


@test
def node_http2_client_streamed():
    port = h2_server()["port"]
    marker = uuid.uuid4().hex
    body = payload(marker, stream=True)
    pid, out = run([node(), os.path.join(HERE, "h2_server.js"), "client", str(port),
                    ENV["cert"], "/v1/chat/completions", body.decode()])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records for the node http2 client")
    # node's TLS runs on memory BIOs: the socket (peer address) is not learnt
    check_h2_chat(recs[0], pid, node(), body, port, stream=True, peer=False)
    a = recs[0]["attributes"]
    if not a["gen_ai.response.time_to_first_chunk"] > 0:
        raise AssertionError("time to first chunk %r" % a.get(
            "gen_ai.response.time_to_first_chunk"))
    if not a["llmtap.time_per_output_token_s"] > 0:
        raise AssertionError("no time per output token")
    eq(a["tls.client.server_name"], "localhost", "SNI")
    seen = "".join(json.loads(line[6:])["choices"][0]["delta"].get("content", "")
                   for line in out.decode().splitlines()
                   if line.startswith("data: {") and json.loads(line[6:])["choices"])
    eq(out_text(recs[0]), seen, "the text node received")


@test
def http2_server_side_view():
    srv = h2_server()
    markers = [uuid.uuid4().hex for _ in range(2)]
    bodies = [payload(markers[0]), payload(markers[1], stream=True)]
    # two requests on one connection from node: a plain one, then a streamed one
    cpid, _ = run([node(), os.path.join(HERE, "h2_server.js"), "client", str(srv["port"]),
                   ENV["cert"], "/v1/chat/completions"] + [b.decode() for b in bodies])
    for m, b, stream in zip(markers, bodies, (False, True)):
        found = wait_records(by_marker(m, role="server"))
        eq(len(found), 1, "server-side records for " + m)
        check_h2_chat(found[0], srv["pid"], node(), b, srv["port"], role="server", stream=stream,
                      peer=False)
        # and the same exchange seen by the client
        client = wait_records(by_marker(m))
        eq(len(client), 1, "client-side records for " + m)
        check_h2_chat(client[0], cpid, node(), b, srv["port"], stream=stream, peer=False)
