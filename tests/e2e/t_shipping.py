"""Shipping end to end: the http output delivers every record to a local
receiver (tests/e2e/receiver.py) although the receiver is down for part of
the run, answers 503 with Retry-After for another part, and the agent is
killed with SIGKILL and restarted in between; what arrived verifies with
`llmtap verify`.  The otlp output passes a receiver that checks the OTLP
JSON shape.  A full spool (drop_oldest) becomes a gap record, not a crash."""
import json
import os
import signal
import subprocess
import tempfile
import time
import uuid

from e2e import (AGENT, ENV, PY_URLLIB, SECRET, Agent, by_marker, chat, eq, python_exe,
                 read_records, run, test, url, wait_records)
from receiver import Receiver

TOKEN = "tok-" + uuid.uuid4().hex


def start(conf_text, base):
    conf = os.path.join(base, "llmtap.yaml")
    with open(conf, "w") as f:
        f.write(conf_text)
    agent = Agent(os.path.join(base, "flag-out.jsonl"), "--config", conf)
    agent.wait_line("llmtap: ready")
    return agent


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


def got_seqs(rx):
    return {json.loads(line)["seq"] for line in rx.records()}


def seqs_in(path):
    return [r["seq"] for r in read_records(path, lifecycle=True)]


SHIP_CONF = """
state_dir: {state}
audit:
  checkpoint_records: 5
  checkpoint_interval: 2s
outputs:
  - name: local
    type: file
    path: {log}
  - name: central
    type: http
    url: http://127.0.0.1:{port}/ingest
    token_file: {token}
    batch_interval: 200ms
    retry_max: 2s
    timeout: 3s
"""


@test
def shipping_http_survives_outage_503_and_sigkill():
    base = tempfile.mkdtemp(prefix="llmtap-ship-")
    store = os.path.join(base, "received.jsonl")
    rx = Receiver(store=store, token=TOKEN)
    token = os.path.join(base, "token")
    with open(token, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(token, 0o600)
    log = os.path.join(base, "local.jsonl")
    conf = SHIP_CONF.format(state=os.path.join(base, "state"), log=log, port=rx.port,
                            token=token)
    agent = start(conf, base)
    try:
        markers = []

        def send(n):
            for _ in range(n):
                m = uuid.uuid4().hex
                markers.append(m)
                chat(m)
            wait_records(by_marker(markers[-1]), path=log)

        send(2)
        wait_for(lambda: set(seqs_in(log)) <= got_seqs(rx), 15,
                 "first records delivered")
        rx.set_mode("down")
        send(2)
        rx.set_mode("503", retry_after=1)
        send(2)
        wait_for(lambda: rx.stats()["by_status"].get("503", rx.stats()["by_status"].get(503, 0)),
                 15, "a 503 answered")
        # killed mid-run, with records still spooled
        agent.proc.send_signal(signal.SIGKILL)
        agent.proc.wait()
        rx.set_mode("accept")
        agent = start(conf, base)
        send(2)

        def complete():
            local = set(seqs_in(log))
            got = got_seqs(rx)
            return local and local <= got
        wait_for(complete, 30, "every local record at the receiver")
    finally:
        eq(agent.stop(), 0, "agent exit status")
    # the final records (agent_stop, last checkpoint) are shipped at SIGTERM
    wait_for(lambda: set(seqs_in(log)) <= got_seqs(rx), 10,
             "records of the shutdown at the receiver")
    rx.stop()
    recs = sorted((json.loads(line) for line in rx.records()), key=lambda r: r["seq"])
    eq([r["seq"] for r in recs], list(range(1, len(recs) + 1)), "seq set complete, no holes")
    names = [r["event.name"] for r in recs]
    eq(names.count("llmtap.agent_start"), 2, "two runs")
    if not any(r["event.name"] == "llmtap.gap" and "unclean" in json.dumps(r) for r in recs):
        raise AssertionError("no unclean_shutdown gap record after the SIGKILL")
    for m in markers:
        if not any(m in json.dumps(r) for r in recs):
            raise AssertionError("exchange %s never arrived" % m)
    # verify runs on the exact bytes the receiver got
    lines = {}
    with open(store, encoding="utf-8") as f:
        for line in f:
            lines[json.loads(line)["seq"]] = line
    arrived = os.path.join(base, "arrived.jsonl")
    with open(arrived, "w", encoding="utf-8") as f:
        for s in sorted(lines):
            f.write(lines[s])
    key = json.loads(subprocess.run([AGENT, "key", "show", "--state-dir",
                                     os.path.join(base, "state"), "--json"],
                                    capture_output=True, text=True, timeout=30).stdout)["vkey"]
    p = subprocess.run([AGENT, "verify", "--key", key, arrived], capture_output=True,
                       text=True, timeout=60)
    eq(p.returncode, 0, "verify of what arrived:\n" + p.stdout + p.stderr)
    st = rx.stats()
    if not st["by_status"].get("503", st["by_status"].get(503)):
        raise AssertionError("the receiver never answered 503: %r" % st)


@test
def shipping_otlp_shape_accepted():
    base = tempfile.mkdtemp(prefix="llmtap-otlp-")
    store = os.path.join(base, "received.jsonl")
    rx = Receiver(store=store)
    log = os.path.join(base, "local.jsonl")
    conf = """
state_dir: {state}
outputs:
  - name: local
    type: file
    path: {log}
  - name: otel
    type: otlp
    endpoint: http://127.0.0.1:{port}
    batch_interval: 200ms
""".format(state=os.path.join(base, "state"), log=log, port=rx.port)
    agent = start(conf, base)
    try:
        marker = uuid.uuid4().hex
        chat(marker)
        wait_records(by_marker(marker), path=log)
        wait_for(lambda: any(marker in line for line in rx.records()), 15,
                 "the exchange at the OTLP receiver")
    finally:
        eq(agent.stop(), 0, "agent exit status")
    rx.stop()
    st = rx.stats()
    bad = {k: v for k, v in st["by_status"].items() if str(k).startswith("4")}
    eq(bad, {}, "requests the OTLP shape check refused")


@test
def shipping_full_spool_drops_oldest_with_a_gap_record():
    base = tempfile.mkdtemp(prefix="llmtap-spool-")
    rx = Receiver(store=os.path.join(base, "received.jsonl"))
    rx.set_mode("down")
    log = os.path.join(base, "local.jsonl")
    conf = """
state_dir: {state}
outputs:
  - name: local
    type: file
    path: {log}
  - name: central
    type: http
    url: http://127.0.0.1:{port}/ingest
    spool_size: 64k
    retry_max: 1s
""".format(state=os.path.join(base, "state"), log=log, port=rx.port)
    agent = start(conf, base)
    try:
        # ~5 KiB records: 20 of them overflow a 64 KiB spool
        for _ in range(20):
            m = uuid.uuid4().hex
            body = json.dumps({"model": "gpt-4o-mini", "messages": [
                {"role": "user", "content": "hello " + m + " " + "lorem ipsum " * 300}]})
            run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body, SECRET])
        wait_for(lambda: any(r["event.name"] == "llmtap.gap" for r in
                             read_records(log, lifecycle=True)), 20, "a gap record")
        gap = [r for r in read_records(log, lifecycle=True) if r["event.name"] == "llmtap.gap"][0]
        text = json.dumps(gap)
        if "central" not in text or "spool" not in text:
            raise AssertionError("gap record does not name the output and the spool: " + text)
        eq(agent.proc.poll(), None, "agent still running")
        stats = agent.stats()
        eq(stats is not None, True, "stats")
    finally:
        eq(agent.stop(), 0, "agent exit status")
        rx.stop()
