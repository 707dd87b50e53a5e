"""The agent and the empty-probe floor under benchmark: started fresh, stopped between rounds.

BUILD (environment, default "build") names the build directory, as in the Makefile.
"""
import json
import os
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
AGENT = os.path.join(BUILD, "llmtap")
EMPTY = os.path.join(BUILD, "empty_probe")
EMPTY_OBJ = os.path.join(BUILD, "bench", "empty_probe.bpf.o")
RESULTS = os.path.join(ROOT, "bench", "results")


def start_agent(tmp, args=()):
    """Starts the agent writing to tmp/bench.jsonl, its stderr to tmp/agent.err (a file, so
    a long run never blocks on a full pipe); returns once it is ready."""
    err = open(os.path.join(tmp, "agent.err"), "w+")
    # a state directory of its own: the checkout's ./.llmtap may be locked by another agent
    p = subprocess.Popen([AGENT, "run", "--state-dir", os.path.join(tmp, "state"), "--output",
                          os.path.join(tmp, "bench.jsonl"), *args],
                         stdout=subprocess.DEVNULL, stderr=err, text=True)
    p.err_file = err
    deadline = time.time() + 120
    while time.time() < deadline:
        err.seek(0)
        if any(line.startswith("llmtap: ready") for line in err):
            return p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    err.seek(0)
    raise SystemExit("agent did not start:\n" + err.read()[-2000:])


def agent_stats(p):
    """Asks the running agent for its counters (SIGUSR1); returns them as a dict."""
    before = len(stats_lines(p))
    p.send_signal(signal.SIGUSR1)
    for _ in range(200):
        lines = stats_lines(p)
        if len(lines) > before:
            return last_stats(lines[-1])
        time.sleep(0.02)
    return {}


def stats_lines(p):
    p.err_file.seek(0)
    return [line for line in p.err_file if "llmtap: stats " in line]


def stop_agent(p):
    """Stops the agent; returns its last statistics line (printed at exit) as a dict."""
    p.terminate()
    p.wait(timeout=60)
    p.err_file.seek(0)
    text = p.err_file.read()
    p.err_file.close()
    return last_stats(text)


def last_stats(text):
    """The last JSON statistics line in the agent's stderr, or {}."""
    for line in reversed(text.splitlines()):
        i = line.find("{")
        if i >= 0 and '"probes"' in line:
            try:
                return json.loads(line[i:])
            except ValueError:
                continue
    return {}


def losses(stats):
    """Every counter that says something was lost, summed over probes: {name: n}, non-zero only."""
    out = {}
    for name, ps in stats.get("probes", {}).items():
        for k in ("ringbuf_drops", "read_errors", "truncated_bytes"):
            if ps.get(k):
                out["%s.%s" % (name, k)] = ps[k]
    for k in ("control_drops", "conn_table_full", "call_table_full", "sock_table_full"):
        if stats.get("kernel", {}).get(k):
            out["kernel." + k] = stats["kernel"][k]
    for k in ("bad_events", "gaps", "gap_bytes", "incomplete_records", "evicted_for_memory",
              "pending_dropped", "conns_evicted", "llm_decode_errors"):
        if stats.get("agent", {}).get(k):
            out["agent." + k] = stats["agent"][k]
    return out


def start_empty(mode, *args):
    """Starts bench/empty_probe (mode "ssl" LIBSSL, or "syscalls"); returns once attached."""
    p = subprocess.Popen([EMPTY, EMPTY_OBJ, mode, *args], stdout=subprocess.PIPE, text=True)
    if not p.stdout.readline().startswith("ready"):
        raise SystemExit("empty_probe did not attach")
    return p


def stop_empty(p):
    p.terminate()
    p.wait(timeout=30)


def proc_rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def proc_cpu_s(pid):
    """User + system CPU seconds of a process so far."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine():
    """What the figures were measured on."""
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "kernel": os.uname().release,
            "load": os.getloadavg()}


def write_result(name, doc):
    os.makedirs(RESULTS, exist_ok=True)
    doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
           **doc}
    with open(os.path.join(RESULTS, name), "w") as f:
        json.dump(doc, f, indent=2)


def spread(xs):
    return [min(xs), max(xs)]


# Other llmtap agents on the machine (other users, tests) attach their own probes host-wide:
# a sample taken while one runs measures their cost too.  Samples wait for them to go.
FOREIGN = {"waited_s": 0.0, "retries": 0, "unquiet": 0}


def foreign_agents(mine=()):
    """pids of llmtap processes other than those in mine."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in mine and int(d) != os.getpid():
            try:
                with open("/proc/%s/comm" % d) as f:
                    if f.read().strip() == "llmtap":
                        out.append(int(d))
            except OSError:
                pass
    return out


def quiet_sample(fn, mine=(), timeout=20):
    """fn() taken while no other agent runs: waits up to timeout s for them to stop and
    retakes a sample when one appeared meanwhile; past BENCH_QUIET_BUDGET s of waiting in
    all (300), samples are taken as they come and counted in FOREIGN["unquiet"]."""
    budget = float(os.environ.get("BENCH_QUIET_BUDGET", "300"))
    for _ in range(3):
        t0 = time.time()
        while (foreign_agents(mine) and time.time() - t0 < timeout and
               FOREIGN["waited_s"] + time.time() - t0 < budget):
            time.sleep(0.25)
        FOREIGN["waited_s"] += time.time() - t0
        r = fn()
        if not foreign_agents(mine):
            return r
        FOREIGN["retries"] += 1
    FOREIGN["unquiet"] = FOREIGN.get("unquiet", 0) + 1
    return r
