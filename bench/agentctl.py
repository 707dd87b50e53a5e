"""The agent under benchmark: started fresh, stopped between rounds."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(ROOT, "build", "llmtap")


def start_agent(tmp):
    """Starts the agent writing to tmp/bench.jsonl; returns once it is ready."""
    p = subprocess.Popen([AGENT, "run", "--output", os.path.join(tmp, "bench.jsonl")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in p.stderr:
        if line.startswith("llmtap: ready"):
            return p
    raise SystemExit("agent did not start")


def stop_agent(p):
    p.terminate()
    p.communicate(timeout=30)
