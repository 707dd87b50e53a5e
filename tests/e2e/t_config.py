"""The configuration file drives the agent: rules.paths and redaction modes
from the file take effect (a team rule alerts, the default packs are not
loaded, an email is masked rather than pseudonymised); a broken file stops
the start with file:line:col and exit status 2."""
import json
import os
import subprocess
import tempfile
import uuid

from e2e import (AGENT, ENV, PY_URLLIB, SECRET, Agent, by_marker, eq, python_exe, run, test,
                 url, wait_records)

RULE = """
- rule: Config canary
  id: CFG-CANARY-1
  desc: a word the team watches
  condition: prompt contains "{word}" and gen_ai.request.model = "gpt-4o-mini"
  output: "canary in a prompt of %process.executable.name to %gen_ai.request.model"
  severity: medium
  tags: [team.canary]
"""


@test
def config_file_sets_rule_paths_and_redaction_modes():
    base = tempfile.mkdtemp(prefix="llmtap-cfg-")
    word = "canary-" + uuid.uuid4().hex[:8]
    rules = os.path.join(base, "team.yaml")
    with open(rules, "w") as f:
        f.write(RULE.format(word=word))
    log = os.path.join(base, "audit.jsonl")
    conf = os.path.join(base, "llmtap.yaml")
    with open(conf, "w") as f:
        f.write("""
state_dir: {state}
rules:
  paths: [{rules}]
redaction:
  entities:
    EMAIL: mask
outputs:
  - name: log
    type: file
    path: {log}
""".format(state=os.path.join(base, "state"), rules=rules, log=log))
    agent = Agent(os.path.join(base, "flags.jsonl"), "--config", conf)
    try:
        agent.wait_line("llmtap: ready: ")
        line = [l for l in agent.lines if l.startswith("llmtap: ready")][0]
        if not line.endswith(", 1 detection rules"):
            raise AssertionError("rules.paths not used: " + line)
        marker = uuid.uuid4().hex
        email = "jane.doe.%s@example.com" % marker[:6]
        body = json.dumps({"model": "gpt-4o-mini", "messages": [
            {"role": "user", "content": "hello %s %s write to %s" % (marker, word, email)}]})
        run([python_exe(), "-c", PY_URLLIB, url(), ENV["cert"], body, SECRET])
        recs = wait_records(by_marker(marker), path=log)
        eq(len(recs), 1, "records")
        text = json.dumps(recs[0])
        if email in text:
            raise AssertionError("the email is in the record")
        if "[REDACTED:EMAIL]" not in text:
            raise AssertionError("EMAIL not masked as configured: " + text[:1500])
        eq([a["id"] for a in recs[0]["alerts"]], ["CFG-CANARY-1"], "alerts (team rule only)")
        eq(recs[0]["redactions"].get("EMAIL", 0) >= 1, True, "EMAIL counted")
    finally:
        eq(agent.stop(), 0, "agent exit status")


@test
def config_errors_stop_the_start_with_file_line():
    base = tempfile.mkdtemp(prefix="llmtap-cfgbad-")
    conf = os.path.join(base, "llmtap.yaml")
    with open(conf, "w") as f:
        f.write("state_dir: %s\ncapture:\n  ports: [8000]\n  ringbuf: 3m\n" % base)
    p = subprocess.run([AGENT, "run", "--config", conf], capture_output=True, text=True,
                       timeout=30)
    eq(p.returncode, 2, "exit status")
    eq(p.stderr.splitlines()[0], "%s:4:12: 'ringbuf' must be a power of two" % conf,
       "first line")
    p = subprocess.run([AGENT, "config", "check", conf], capture_output=True, text=True,
                       timeout=30)
    eq(p.returncode, 1, "config check exit status")
    p = subprocess.run([AGENT, "run", "--config", os.path.join(base, "missing.yaml")],
                       capture_output=True, text=True, timeout=30)
    eq(p.returncode, 2, "missing file exit status")
    if "cannot read the configuration" not in p.stderr:
        raise AssertionError("unclear error: " + p.stderr)
