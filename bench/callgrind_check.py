#!/usr/bin/env python3
"""Instructions per exchange of the replay pipeline under callgrind: a regression check
that does not depend on the machine's load (`make bench-check`, run by tests/run and CI).

For each workload of bench/replay (small: 1 KiB prompt, 200-token reply; streamed: 2,000
SSE chunks), runs `replay -n N` for two counts under valgrind --tool=callgrind and takes
the difference of the instruction totals divided by the difference of the counts: start-up
(libraries, price table) cancels out.  Compares with bench/baseline/replay_callgrind.json
and fails when a workload grew by more than 10%.  Prints "1 passed, 0 failed" or
"0 passed, 1 failed".

  callgrind_check.py REPLAY_BINARY            compare with the baseline
  callgrind_check.py REPLAY_BINARY --update   write the baseline (make bench-baseline)

The baseline is only meaningful for the compiler and flags it was taken with (CI builds
with the default BUILD=build, CFLAGS -O2 -g): refresh it when either changes, or when the
pipeline changed on purpose.
"""
import json
import os
import platform
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "bench", "baseline", "replay_callgrind.json")
WORKLOADS = {"small": (100, 300), "streamed": (4, 12)}
LIMIT = 0.10


def instructions(replay, kind, n):
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                        replay, "-n", str(n), kind], capture_output=True, text=True)
    m = re.search(r"Collected\s*:\s*(\d+)", p.stderr)
    if p.returncode != 0 or not m:
        raise RuntimeError("valgrind %s -n %d %s failed:\n%s" % (replay, n, kind,
                                                                p.stderr[-2000:]))
    return int(m.group(1))


def compiler():
    try:
        return subprocess.check_output([os.environ.get("CC", "cc"), "--version"],
                                       text=True).splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    replay, update = sys.argv[1], "--update" in sys.argv[2:]
    got = {}
    try:
        for kind, (n1, n2) in WORKLOADS.items():
            hi, lo = instructions(replay, kind, n2), instructions(replay, kind, n1)
            got[kind] = (hi - lo) / (n2 - n1)
    except (OSError, RuntimeError) as e:
        print("FAIL bench-check: %s" % e)
        print("0 passed, 1 failed")
        return 1
    if update:
        os.makedirs(os.path.dirname(BASELINE), exist_ok=True)
        with open(BASELINE, "w") as f:
            json.dump({"instructions_per_exchange": {k: round(v) for k, v in got.items()},
                       "counts": WORKLOADS, "compiler": compiler(),
                       "machine": platform.machine(),
                       "note": "refresh with `make bench-baseline` (default BUILD)"}, f,
                      indent=2)
            f.write("\n")
        for k, v in got.items():
            print("baseline %-9s %12.0f instructions/exchange" % (k, v))
        print("wrote %s" % os.path.relpath(BASELINE, ROOT))
        return 0
    try:
        with open(BASELINE) as f:
            base = json.load(f)
    except (OSError, ValueError) as e:
        print("FAIL bench-check: no baseline (%s): run `make bench-baseline`" % e)
        print("0 passed, 1 failed")
        return 1
    if base.get("compiler") != compiler():
        print("note: baseline taken with '%s', this build with '%s'" % (base.get("compiler"),
                                                                        compiler()))
    worst = []
    for k, v in got.items():
        b = base["instructions_per_exchange"].get(k)
        growth = (v - b) / b if b else float("inf")
        bad = growth > LIMIT
        worst.append(bad)
        print("%s replay %-9s %12.0f instructions/exchange (baseline %.0f, %+.1f%%)" % (
            "FAIL" if bad else "ok  ", k, v, b or 0, 100 * growth))
    if any(worst):
        print("bench-check: the pipeline costs more than %d%% over the baseline; if intended, "
              "`make bench-baseline` and commit bench/baseline/" % (100 * LIMIT))
        print("0 passed, 1 failed")
        return 1
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
