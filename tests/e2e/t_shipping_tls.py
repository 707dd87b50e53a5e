"""Shipping over HTTPS (issue 6): the http output's TLS keys against a local
receiver (tests/e2e/receiver.py) that speaks TLS with a throwaway CA and
requires a client certificate signed by it (mutual TLS).

One agent, five outputs, each to its own receiver (same certificates), so
every result is attributable to one output; each failing output differs from
the one that works by a single key:
  mtls      ca_file + cert_file/key_file + token_file + headers: delivered, with
            the bearer token, the custom header and the client certificate
  noverify  tls_verify: false, no ca_file: delivered (the key is honoured)
  noca      no ca_file (verification on by default, the system CAs do not
            know the test CA): nothing delivered, a delivery failure logged,
            the records stay in the spool
  nocert    no client certificate: the receiver refuses the handshake, nothing
            delivered, the records stay in the spool
  plain     http:// to an https receiver: nothing delivered (a sanity check
            that the receivers really insist on TLS)
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid

from e2e import Agent, by_marker, eq, test, wait_records
from receiver import Receiver
from t_shipping import chat, wait_for

TOKEN = "tok-" + uuid.uuid4().hex
HEADER = "hdr-" + uuid.uuid4().hex
CLIENT_CN = "llmtap-test-client"


def openssl(*args, cwd):
    p = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    if p.returncode:
        raise AssertionError("openssl %s: %s" % (" ".join(args), p.stderr))


def make_pki(d):
    """A CA, a server certificate for 127.0.0.1 and a client certificate,
    both signed by the CA (P-256 keys: quick to make)."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=llmtap test CA " + uuid.uuid4().hex[:8],
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, cn, ext in (("server", "127.0.0.1",
                           "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
                          ("client", CLIENT_CN, "extendedKeyUsage=clientAuth\n")):
        with open(os.path.join(d, name + ".ext"), "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n" + ext)
        openssl("req", *ec, "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + cn,
                cwd=d)
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-out", name + ".pem",
                "-extfile", name + ".ext", cwd=d)
    for k in ("ca.key", "server.key", "client.key"):
        os.chmod(os.path.join(d, k), 0o600)
    return {k: os.path.join(d, k + ".pem") for k in ("ca", "server", "client")} | {
        "server_key": os.path.join(d, "server.key"), "client_key": os.path.join(d, "client.key")}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(text, name, output, kind=None):
    """The value of name{output="..."[,kind="..."]} in Prometheus text."""
    for line in text.splitlines():
        if not line.startswith(name + "{") or 'output="%s"' % output not in line:
            continue
        if kind and 'kind="%s"' % kind not in line:
            continue
        return float(line.rsplit(" ", 1)[1])
    raise AssertionError("no %s for output %s in /metrics" % (name, output))


CONF = """
state_dir: {state}
metrics:
  listen: 127.0.0.1:{mport}
outputs:
  - name: local
    type: file
    path: {log}
"""

NET = """  - name: {name}
    type: http
    url: {url}
    token_file: {token}
    headers:
      X-Llmtap-Test: {header}
    batch_interval: 200ms
    retry_initial: 200ms
    retry_max: 1s
    timeout: 3s
"""

# what each output adds to NET; the receivers all require a client certificate
OUTPUTS = {
    "mtls": "    ca_file: {ca}\n    cert_file: {client}\n    key_file: {client_key}\n",
    "noverify": "    tls_verify: false\n    cert_file: {client}\n    key_file: {client_key}\n",
    "noca": "    cert_file: {client}\n    key_file: {client_key}\n",
    "nocert": "    ca_file: {ca}\n",
    "plain": "    ca_file: {ca}\n    cert_file: {client}\n    key_file: {client_key}\n",
}


@test
def shipping_https_mutual_tls_token_headers_and_verification():
    base = tempfile.mkdtemp(prefix="llmtap-shiptls-")
    pki = make_pki(base)
    token = os.path.join(base, "token")
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token, 0o600)
    rx = {name: Receiver(token=TOKEN, tls_cert=pki["server"], tls_key=pki["server_key"],
                         client_ca=pki["ca"]) for name in OUTPUTS}
    log = os.path.join(base, "local.jsonl")
    mport = free_port()
    conf_text = CONF.format(state=os.path.join(base, "state"), mport=mport, log=log)
    for name, extra in OUTPUTS.items():
        u = rx[name].url("/ingest/" + name)
        if name == "plain":
            u = u.replace("https://", "http://", 1)
        conf_text += NET.format(name=name, url=u, token=token, header=HEADER) + extra.format(**pki)
    conf = os.path.join(base, "llmtap.yaml")
    with open(conf, "w") as f:
        f.write(conf_text)
    agent = Agent(os.path.join(base, "flag-out.jsonl"), "--config", conf)
    try:
        agent.wait_line("llmtap: ready")
        marker = uuid.uuid4().hex
        chat(marker)
        if not wait_records(by_marker(marker), path=log):
            raise AssertionError("the exchange is not in the local file")
        for name in ("mtls", "noverify"):
            wait_for(lambda: any(marker in line for line in rx[name].records()), 15,
                     "the exchange delivered by output " + name)

        # 1. mutual TLS with the CA bundle, the bearer token and the custom header
        reqs = rx["mtls"].requests()
        eq(bool(reqs), True, "requests at the mtls receiver")
        for r in reqs:
            eq((r["status"], r["peer_cn"]), (200, CLIENT_CN), "status and client certificate")
            eq(r["headers"].get("authorization"), "Bearer " + TOKEN, "bearer token from file")
            eq(r["headers"].get("x-llmtap-test"), HEADER, "custom header")
            eq(r["path"], "/ingest/mtls", "path")
        eq(rx["noverify"].requests()[0]["peer_cn"], CLIENT_CN, "noverify client certificate")

        # 2, 3. verification on by default; a client certificate is required
        def failing(name):
            return [l for l in agent.lines if "output '%s': delivery failing" % name in l]
        for name in ("noca", "nocert", "plain"):
            wait_for(lambda: failing(name), 10, "a delivery failure logged for " + name)
        # a few more retries (retry_max 1s) while the good outputs keep delivering
        time.sleep(2)
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=5) as resp:
            metrics = resp.read().decode()
        for name in ("noca", "nocert", "plain"):
            eq(rx[name].records(), [], "records delivered by " + name)
            eq(rx[name].requests(), [], "HTTP requests that reached the %s receiver" % name)
            if metric(metrics, "llmtap_spool_records", name) < 1:
                raise AssertionError("nothing left in the %s spool:\n%s" % (name, metrics))
            if metric(metrics, "llmtap_output_failures_total", name, "connect") < 2:
                raise AssertionError("%s did not retry:\n%s" % (name, metrics))
            eq(metric(metrics, "llmtap_output_records_total", name), 0.0,
               name + " records acknowledged")
        if metric(metrics, "llmtap_output_records_total", "mtls") < 1:
            raise AssertionError("mtls acknowledged nothing:\n" + metrics)
        # why they failed: noca rejected the server certificate itself, nocert's
        # handshake was refused by the receiver, plain spoke HTTP to a TLS port
        if "certificate" not in failing("noca")[0]:
            raise AssertionError("noca failed for another reason: " + failing("noca")[0])
        errs = rx["noca"].tls_errors()
        if not errs or not all("UNKNOWN_CA" in e.upper() or "unknown ca" in e.lower()
                               for e in errs):
            raise AssertionError("noca receiver's handshake errors: %r" % errs)
        errs = rx["nocert"].tls_errors()
        if not errs or not all("certificate" in e.lower() for e in errs):
            raise AssertionError("nocert receiver's handshake errors: %r" % errs)
        if not rx["plain"].tls_errors():
            raise AssertionError("plain: no failed handshake at the receiver")
    finally:
        eq(agent.stop(), 0, "agent exit status")
        for r in rx.values():
            r.stop()
