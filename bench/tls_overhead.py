#!/usr/bin/env python3
"""Cost of llmtap on a traced TLS client/server, measured side by side.

For each body size, alternating over BENCH_ROUNDS rounds (the order of the
modes rotates every round), runs bench/tls_rtt (HTTP/1.1 over OpenSSL on
loopback, one keep-alive connection, both ends traced) in four modes:
  a none   - no agent
  b empty  - empty uprobe + uretprobe on SSL_write, SSL_read, SSL_write_ex,
             SSL_read_ex of the libssl tls_rtt uses (bench/empty_probe.c):
             the floor any uprobe-based tool pays
  c llm    - agent running, the traffic is an LLM API call (captured, recorded)
  d ignore - agent running, the traffic is not LLM (POST /upload: the agent
             marks the connection ignored after the first exchange and the
             kernel stops copying it)
  c2, d2   - c and d with --return-probes uretprobe (the agent's default
             probes RET instructions where it can prove that safe; each such
             probe single-steps out of line, a uretprobe returns through a
             trampoline: the rows say what that choice costs)
and prints, per mode, the CPU microseconds per round trip of client and
server together (user + system time of the loop: what the probes cost the
traced processes, even when other load takes the CPU away) and the median
wall-clock microseconds, each as the median over rounds with its spread
(min..max), the ratios c/a, c/b, d/b and c's extra cost over b per KiB moved
(request + response bytes).  The machine is noisy: the ratios are the
result, not the times.  Writes bench/results/tls_overhead.json.  Root.
"""
import os
import statistics
import subprocess
import sys
import tempfile

from agentctl import (BUILD, FOREIGN, quiet_sample, spread, start_agent, start_empty,
                      stop_agent, stop_empty, write_result)

RTT = os.path.join(BUILD, "tls_rtt")
SIZES = [64, 4096, 65536]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TRIPS = {64: 3000, 4096: 2000, 65536: 500}
LLM, OTHER = "/v1/chat/completions", "/upload"


# Client and server share one CPU (BENCH_CPU, default the last; "" for none): no cross-CPU
# wake-ups, whose latency on a VM is bimodal and dwarfs the probes.  The agent runs elsewhere.
CPU = os.environ.get("BENCH_CPU", str(os.cpu_count() - 1))
PIN = ["taskset", "-c", CPU] if CPU else []


def rtt(cert, key, size, path, mine=()):
    """(median wall-clock us per round trip, CPU us per round trip of both processes)"""
    out = quiet_sample(lambda: subprocess.check_output(
        PIN + [RTT, cert, key, str(size), str(TRIPS[size]), path], text=True).split(), mine)
    return float(out[0]), float(out[1])


def libssl_of(binary):
    """The libssl.so the binary loads (where the empty probes go)."""
    for line in subprocess.check_output(["ldd", binary], text=True).splitlines():
        if "libssl.so" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    raise SystemExit("tls_rtt links no libssl")


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    tmp = tempfile.mkdtemp(prefix="llmtap-bench-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    lib = libssl_of(RTT)
    modes = ("none", "empty", "llm", "ignore", "llm_uret", "ignore_uret")
    res = {m: {s: [] for s in SIZES} for m in modes}
    groups = ["none", "empty", "agent", "agent_uret"]
    for r in range(ROUNDS):
        for what in groups[r % 4:] + groups[:r % 4]:
            if what == "none":
                for s in SIZES:
                    res["none"][s].append(rtt(cert, key, s, OTHER))
            elif what == "empty":
                p = start_empty("ssl", lib)
                try:
                    for s in SIZES:
                        res["empty"][s].append(rtt(cert, key, s, OTHER))
                finally:
                    stop_empty(p)
            else:
                uret = what == "agent_uret"
                agent = start_agent(tmp, ["--return-probes", "uretprobe"] if uret else [])
                sfx = "_uret" if uret else ""
                try:
                    for s in SIZES:
                        pair = [("llm" + sfx, LLM), ("ignore" + sfx, OTHER)]
                        for m, path in pair if r % 2 == 0 else pair[::-1]:
                            res[m][s].append(rtt(cert, key, s, path, (agent.pid,)))
                finally:
                    stop_agent(agent)
                os.unlink(os.path.join(tmp, "bench.jsonl"))
        print("round %d/%d done" % (r + 1, ROUNDS), file=sys.stderr)

    rows = {}
    for kind, idx, title in (
            ("cpu", 1, "CPU us per round trip, client + server (user + system of the loop)"),
            ("wall", 0, "wall-clock us per round trip (median of the round trips)")):
        data = {m: {s: [x[idx] for x in res[m][s]] for s in SIZES} for m in modes}
        rows[kind] = table(data, title)
    worst_db = max(r["ratio_d_b"] for r in rows["cpu"])
    print("goal d/b <= 1.10 (CPU): %s (worst %.2f)" % ("met" if worst_db <= 1.10 else "NOT met",
                                                      worst_db))
    write_result("tls_overhead.json", {"bench": "tls_overhead", "rounds": ROUNDS, "trips": TRIPS,
                                       "libssl": lib, "cpu_pinned": CPU, "results": rows["cpu"],
                                       "results_wall": rows["wall"], "foreign_agents": FOREIGN})
    print("other agents on the machine: waited %.0f s, %d samples retaken, %d taken with one "
          "running" % (FOREIGN["waited_s"], FOREIGN["retries"], FOREIGN["unquiet"]))


def table(res, title):
    """Prints one table (median over rounds, spread, ratios); returns its rows."""
    rows = []
    print("TLS round trip over loopback, both ends traced: %s; median of %d rounds, "
          "spread = min..max" % (title, ROUNDS))
    print("%-6s %16s %16s %16s %16s %6s %6s %6s %9s" % (
        "body", "a none", "b empty uprobe", "c llmtap llm", "d llmtap ignore", "c/a", "c/b",
        "d/b", "c-b /KiB"))
    for s in SIZES:
        med = {m: statistics.median(res[m][s]) for m in res}
        per_kib = (med["llm"] - med["empty"]) / (2 * s / 1024.0)
        rows.append({"body_bytes": s, "median_us": med,
                     "spread_us": {m: spread(res[m][s]) for m in res},
                     "samples_us": {m: res[m][s] for m in res},
                     "ratio_c_a": med["llm"] / med["none"],
                     "ratio_c_b": med["llm"] / med["empty"],
                     "ratio_d_b": med["ignore"] / med["empty"],
                     "ratio_b_a": med["empty"] / med["none"],
                     "extra_us_c_over_b": med["llm"] - med["empty"],
                     "extra_us_c_over_b_per_kib": per_kib,
                     "ratio_c2_b": med["llm_uret"] / med["empty"],
                     "ratio_d2_b": med["ignore_uret"] / med["empty"],
                     "extra_us_c2_over_b_per_kib":
                         (med["llm_uret"] - med["empty"]) / (2 * s / 1024.0)})
        cell = lambda m: "%6.1f %4.0f..%-4.0f" % (med[m], *spread(res[m][s]))
        print("%-6d %16s %16s %16s %16s %6.2f %6.2f %6.2f %9.3f" % (
            s, cell("none"), cell("empty"), cell("llm"), cell("ignore"),
            rows[-1]["ratio_c_a"], rows[-1]["ratio_c_b"], rows[-1]["ratio_d_b"], per_kib))
    print("  with --return-probes uretprobe:")
    print("%-6s %16s %16s %6s %6s %9s" % ("body", "c2 llm", "d2 ignore", "c2/b", "d2/b",
                                           "c2-b /KiB"))
    for row in rows:
        s = row["body_bytes"]
        m = row["median_us"]
        print("%-6d %6.1f %4.0f..%-4.0f %6.1f %4.0f..%-4.0f %6.2f %6.2f %9.3f" % (
            s, m["llm_uret"], *spread(res["llm_uret"][s]), m["ignore_uret"],
            *spread(res["ignore_uret"][s]), row["ratio_c2_b"], row["ratio_d2_b"],
            row["extra_us_c2_over_b_per_kib"]))
    return rows


if __name__ == "__main__":
    main()
