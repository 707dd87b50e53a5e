#!/usr/bin/env python3
"""Cost of llmtap's socket hooks on plain TCP traffic, measured side by side.

For each body size, alternating agent / no agent over several rounds, runs
bench/plain_rtt (a client and a server process on loopback, one connection)
with three kinds of traffic:
  raw1    - binary messages, both ends in one thread (no wake-ups): the
            syscalls' own cost, declined at the first bytes; every later call
            costs one map lookup at syscall entry (what any non-LLM socket pays)
  raw     - the same between two processes (wake-up latency included)
  ignored - HTTP that is not an LLM API: the first request is copied, the
            agent classifies it and the kernel stops copying
  llm     - HTTP POST /v1/chat/completions: both ends captured and recorded
and prints the median microseconds per round trip, the spread, the ratio
agent/none per kind, and for raw1 the extra cost per socket syscall (a
round trip is four: write and read on each side).  The machine is noisy: ratios are the result.
Writes bench/results/plain_overhead.json.  Needs root.
"""
import os
import statistics
import subprocess
import sys
import tempfile

from agentctl import BUILD, FOREIGN, quiet_sample, start_agent, stop_agent, write_result

RTT = os.path.join(BUILD, "plain_rtt")
SIZES = [64, 4096, 65536]
KINDS = {"raw1": "raw1", "raw": "raw", "ignored": "/upload", "llm": "/v1/chat/completions"}
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TRIPS = {64: 4000, 4096: 3000, 65536: 1000}


def rtt(size, path, mine=()):
    out = quiet_sample(lambda: subprocess.check_output(
        [RTT, "0", str(size), str(TRIPS[size]), path], text=True), mine)
    return float(out.strip())


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    tmp = tempfile.mkdtemp(prefix="llmtap-bench-")
    res = {(k, m): {s: [] for s in SIZES} for k in KINDS for m in ("none", "agent")}
    for r in range(ROUNDS):
        order = ["none", "agent"] if r % 2 == 0 else ["agent", "none"]
        for mode in order:
            agent = start_agent(tmp) if mode == "agent" else None
            try:
                for s in SIZES:
                    for k, path in KINDS.items():
                        res[(k, mode)][s].append(rtt(s, path, (agent.pid,) if agent else ()))
            finally:
                if agent:
                    stop_agent(agent)
                    os.unlink(os.path.join(tmp, "bench.jsonl"))
        print("round %d/%d done" % (r + 1, ROUNDS), file=sys.stderr)

    rows = []
    print("%-8s %-8s %10s %10s %8s %18s %14s" % ("body", "traffic", "none us", "agent us",
                                                  "ratio", "agent spread us", "ns/syscall"))
    for s in SIZES:
        for k in KINDS:
            none = statistics.median(res[(k, "none")][s])
            agent = statistics.median(res[(k, "agent")][s])
            spread = (min(res[(k, "agent")][s]), max(res[(k, "agent")][s]))
            rows.append({"body_bytes": s, "traffic": k, "median_us_none": none,
                         "median_us_agent": agent, "ratio": agent / none,
                         "spread_us_agent": spread,
                         "spread_us_none": (min(res[(k, "none")][s]),
                                            max(res[(k, "none")][s]))})
            per = (agent - none) * 1000 / 4 if k == "raw1" else None
            per_call = "%.0f" % per if per is not None else "-"
            rows[-1]["extra_ns_per_syscall"] = per
            print("%-8d %-8s %10.1f %10.1f %8.2f %8.1f..%-8.1f %14s" % (
                s, k, none, agent, agent / none, *spread, per_call))
    write_result("plain_overhead.json", {"bench": "plain_overhead", "rounds": ROUNDS,
                                         "trips": TRIPS, "results": rows,
                                         "foreign_agents": FOREIGN})


if __name__ == "__main__":
    main()
