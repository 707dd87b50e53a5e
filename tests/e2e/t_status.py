"""`llmtap status`: running processes, their TLS stacks, and whether the
running agent has hooks on them.  The shared agent of run.py writes the
default run-state file, which any other agent on the host may overwrite;
the tests that assert hooks therefore run a second agent with a private
--state file.  The not-covered cases are stand-ins built here: a static,
stripped C program carrying BoringSSL's strings but no symbols (what
Electron or grpc's BoringSSL looks like from outside), and one carrying
Bun's trailer constant (a Bun-compiled CLI such as a coding agent)."""
import json
import os
import shutil
import subprocess
import time

from e2e import AGENT, ENV, Agent, Skip, eq, python_exe, test

PY_SSL_IDLE = r"""
import ssl, sys, time
print("ready", flush=True)
time.sleep(120)
"""

# Static and stripped: no symbol names what the strings suggest.
FAKE_BORINGSSL_C = r"""
#include <stdio.h>
#include <unistd.h>
static const char *volatile keep[] = {
	"BoringSSL", "../../third_party/boringssl/src/ssl/handshake_client.cc" };
int main(void) { printf("ready %p\n", (void *)keep); fflush(stdout); sleep(120); return 0; }
"""

FAKE_BUN_C = r"""
#include <stdio.h>
#include <unistd.h>
static const char *volatile keep[] = { "\n---- Bun! ----\n", "/$bunfs/root/" };
int main(void) { printf("ready %p\n", (void *)keep); fflush(stdout); sleep(120); return 0; }
"""

GO_TLS_IDLE = r"""
package main

import (
	"crypto/tls"
	"fmt"
	"os"
	"time"
)

func main() {
	// linked in (the linker drops unreachable methods), never run here
	if len(os.Args) > 1 {
		c, err := tls.Dial("tcp", os.Args[1], &tls.Config{})
		if err == nil {
			c.Write([]byte("x"))
			c.Read(make([]byte, 1))
		}
	}
	fmt.Println("ready")
	time.Sleep(120 * time.Second)
}
"""


def status(*args):
    p = subprocess.run([AGENT, "status", *args], capture_output=True, text=True, timeout=180)
    eq(p.returncode, 0, "llmtap status exit status (stderr %r)" % p.stderr)
    return p.stdout


def status_json(*args):
    return json.loads(status("--json", *args))


def row_of(doc, pid):
    for r in doc["processes"]:
        if r["pid"] == pid:
            return r
    return None


def start(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    if not line.startswith("ready"):
        p.kill()
        p.wait()
        raise AssertionError("%s did not start: %r" % (cmd[0], line))
    return p


def stop(p):
    p.kill()
    p.wait()


class PrivateAgent:
    """A second agent writing its run state to a file of its own."""

    def __enter__(self):
        self.state = os.path.join(ENV["dir"], "state-%d.json" % time.monotonic_ns())
        self.agent = Agent(os.path.join(ENV["dir"], "status-records.jsonl"), "--state",
                           self.state)
        self.agent.wait_line("llmtap: ready")
        return self

    def __exit__(self, *exc):
        eq(self.agent.stop(), 0, "private agent exit status")
        eq(os.path.exists(self.state), False, "state file removed at exit")


def wait_row(pid, pred, *args, timeout=20):
    """The status row of pid once pred(doc, row) holds (the agent writes its
    state at most once a second), else the last one seen."""
    deadline = time.time() + timeout
    while True:
        doc = status_json(*args)
        row = row_of(doc, pid)
        if (row is not None and pred(doc, row)) or time.time() > deadline:
            return doc, row
        time.sleep(0.5)


def build_c(name, source):
    gcc = shutil.which("gcc")
    if not gcc:
        raise Skip("gcc is not installed")
    src = os.path.join(ENV["dir"], name + ".c")
    exe = os.path.join(ENV["dir"], name)
    with open(src, "w") as f:
        f.write(source)
    p = subprocess.run([gcc, "-static", "-s", "-O1", src, "-o", exe], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise Skip("gcc -static failed (no static libc?): " + p.stderr[-300:])
    return exe


@test
def status_python_ssl_hooks_attached():
    """A python that imported ssl maps the system libssl, which an agent
    attaches at start-up."""
    p = start([python_exe(), "-c", PY_SSL_IDLE])
    try:
        with PrivateAgent() as pa:
            doc, row = wait_row(p.pid, lambda d, r: r["hooks"] == "attached", "--state",
                                pa.state)
            eq(doc["agent"]["state"], "running", "agent state")
            eq(doc["agent"]["pid"], pa.agent.proc.pid, "agent pid")
            if row is None:
                raise AssertionError("python pid %d not listed: %r" % (p.pid, doc))
            eq(row["hooks"], "attached", "hooks of python (row %r)" % row)
            eq("openssl" in row["stacks"], True, "openssl among %r" % row["stacks"])
            eq(row["exe"], python_exe(), "exe")
            ssl_files = [f for f in row["files"] if "openssl" in f["stacks"]]
            if not ssl_files or not all(f["hooks"] and f["hooks"] > 0 for f in ssl_files):
                raise AssertionError("libssl without hooks: %r" % row["files"])
            eq(ssl_files[0]["agent_reason"], "attached", "agent's reason")
            if not any("libssl" in n and " hooks" in n for n in row["notes"]):
                raise AssertionError("notes %r" % row["notes"])
            with open(pa.state) as f:
                state = json.load(f)
            eq(state["agent"]["pid"], pa.agent.proc.pid, "pid in the state file")
            eq(oct(os.stat(pa.state).st_mode & 0o777), oct(0o600), "state file mode")
            # the table names it too
            out = status("--state", pa.state)
            eq(out.splitlines()[0], "agent: running, pid %d (state %s)"
               % (pa.agent.proc.pid, pa.state), "header")
            line = [l for l in out.splitlines() if l.split()[:1] == [str(p.pid)]]
            eq(len(line), 1, "table line of python")
            eq(" attached " in line[0], True, "table line %r" % line[0])
        # the agent stopped: its state file went with it
        doc = status_json("--state", pa.state)
        eq(doc["agent"]["state"], "not running", "after the agent stopped")
        eq(row_of(doc, p.pid)["hooks"], "agent not running", "hooks after the agent stopped")
    finally:
        stop(p)


@test
def status_default_state_names_running_agent():
    """The shared agent writes the default run-state file (on change, and
    every 10 s in case another agent replaced it)."""
    deadline = time.time() + 25
    while True:
        doc = status_json()
        if doc["agent"]["state"] == "running" or time.time() > deadline:
            break
        time.sleep(0.5)
    eq(doc["agent"]["state"], "running", "agent behind /run/llmtap/state.json (%r)"
       % doc["agent"])


@test
def status_without_agent_state():
    p = start([python_exe(), "-c", PY_SSL_IDLE])
    try:
        missing = os.path.join(ENV["dir"], "no-such-state.json")
        doc = status_json("--state", missing)
        eq(doc["agent"]["state"], "not running", "agent state")
        row = row_of(doc, p.pid)
        eq(row is not None, True, "python listed")
        eq(row["hooks"], "agent not running", "hooks")
        out = status("--state", missing)
        eq(out.splitlines()[0], "agent: not running (no %s)" % missing, "header")
    finally:
        stop(p)


@test
def status_stripped_static_boringssl_not_covered():
    exe = build_c("fake-boringssl", FAKE_BORINGSSL_C)
    p = start([exe])
    try:
        with PrivateAgent() as pa:
            doc, row = wait_row(p.pid, lambda d, r: d["agent"]["state"] == "running",
                                "--state", pa.state)
        if row is None:
            raise AssertionError("static stripped binary not listed: %r" % doc)
        eq(row["stacks"], ["boringssl-stripped"], "stacks")
        eq(row["runtimes"], [], "runtimes")
        eq(row["hooks"], "not attached", "hooks")
        eq(row["notes"], ["static BoringSSL (stripped) in fake-boringssl: not covered"],
           "notes")
        eq(row_of(status_json("--all"), p.pid) is not None, True, "listed with --all too")
    finally:
        stop(p)


@test
def status_bun_like_binary_not_covered():
    exe = build_c("fakebun", FAKE_BUN_C)
    p = start([exe])
    try:
        with PrivateAgent() as pa:
            doc, row = wait_row(p.pid, lambda d, r: d["agent"]["state"] == "running",
                                "--state", pa.state)
        if row is None:
            raise AssertionError("bun-like binary not listed: %r" % doc)
        eq(row["stacks"], ["boringssl-stripped"], "stacks")
        eq(row["runtimes"], ["bun"], "runtimes")
        eq(row["hooks"], "not attached", "hooks")
        eq(row["notes"], ["Bun (static BoringSSL, stripped) in fakebun: not covered"], "notes")
        # the running agent said so too, when the binary was exec'd
        ENV["agent"].wait_line("llmtap: warning: %s carries Bun" % exe, timeout=5)
    finally:
        stop(p)


@test
def status_stripped_go_binary():
    """A Go binary built with -ldflags='-s -w': crypto/tls is only named in
    .gopclntab.  Whether the agent hooks it is for the Go capture; the row
    must say what was found and, when not hooked, why (the agent's reason)."""
    go = shutil.which("go")
    if not go:
        raise Skip("go is not installed")
    d = os.path.join(ENV["dir"], "go-status")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "main.go"), "w") as f:
        f.write(GO_TLS_IDLE)
    exe = os.path.join(d, "gostripped")
    env = dict(os.environ, GO111MODULE="off", CGO_ENABLED="0",
               GOCACHE=os.environ.get("GOCACHE", os.path.join(ENV["dir"], "gocache")))
    b = subprocess.run([go, "build", "-ldflags=-s -w", "-o", exe, "main.go"], cwd=d, env=env,
                       capture_output=True, text=True, timeout=300)
    if b.returncode != 0:
        raise Skip("go build failed: " + b.stderr[-300:])
    p = start([exe])
    try:
        with PrivateAgent() as pa:
            doc, row = wait_row(p.pid, lambda d, r: d["agent"]["state"] == "running"
                                and r["files"] and r["files"][0]["hooks"] is not None,
                                "--state", pa.state)
        if row is None:
            raise AssertionError("stripped Go binary not listed: %r" % doc)
        eq(row["stacks"], ["go-pclntab"], "stacks")
        eq(row["runtimes"], ["go"], "runtimes")
        desc = "stripped Go binary (crypto/tls via .gopclntab) in gostripped"
        if row["hooks"] == "attached":
            eq(row["notes"][0].startswith(desc + ": "), True, "notes %r" % row["notes"])
        else:
            eq(row["hooks"], "not attached", "hooks")
            eq(row["notes"][0].startswith(desc + ": no hooks (agent: "), True,
               "notes %r" % row["notes"])
    finally:
        stop(p)
