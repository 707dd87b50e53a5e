#!/usr/bin/env python3
"""Cost of llmtap's socket hooks on a busy service that is not an LLM API.

wrk (keep-alive, 32 connections) against bench/http_server (one epoll thread, 200 and a
200-byte body per request: one read and one write, like nginx's `return 200`) on loopback,
alternating over BENCH_ROUNDS rounds (the order rotates) between:
  none   - no agent
  floor  - empty BPF programs on the read/write-family syscall tracepoints the agent
           hooks (bench/empty_probe.c syscalls): what attaching there costs by itself
  raw    - empty raw_tp programs on sys_enter/sys_exit (every syscall): the floor of a
           design that filters syscall numbers in one program instead
  agent  - llmtap running (the server's port is not selected: each connection's first request
           is copied, classified not-LLM, and the connection ignored in the kernel)
Prints requests/s, p99 latency and CPU time per request (server + wrk) with their median
and spread over rounds, and the ratios agent/none (goal: throughput >= 0.97), each the
median of the per-round ratios.  Other load on a shared machine moves throughput; the CPU
time per request moves much less.  Writes bench/results/wrk_overhead.json.  Root.
"""
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

from agentctl import (BUILD, FOREIGN, proc_cpu_s, quiet_sample, spread, start_agent,
                      start_empty, stop_agent, stop_empty, write_result)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SECONDS = os.environ.get("BENCH_WRK_SECONDS", "4")
PORT = 18088  # not one of the agent's default --ports
# server and wrk share one CPU (BENCH_CPU, default the last; "" for none): the service is
# CPU-bound there, so what the hooks cost shows as lost requests; the agent runs elsewhere.
CPU = os.environ.get("BENCH_CPU", str(os.cpu_count() - 1))
PIN = ["taskset", "-c", CPU] if CPU else []



def to_ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(server_pid):
    """requests/s, p99 ms, and CPU microseconds per request (server + wrk: what the hooks
    cost shows there even when other load on the machine takes the CPU away)."""
    cpu0 = proc_cpu_s(server_pid)
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.check_output(PIN + ["wrk", "-t1", "-c32", "-d" + SECONDS + "s", "--latency",
                                   "http://127.0.0.1:%d/" % PORT], text=True)
    rps = float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
    m = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    n = int(re.search(r"(\d+) requests in", out).group(1))
    cpu = proc_cpu_s(server_pid) - cpu0 + (ru1.ru_utime - ru0.ru_utime) + \
        (ru1.ru_stime - ru0.ru_stime)
    return rps, to_ms(m.group(1), m.group(2)), 1e6 * cpu / n


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    if not shutil.which("wrk"):
        print("SKIP wrk_overhead: wrk not installed (scripts/install-deps installs it)")
        return
    tmp = tempfile.mkdtemp(prefix="llmtap-bench-")
    server = subprocess.Popen(PIN + [os.path.join(BUILD, "http_server"), str(PORT)],
                              stdout=subprocess.PIPE, text=True)
    if server.stdout.readline().strip() != "listening":
        raise SystemExit("http_server did not start")
    modes = ["none", "floor", "raw", "agent"]
    res = {m: {"rps": [], "p99_ms": [], "cpu_us_per_req": []} for m in modes}
    try:
        wrk(server.pid)  # warm-up
        for r in range(ROUNDS):
            for m in modes[r % 4:] + modes[:r % 4]:
                p = start_agent(tmp) if m == "agent" else \
                    start_empty("syscalls") if m == "floor" else \
                    start_empty("raw") if m == "raw" else None
                try:
                    rps, p99, cpu = quiet_sample(lambda: wrk(server.pid),
                                                 (p.pid,) if m == "agent" else ())
                finally:
                    if m == "agent":
                        stop_agent(p)
                        os.unlink(os.path.join(tmp, "bench.jsonl"))
                    elif p:
                        stop_empty(p)
                res[m]["rps"].append(rps)
                res[m]["p99_ms"].append(p99)
                res[m]["cpu_us_per_req"].append(cpu)
            print("round %d/%d done" % (r + 1, ROUNDS), file=sys.stderr)
    finally:
        server.terminate()
        server.wait()
    med = {m: {k: statistics.median(v) for k, v in res[m].items()} for m in modes}
    print("wrk -c32 against bench/http_server on loopback (non-LLM HTTP; median of %d rounds, "
          "spread = min..max)" % ROUNDS)
    print("%-6s %22s %22s %22s" % ("mode", "requests/s", "p99 ms", "CPU us/request"))
    for m in modes:
        print("%-6s %9.0f %5.0f..%-6.0f %8.3f %5.3f..%-6.3f %8.2f %5.2f..%-6.2f" % (
            m, med[m]["rps"], *spread(res[m]["rps"]), med[m]["p99_ms"],
            *spread(res[m]["p99_ms"]), med[m]["cpu_us_per_req"],
            *spread(res[m]["cpu_us_per_req"])))
    # per-round ratios first: a round's modes ran seconds apart, under the same outside load
    paired = lambda k, a, b: statistics.median(x / y for x, y in zip(res[a][k], res[b][k]))
    ratio = {"throughput_agent_none": paired("rps", "agent", "none"),
             "throughput_floor_none": paired("rps", "floor", "none"),
             "throughput_raw_none": paired("rps", "raw", "none"),
             "p99_agent_none": paired("p99_ms", "agent", "none"),
             "p99_floor_none": paired("p99_ms", "floor", "none"),
             "cpu_agent_none": paired("cpu_us_per_req", "agent", "none"),
             "cpu_floor_none": paired("cpu_us_per_req", "floor", "none"),
             "cpu_raw_none": paired("cpu_us_per_req", "raw", "none")}
    print("throughput agent/none %.3f (goal >= 0.97: %s), floor/none %.3f, raw/none %.3f; "
          "p99 agent/none %.2f, floor/none %.2f" % (
              ratio["throughput_agent_none"],
              "met" if ratio["throughput_agent_none"] >= 0.97 else "NOT met",
              ratio["throughput_floor_none"], ratio["throughput_raw_none"],
              ratio["p99_agent_none"], ratio["p99_floor_none"]))
    print("CPU per request agent/none %.3f, floor/none %.3f, raw/none %.3f "
          "(medians of per-round ratios)" % (ratio["cpu_agent_none"], ratio["cpu_floor_none"],
                                            ratio["cpu_raw_none"]))
    write_result("wrk_overhead.json", {"bench": "wrk_overhead", "rounds": ROUNDS, "cpu": CPU,
                                       "seconds": SECONDS, "median": med, "samples": res,
                                       "ratios": ratio, "foreign_agents": FOREIGN})
    print("other agents on the machine: waited %.0f s, %d samples retaken, %d taken with one "
          "running" % (FOREIGN["waited_s"], FOREIGN["retries"], FOREIGN["unquiet"]))


if __name__ == "__main__":
    main()
