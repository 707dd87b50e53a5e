#!/usr/bin/env python3
"""User-space throughput on one core, no kernel: the replay pipeline (events -> records),
detection rules and redaction with the default packs.  Runs bench/replay, rules_bench and
redact_bench (their own tables) and collects their figures in
bench/results/pipeline.json.  No root needed.
"""
import os
import re
import subprocess
import sys

from agentctl import BUILD, ROOT, write_result

SECONDS = os.environ.get("BENCH_PIPELINE_SECONDS", "3")


def run(cmd):
    print("$ " + " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
          flush=True)
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    sys.stdout.write(p.stdout)
    if p.returncode:
        sys.stdout.write(p.stderr)
        raise SystemExit("%s failed" % cmd[0])
    return p.stdout


def main():
    out = {}
    text = run([os.path.join(BUILD, "replay"), SECONDS])
    for m in re.finditer(r"^(small|streamed)\s+([\d.]+) exchanges/s\s+([\d.]+) MB/s", text, re.M):
        out["replay_" + m.group(1)] = {"exchanges_per_s": float(m.group(2)),
                                       "mb_per_s": float(m.group(3))}
    m = re.search(r"open\s+(\d+) streams: peak RSS (\d+) MiB \(\+(\d+) MiB\)", text)
    if m:
        out["replay_open_streams"] = {"streams": int(m.group(1)), "peak_rss_mib": int(m.group(2)),
                                      "added_mib": int(m.group(3))}
    text = run([os.path.join(BUILD, "rules_bench"), os.path.join(ROOT, "rules")])
    for m in re.finditer(r"^(rules|redaction|rules \+ redaction)\s+([\d.]+) MB/s\s+([\d.]+) "
                         r"exchanges/s", text, re.M):
        out["rules_bench " + m.group(1)] = {"mb_per_s": float(m.group(2)),
                                            "exchanges_per_s": float(m.group(3))}
    text = run([os.path.join(BUILD, "redact_bench"), SECONDS])
    for m in re.finditer(r"^\s+(detect_scan|redact_text|redact_record)\s+([\d.]+) MB/s", text,
                         re.M):
        out["redact_bench " + m.group(1)] = {"mb_per_s": float(m.group(2))}
    write_result("pipeline.json", {"bench": "pipeline", "seconds": SECONDS, "figures": out})


if __name__ == "__main__":
    main()
