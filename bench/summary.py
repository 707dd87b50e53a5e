#!/usr/bin/env python3
"""The headline figures of the last `make bench`, from bench/results/*.json, printed and
written to bench/summary.json (small, committed; the raw results stay ignored)."""
import json
import os

from agentctl import RESULTS, ROOT, machine


def load(name):
    try:
        with open(os.path.join(RESULTS, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def main():
    s = {"machine": machine()}
    tls = load("tls_overhead.json")
    if tls:
        s["date"] = tls["date"]
        s["tls_round_trip"] = {r["body_bytes"]: {
            "us_none_empty_llm_ignore": [round(r["median_us"][m], 1) for m in
                                         ("none", "empty", "llm", "ignore")],
            "c/a": round(r["ratio_c_a"], 2), "c/b": round(r["ratio_c_b"], 2),
            "d/b": round(r["ratio_d_b"], 2),
            "c-b us/KiB": round(r["extra_us_c_over_b_per_kib"], 3),
            "uretprobe c2/b": round(r.get("ratio_c2_b", 0), 2),
            "uretprobe d2/b": round(r.get("ratio_d2_b", 0), 2)} for r in tls["results"]}
    plain = load("plain_overhead.json")
    if plain:
        s["socket_ns_per_syscall"] = {r["body_bytes"]: round(r["extra_ns_per_syscall"])
                                      for r in plain["results"] if r["traffic"] == "raw1"}
    wrk = load("wrk_overhead.json")
    if wrk:
        s["wrk_http_server"] = {k: round(v, 3) for k, v in wrk["ratios"].items()}
    cap = load("capacity.json")
    if cap:
        b = cap.get("best") or {}
        s["capacity"] = {"exchanges_per_s": round(b.get("achieved_rate", 0), 1),
                         "agent_cpu_pct": round(b.get("agent_cpu_pct", 0), 1),
                         "agent_rss_peak_mib": round(b.get("agent_rss_peak_mib", 0), 1),
                         "breaks_first": cap.get("breaks_first")}
    mem = load("conn_memory.json")
    if mem:
        r = mem["results"]
        s["memory"] = {k: round(r[k], 1) for k in ("start_rss_mib", "idle_rss_mib",
                                                   "streams_rss_mib", "kib_per_idle_conn",
                                                   "kib_per_open_stream")}
        s["memory"].update({"idle_connections": mem["idle"], "tracked_idle": 2 * mem["idle"],
                            "open_streams": mem["streams"],
                            "conns_evicted": r.get("conns_evicted")})
    pipe = load("pipeline.json")
    if pipe:
        s["pipeline"] = pipe["figures"]
    with open(os.path.join(ROOT, "bench", "summary.json"), "w") as f:
        json.dump(s, f, indent=1)
        f.write("\n")
    print(json.dumps(s, indent=1))


if __name__ == "__main__":
    main()
