#!/usr/bin/env python3
"""Capacity without loss: the highest rate of streamed LLM exchanges the agent records
completely, with no kernel or user-space drop.

bench/sse_load drives OpenAI-style streaming chat completions (200 SSE chunks, each its
own SSL_write) over loopback TLS from BENCH_CAP_PROCS client processes on keep-alive
connections; the rate steps up (BENCH_CAP_RATES, exchanges/s).  Each step runs a fresh
agent for BENCH_CAP_SECONDS and checks: every exchange has its record (counted by a
marker in the request), and no loss counter moved (ring buffer drops, read errors, table
full, gaps, incomplete records, evictions; agentctl.losses).  Reports per step the achieved
rate, the agent's CPU (% of one core) and peak RSS, and what broke.  Stops at the first
step that loses something, or whose rate the generator cannot reach (the machine, not
the agent, is then the limit).  Writes bench/results/capacity.json.  Needs root.
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from agentctl import (BUILD, agent_stats, losses, proc_cpu_s, proc_rss_kib, start_agent,
                      stop_agent, write_result)

LOAD = os.path.join(BUILD, "sse_load")
PROCS = int(os.environ.get("BENCH_CAP_PROCS", "8"))
RATES = [float(r) for r in os.environ.get("BENCH_CAP_RATES",
                                          "25,50,100,200,400,800").split(",")]
SECONDS = float(os.environ.get("BENCH_CAP_SECONDS", "5"))
CHUNKS = 200
# Both ends of every exchange are on this host and each TLS end is recorded (one record
# per process): an exchange is complete with two records.
VIEWS = 2


def records_with(path, marker):
    n = 0
    with open(path, errors="replace") as f:
        for line in f:
            if marker in line:
                n += 1
    return n


def step(tmp, cert, key, rate, args):
    marker = "capbench-%d-%d" % (os.getpid(), int(rate))
    out = os.path.join(tmp, "bench.jsonl")
    agent = start_agent(tmp, args)
    try:
        cpu0, t0 = proc_cpu_s(agent.pid), time.time()
        load = subprocess.check_output([LOAD, cert, key, str(PROCS), str(rate), str(SECONDS),
                                        marker, str(CHUNKS)], text=True)
        # what the agent still has to do after the load stops counts too
        for _ in range(50):
            st = agent_stats(agent)
            if records_with(out, marker) >= VIEWS * int(re.search(r"exchanges (\d+)",
                                                                   load).group(1)):
                break
            time.sleep(0.2)
        cpu1, t1 = proc_cpu_s(agent.pid), time.time()
        rss_peak = proc_rss_kib(agent.pid, "VmHWM")
    finally:
        st = stop_agent(agent)
    m = re.search(r"exchanges (\d+) seconds ([\d.]+)", load)
    done, secs = int(m.group(1)), float(m.group(2))
    recs = records_with(out, marker)
    os.unlink(out)
    lost = losses(st)
    return {"target_rate": rate, "achieved_rate": done / secs, "exchanges": done,
            "records": recs, "missing_records": max(0, VIEWS * done - recs), "losses": lost,
            "agent_cpu_pct": 100 * (cpu1 - cpu0) / (t1 - t0), "agent_rss_peak_mib":
                rss_peak / 1024, "events": st.get("agent", {}).get("events")}


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    tmp = tempfile.mkdtemp(prefix="llmtap-bench-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    args = os.environ.get("BENCH_AGENT_ARGS", "").split()
    rows, best, broke = [], None, "nothing within the rates tried"
    print("Streaming chat completions (%d SSE chunks) over TLS, %d client processes, %g s per "
          "step, fresh agent per step" % (CHUNKS, PROCS, SECONDS))
    print("records: %d per exchange (client and server views)" % VIEWS)
    print("%8s %9s %9s %8s %8s %9s %9s  %s" % ("target/s", "achieved", "exchanges", "records",
                                               "missing", "agent CPU", "peak RSS", "losses"))
    for rate in RATES:
        r = step(tmp, cert, key, rate, args)
        if r["missing_records"] or r["losses"]:
            # the agent also sees every other process's traffic: a loss counter moved by a
            # foreign connection must reproduce before it counts
            rows.append(dict(r, retried=True))
            print("%8.0f %9.1f %9d %8d %8d %8.1f%% %6.1f MiB  %s (taking the step again)" % (
                rate, r["achieved_rate"], r["exchanges"], r["records"], r["missing_records"],
                r["agent_cpu_pct"], r["agent_rss_peak_mib"], r["losses"]), flush=True)
            r = step(tmp, cert, key, rate, args)
        rows.append(r)
        print("%8.0f %9.1f %9d %8d %8d %8.1f%% %6.1f MiB  %s" % (
            rate, r["achieved_rate"], r["exchanges"], r["records"], r["missing_records"],
            r["agent_cpu_pct"], r["agent_rss_peak_mib"], r["losses"] or "-"), flush=True)
        if r["missing_records"] or r["losses"]:
            broke = "the agent at %g/s: %d records missing, %s" % (
                rate, r["missing_records"], r["losses"] or "no loss counter")
            break
        best = r
        if r["achieved_rate"] < 0.9 * rate:
            broke = ("the load generator and server at %g/s (reached %.0f/s with the agent "
                     "recording everything): the machine, not the agent" % (
                         rate, r["achieved_rate"]))
            break
    if best:
        print("capacity without loss: %.1f exchanges/s (%.0f SSE events/s), agent %.1f%% of one "
              "core, peak RSS %.1f MiB" % (best["achieved_rate"], best["achieved_rate"] * CHUNKS,
                                          best["agent_cpu_pct"], best["agent_rss_peak_mib"]))
        # the agent's own ceiling where the machine gave out first: its CPU per exchange
        if best["agent_cpu_pct"] > 0:
            best["agent_one_core_rate"] = best["achieved_rate"] * 100 / best["agent_cpu_pct"]
            print("agent CPU per exchange %.0f us: one core would carry about %.0f exchanges/s "
                  "(extrapolated, not measured)" % (
                      1e4 * best["agent_cpu_pct"] / best["achieved_rate"],
                      best["agent_one_core_rate"]))
    print("what breaks first above it: %s" % broke)
    write_result("capacity.json", {"bench": "capacity", "procs": PROCS, "chunks": CHUNKS,
                                   "seconds": SECONDS, "agent_args": args, "steps": rows,
                                   "best": best, "breaks_first": broke})


if __name__ == "__main__":
    main()
