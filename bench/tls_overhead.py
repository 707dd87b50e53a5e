#!/usr/bin/env python3
"""Cost of llmtap on a traced TLS client/server, measured side by side.

For each body size, alternating over several rounds, runs bench/tls_rtt
(HTTP/1.1 over OpenSSL on loopback, one keep-alive connection):
  none   - no agent
  llm    - agent running, traffic is an LLM API call (captured, recorded)
  ignore - agent running, traffic classified as not LLM (kernel stops copying)
and prints the median microseconds per round trip, the spread, and the
ratios.  The machine is noisy: the ratios are the result, not the times.
Writes bench/results/tls_overhead.json.  Needs root.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from agentctl import ROOT, start_agent, stop_agent

RTT = os.path.join(ROOT, "build", "tls_rtt")
SIZES = [64, 4096, 65536]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
TRIPS = {64: 3000, 4096: 2000, 65536: 500}


def rtt(cert, key, size, path):
    out = subprocess.check_output([RTT, cert, key, str(size), str(TRIPS[size]), path], text=True)
    return float(out.strip())


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    tmp = tempfile.mkdtemp(prefix="llmtap-bench-")
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    res = {m: {s: [] for s in SIZES} for m in ("none", "llm", "ignore")}
    for r in range(ROUNDS):
        order = ["none", "agent"] if r % 2 == 0 else ["agent", "none"]
        for what in order:
            if what == "none":
                for s in SIZES:
                    res["none"][s].append(rtt(cert, key, s, "/upload"))
            else:
                agent = start_agent(tmp)
                try:
                    for s in SIZES:
                        res["llm"][s].append(rtt(cert, key, s, "/v1/chat/completions"))
                        res["ignore"][s].append(rtt(cert, key, s, "/upload"))
                finally:
                    stop_agent(agent)
                os.unlink(os.path.join(tmp, "bench.jsonl"))
        print("round %d/%d done" % (r + 1, ROUNDS), file=sys.stderr)

    rows = []
    print("%-8s %10s %10s %10s %8s %8s %12s" % ("body", "none us", "llm us", "ignore us",
                                                 "llm/none", "ign/none", "llm-ign us/KiB"))
    for s in SIZES:
        med = {m: statistics.median(res[m][s]) for m in res}
        spread = {m: (min(res[m][s]), max(res[m][s])) for m in res}
        per_kib = (med["llm"] - med["ignore"]) / (2 * s / 1024.0)  # request + response bytes
        rows.append({"body_bytes": s, "median_us": med, "spread_us": spread,
                     "ratio_llm_none": med["llm"] / med["none"],
                     "ratio_ignore_none": med["ignore"] / med["none"],
                     "capture_cost_us_per_kib": per_kib})
        print("%-8d %10.1f %10.1f %10.1f %8.2f %8.2f %12.3f" % (
            s, med["none"], med["llm"], med["ignore"], med["llm"] / med["none"],
            med["ignore"] / med["none"], per_kib))
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", "tls_overhead.json"), "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                   "kernel": os.uname().release, "rounds": ROUNDS, "trips": TRIPS,
                   "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
