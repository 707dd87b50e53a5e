"""Records shipped by the `type: http` output land in a ClickHouse table
through ClickHouse's HTTP interface (`INSERT ... FORMAT JSONEachRow`).

Uses Debian's clickhouse-server (18.16; scripts/install-deps installs it where
that starts no system service), started directly by the test with a config of
its own in a temporary directory (HTTP on a free 127.0.0.1 port, no TCP port);
skipped with the reason when it is not installed or does not start.

What 18.16 needs and takes, found by trying it:
- `input_format_skip_unknown_fields=1` in the URL: a record has more fields
  than the table has columns, and `attributes` is an object, which 18.16
  cannot put into any column type (without the setting: HTTP 500 "Unknown
  field found while parsing JSONEachRow format"); so the table holds the
  top-level fields (`event.name` is a column name with a dot, in backquotes).
  `input_format_import_nested_json=1` maps only one level of nesting, and
  attribute names themselves contain dots, so attributes cannot be columns.
- gzip: 18.16 decompresses a `Content-Encoding: gzip` request body without any
  setting, so the output keeps its default `gzip: true`.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from e2e import (Agent, Skip, by_marker, chat, eq, read_records, test, wait_records)

CH_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>{d}/server.log</log>
    <errorlog>{d}/server.err.log</errorlog>
    <size>10M</size>
    <count>1</count>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>{port}</http_port>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path>
  <format_schema_path>{d}/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
</yandex>
"""

CH_USERS = """<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default></default></quotas>
</yandex>
"""

# the record's top-level fields (docs/record.md, docs/audit.md); end_time is
# absent from lifecycle records and is then the column default ('')
TABLE = ("CREATE TABLE llmtap (schema String, id String, time String, end_time String, "
         "`event.name` String, stream String, seq UInt64, prev String) "
         "ENGINE = MergeTree ORDER BY (stream, seq)")
COLUMNS = ("schema", "id", "time", "end_time", "event.name", "stream", "seq", "prev")

AGENT_CONF = """
state_dir: {state}
outputs:
  - name: local
    type: file
    path: {log}
  - name: clickhouse
    type: http
    url: {url}
    batch_interval: 200ms
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ch_query(port, sql, timeout=10):
    """Runs sql through the HTTP interface (POST, so DDL is allowed)."""
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=sql.encode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.read().decode()
    except urllib.error.HTTPError as e:
        raise AssertionError("ClickHouse answered %d to %r: %s"
                             % (e.code, sql, e.read().decode(errors="replace")[:500]))


def tail(path, n=5):
    try:
        with open(path, errors="replace") as f:
            return " | ".join(line.strip() for line in f.readlines()[-n:])
    except OSError:
        return ""


class ClickHouse:
    """A private clickhouse-server in its own temporary directory."""

    def __init__(self, base):
        exe = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
        if not os.access(exe, os.X_OK):
            raise Skip("clickhouse-server is not installed (apt-get install clickhouse-server; "
                       "scripts/install-deps does where no systemd runs or CI is set)")
        self.dir = os.path.join(base, "clickhouse")
        os.mkdir(self.dir)
        self.port = free_port()
        conf = os.path.join(self.dir, "config.xml")
        with open(conf, "w") as f:
            f.write(CH_CONFIG.format(d=self.dir, port=self.port))
        with open(os.path.join(self.dir, "users.xml"), "w") as f:
            f.write(CH_USERS)
        self.out = open(os.path.join(self.dir, "stdout.log"), "w")
        t0 = time.time()
        self.proc = subprocess.Popen([exe, "--config-file=" + conf], cwd=self.dir,
                                     stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        deadline = t0 + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/ping" % self.port,
                                            timeout=2) as r:
                    if r.read().strip() == b"Ok.":
                        break
            except OSError:
                pass
            why = None
            if self.proc.poll() is not None:
                why = "exited with status %d" % self.proc.returncode
            elif time.time() > deadline:
                why = "did not answer /ping within 20 s"
            if why:
                self.stop()
                raise Skip("clickhouse-server %s: %s %s" % (
                    why, tail(os.path.join(self.dir, "server.err.log")),
                    tail(os.path.join(self.dir, "stdout.log"))))
            time.sleep(0.1)
        self.start_s = time.time() - t0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()


def ch_rows(ch, stream):
    out = ch_query(ch.port, "SELECT DISTINCT %s FROM llmtap WHERE stream = '%s' ORDER BY seq "
                   "FORMAT JSONEachRow" % (", ".join("`%s`" % c for c in COLUMNS), stream))
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    for r in rows:
        r["seq"] = int(r["seq"])  # 18.16 quotes 64-bit integers in JSON output
    return rows


@test
def clickhouse_receives_records_via_json_each_row():
    base = tempfile.mkdtemp(prefix="llmtap-ch-")
    ch = agent = None
    try:
        ch = ClickHouse(base)
        ch_query(ch.port, TABLE)
        insert = urllib.parse.quote("INSERT INTO llmtap FORMAT JSONEachRow")
        ch_url = ("http://127.0.0.1:%d/?query=%s&input_format_skip_unknown_fields=1"
                  % (ch.port, insert))
        log = os.path.join(base, "audit.jsonl")
        conf = os.path.join(base, "llmtap.yaml")
        with open(conf, "w") as f:
            f.write(AGENT_CONF.format(state=os.path.join(base, "state"), log=log, url=ch_url))
        agent = Agent(os.path.join(base, "flag-out.jsonl"), "--config", conf)
        agent.wait_line("llmtap: ready")
        markers = [uuid.uuid4().hex for _ in range(2)]
        mine = []
        for m in markers:
            chat(m)
            found = wait_records(by_marker(m), path=log, timeout=15)
            eq(len(found), 1, "exchange %s in the local file" % m)
            mine.append(found[0])
        stream = mine[0]["stream"]
        want = {r["seq"] for r in mine}
        deadline = time.time() + 15
        rows = []
        while time.time() < deadline:
            rows = ch_rows(ch, stream)
            if want <= {r["seq"] for r in rows}:
                break
            time.sleep(0.3)
        got = {r["seq"]: r for r in rows}
        missing = sorted(want - set(got))
        if missing:
            raise AssertionError("seqs %r never reached ClickHouse (it has %r); ClickHouse: %s; "
                                 "agent:\n%s" % (missing, sorted(got),
                                                  tail(os.path.join(ch.dir, "server.err.log"), 3),
                                                  "\n".join(agent.lines[-20:])))
        # what arrived is the chain from its start, without a hole, and each row
        # is the record the local file holds at that seq (duplicates collapse
        # under DISTINCT; a differing duplicate would show as two rows)
        eq(len(rows), len(got), "one row per seq")
        eq(sorted(got), list(range(1, max(got) + 1)), "seqs in ClickHouse contiguous from 1")
        local = {r["seq"]: r for r in read_records(log, lifecycle=True)}
        for seq, row in got.items():
            rec = local.get(seq)
            if rec is None:
                raise AssertionError("seq %d in ClickHouse but not in the local file" % seq)
            expect = {c: rec.get(c, "") for c in COLUMNS}
            eq(row, expect, "ClickHouse row at seq %d" % seq)
        eq(got[1]["event.name"], "llmtap.agent_start", "first row")
        for r in mine:
            eq(got[r["seq"]]["id"], r["id"], "exchange id at seq %d" % r["seq"])
        print("     clickhouse-server started in %.2fs; %d rows, seq 1..%d"
              % (ch.start_s, len(rows), max(got)), flush=True)
    finally:
        try:
            if agent:
                eq(agent.stop(), 0, "agent exit status")
        finally:
            if ch:
                ch.stop()
            shutil.rmtree(base, ignore_errors=True)
