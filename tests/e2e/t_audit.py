"""The audit chain end to end: a real agent, configured by a file, writes a
log that rotates (gzip) and spans a restart; `llmtap verify` with the host's
public key (from `llmtap key show`) passes on it, and finds each kind of
tampering on a copy at the right seq with the right exit status; a SIGHUP
with a changed configuration file adds a config_change record; /metrics
serves the agent's counters; `llmtap export` builds an evidence bundle."""
import glob
import gzip
import hashlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid

from e2e import (AGENT, Agent, by_marker, chat, eq, read_records, test, wait_records)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def config_agent(conf_text, base):
    """An agent started like the service: --config only."""
    conf = os.path.join(base, "llmtap.yaml")
    with open(conf, "w") as f:
        f.write(conf_text)
    return Agent(os.path.join(base, "flag-out.jsonl"), "--config", conf), conf


def log_files(path):
    """The rotated files (in name order, which is write order), then the live one."""
    rotated = sorted(p for p in glob.glob(path + ".*"))
    return rotated + [path]


def lines_of(files):
    out = []
    for p in files:
        opener = gzip.open if p.endswith(".gz") else open
        with opener(p, "rt", encoding="utf-8") as f:
            out.extend(f.readlines())
    return out


def verify(files, key, *extra):
    p = subprocess.run([AGENT, "verify", "--json", "--key", key, *extra, *files],
                       capture_output=True, text=True, timeout=60)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        raise AssertionError("verify printed no JSON (exit %d): %s %s"
                             % (p.returncode, p.stdout, p.stderr))
    return p.returncode, rep


AUDIT_CONF = """
state_dir: {state}
audit:
  checkpoint_records: 4
outputs:
  - name: log
    type: file
    path: {log}
    rotate_size: 6k
    compress: true
"""


@test
def audit_log_verifies_across_restart_rotation_gzip_and_tampering_is_found():
    base = tempfile.mkdtemp(prefix="llmtap-audit-")
    state, log = os.path.join(base, "state"), os.path.join(base, "audit.jsonl")
    text = AUDIT_CONF.format(state=state, log=log)
    markers = []
    for run_no in range(2):
        agent, _ = config_agent(text, base)
        try:
            agent.wait_line("llmtap: ready")
            for _ in range(4):
                m = uuid.uuid4().hex
                markers.append(m)
                chat(m)
            wait_records(by_marker(markers[-1]), path=log, timeout=15)
        finally:
            eq(agent.stop(), 0, "agent exit status (run %d)" % run_no)
    files = log_files(log)
    if not any(p.endswith(".gz") for p in files):
        raise AssertionError("no gzipped rotated file: %r" % files)
    lines = lines_of(files)
    recs = [json.loads(line) for line in lines]
    eq([r["seq"] for r in recs], list(range(1, len(recs) + 1)), "seq strictly +1 across runs")
    names = [r["event.name"] for r in recs]
    eq(names.count("llmtap.agent_start"), 2, "agent_start records")
    eq(names.count("llmtap.agent_stop"), 2, "agent_stop records")
    eq(names[0], "llmtap.agent_start", "first record")
    for m in markers:
        if not any(m in line for line in lines):
            raise AssertionError("exchange %s not in the log" % m)
    # the trusted key comes from the host, not from the log
    p = subprocess.run([AGENT, "key", "show", "--state-dir", state, "--json"],
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 0, "key show exit status: " + p.stderr)
    key = json.loads(p.stdout)["vkey"]
    rc, rep = verify(files, key)
    eq((rc, rep["result"]), (0, "intact"), "verify of the untouched log: %r" % rep.get("issues"))
    eq(rep["agent_starts"], 2, "starts seen by verify")
    eq(rep["last_seq"], len(recs), "last seq")

    # tampering, on an uncompressed copy of the whole log
    work = os.path.join(base, "tamper")
    os.mkdir(work)

    def tampered(name, new_lines):
        path = os.path.join(work, name + ".jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(new_lines)
        return verify([path], key)

    ex = [i for i, r in enumerate(recs) if r["event.name"] not in
          ("llmtap.agent_start", "llmtap.checkpoint", "llmtap.agent_stop")]
    i = ex[1]
    seq = recs[i]["seq"]
    edited = lines[i].replace("hello ", "hellO ", 1)
    assert edited != lines[i]
    rc, rep = tampered("edit", lines[:i] + [edited] + lines[i + 1:])
    eq((rc, rep["result"], rep["break_seq"]), (1, "tampered", seq), "edited byte")
    rc, rep = tampered("delete", lines[:i] + lines[i + 1:])
    eq((rc, rep["break_seq"]), (1, seq), "deleted line")
    rc, rep = tampered("insert", lines[:i] + [lines[i]] + lines[i:])
    eq((rc, rep["break_seq"]), (1, seq), "inserted (duplicated) line")
    rc, rep = tampered("swap", lines[:i] + [lines[i + 1], lines[i]] + lines[i + 2:])
    eq(rc, 1, "swapped lines")
    if rep["break_seq"] not in (seq, seq + 1):
        raise AssertionError("swap reported at seq %r, not %d/%d" % (rep["break_seq"], seq,
                                                                     seq + 1))
    # a forged checkpoint: a valid-looking root signed by another key
    cp = [k for k, r in enumerate(recs) if r["event.name"] == "llmtap.checkpoint"][1]
    forged = json.loads(lines[cp])
    attrs = forged["attributes"]
    note_key = [k for k in attrs if k.endswith(".note")][0]
    note = attrs[note_key].split("\n")
    root_line = 2
    note[root_line] = "A" * 43 + "="
    attrs[note_key] = "\n".join(note)
    rc, rep = tampered("forge", lines[:cp] + [json.dumps(forged, separators=(",", ":")) + "\n"]
                       + lines[cp + 1:])
    eq(rc, 1, "forged checkpoint exit status")
    if rep["break_seq"] != recs[cp]["seq"]:
        raise AssertionError("forged checkpoint reported at %r, not seq %d: %r"
                             % (rep["break_seq"], recs[cp]["seq"], rep["issues"][:2]))
    # truncation after the last checkpoint: the tail cannot be vouched for
    last_cp = max(k for k, r in enumerate(recs) if r["event.name"] == "llmtap.checkpoint")
    cut = lines[:last_cp] + lines[last_cp + 1:]
    rc, rep = tampered("truncate", cut)
    eq(rc, 2, "records after the last checkpoint: incomplete (%r)" % rep.get("result"))

    # export: an evidence bundle for the period
    out = os.path.join(base, "bundle")
    p = subprocess.run([AGENT, "export", "--since", "2000-01-01T00:00:00Z", "--until",
                        "2100-01-01T00:00:00Z", "--out", out, "--key", key, *files],
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 0, "export exit status: " + p.stderr)
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    entries = manifest.get("files", manifest)
    listed = entries if isinstance(entries, list) else [{"path": k, "sha256": v}
                                                        for k, v in entries.items()]
    if len(listed) < 4:
        raise AssertionError("manifest lists too few files: %r" % manifest)
    for e in listed:
        path = os.path.join(out, e.get("path") or e.get("name"))
        eq(hashlib.sha256(open(path, "rb").read()).hexdigest(), e["sha256"],
           "manifest hash of " + path)
    summary = open(os.path.join(out, "summary.md"), encoding="utf-8").read()
    if "gpt-4o-mini" not in summary:
        raise AssertionError("summary does not name the model: " + summary[:400])


@test
def audit_sighup_config_change_and_metrics():
    base = tempfile.mkdtemp(prefix="llmtap-reload-")
    log = os.path.join(base, "audit.jsonl")
    port = free_port()
    text = """
state_dir: {state}
metrics:
  listen: 127.0.0.1:{port}
outputs:
  - name: log
    type: file
    path: {log}
""".format(state=os.path.join(base, "state"), port=port, log=log)
    agent, conf = config_agent(text, base)
    try:
        agent.wait_line("llmtap: ready")
        marker = uuid.uuid4().hex
        chat(marker)
        wait_records(by_marker(marker), path=log)
        deadline = time.time() + 10
        body = ""
        while time.time() < deadline:
            p = subprocess.run(["curl", "-s", "http://127.0.0.1:%d/metrics" % port],
                               capture_output=True, text=True, timeout=10)
            body = p.stdout
            if 'llmtap_exchanges_total{provider="openai",model="gpt-4o-mini"}' in body:
                break
            time.sleep(0.5)
        for name in ("llmtap_agent_events", "llmtap_chain_seq",
                     "llmtap_process_resident_memory_bytes",
                     'llmtap_exchanges_total{provider="openai",model="gpt-4o-mini"}'):
            if name not in body:
                raise AssertionError("/metrics lacks %s:\n%s" % (name, body[:2000]))
        # a broken file: nothing changes
        with open(conf, "a") as f:
            f.write("bogus_key: 1\n")
        start = len(agent.lines)
        agent.proc.send_signal(signal.SIGHUP)
        agent.wait_line("llmtap: error: configuration not reloaded", start=start, timeout=10)
        # a valid change: a config_change record with the new file's hash
        with open(conf, "w") as f:
            f.write(text + "redaction:\n  entities:\n    EMAIL: mask\n")
        new_sha = hashlib.sha256(open(conf, "rb").read()).hexdigest()
        start = len(agent.lines)
        agent.proc.send_signal(signal.SIGHUP)
        agent.wait_line("llmtap: rules reloaded", start=start, timeout=10)
        deadline = time.time() + 10
        changes = []
        while time.time() < deadline and not changes:
            changes = [r for r in read_records(log, lifecycle=True)
                       if r["event.name"] == "llmtap.config_change"]
            time.sleep(0.2)
        eq(len(changes), 1, "config_change records")
        if new_sha not in json.dumps(changes[0]):
            raise AssertionError("config_change lacks the new SHA-256: %r" % changes[0])
    finally:
        eq(agent.stop(), 0, "agent exit status")
