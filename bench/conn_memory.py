#!/usr/bin/env python3
"""Agent memory under many connections: RSS with 10,000 idle tracked connections, then
with 1,000 open streams on top.

Plain HTTP on loopback to a port given to the agent with --ports: every connection is
tracked from connect/accept at both ends (client and server are on this host), so N
connections are 2N tracked connections for the agent:
  idle    - BENCH_MEM_IDLE (5,000: 10,000 tracked) keep-alive connections, each after one
            complete non-streamed chat completion, then left open and silent
  streams - BENCH_MEM_STREAMS (1,000: 2,000 tracked views) more connections, each in the
            middle of a streamed chat completion (request sent, response head and 10 SSE
            chunks received, the rest never comes)
The agent's connection table holds 16,384 by default (beyond that it evicts the least
recently used, counted in conns_evicted).
Prints the agent's RSS after start-up and after each phase, and the cost per connection.
Writes bench/results/conn_memory.json.  Needs root (raises the open-file limit).
"""
import os
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

from agentctl import agent_stats, proc_rss_kib, start_agent, stop_agent, write_result

IDLE = int(os.environ.get("BENCH_MEM_IDLE", "5000"))
STREAMS = int(os.environ.get("BENCH_MEM_STREAMS", "1000"))
PORT = 18090

BODY = (b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"say hi"}]}')
SBODY = (b'{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user",'
         b'"content":"tell a long story"}]}')
REQ = b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: " \
      b"application/json\r\nContent-Length: %d\r\n\r\n"
RESP_BODY = (b'{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,'
             b'"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],'
             b'"usage":{"prompt_tokens":3,"completion_tokens":1}}')
RESP = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(RESP_BODY), RESP_BODY)
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" \
           b"Transfer-Encoding: chunked\r\n\r\n"


def sse_chunk(i):
    ev = (b'data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini",'
          b'"choices":[{"index":0,"delta":{"content":"word%d "}}]}\n\n' % i)
    return b"%x\r\n%s\r\n" % (len(ev), ev)


def server(lsock):
    """Answers each request: a complete response, or a stream that never ends."""
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    bufs = {}
    while True:
        for key, _ in sel.select():
            if key.fileobj is lsock:
                c, _ = lsock.accept()
                sel.register(c, selectors.EVENT_READ)
                bufs[c] = b""
                continue
            c = key.fileobj
            data = c.recv(65536)
            if not data:
                sel.unregister(c)
                c.close()
                continue
            bufs[c] += data
            if b"\r\n\r\n" not in bufs[c] or not bufs[c].endswith(b"}"):
                continue
            if b'"stream":true' in bufs[c]:
                c.sendall(SSE_HEAD + b"".join(sse_chunk(i) for i in range(10)))
            else:
                c.sendall(RESP)
            bufs[c] = b""


def recv_until(s, end):
    buf = b""
    while not buf.endswith(end):
        d = s.recv(65536)
        if not d:
            raise SystemExit("server closed")
        buf += d
    return buf


def settle(agent):
    """Waits until the agent has handled every event (its event count stops moving)."""
    last = -1
    for _ in range(100):
        ev = agent_stats(agent).get("agent", {}).get("events", 0)
        if ev == last:
            return
        last = ev
        time.sleep(0.3)


def main():
    if os.geteuid() != 0:
        raise SystemExit("needs root")
    # client and server are separate processes: each holds one end of every connection
    want = IDLE + STREAMS + 200
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        except (ValueError, OSError):
            raise SystemExit("conn_memory: needs %d open files, the hard limit is %d" % (want,
                                                                                        hard))
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    tmp = tempfile.mkdtemp(prefix="llmtap-bench-")
    agent = start_agent(tmp, ["--ports", str(PORT)])
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", PORT))
    lsock.listen(4096)
    pid = os.fork()
    if pid == 0:
        try:
            server(lsock)
        finally:
            os._exit(0)
    lsock.close()
    conns, res = [], {}
    try:
        time.sleep(1)
        res["start_rss_mib"] = proc_rss_kib(agent.pid) / 1024
        for _ in range(IDLE):
            s = socket.create_connection(("127.0.0.1", PORT))
            s.sendall(REQ % len(BODY) + BODY)
            recv_until(s, b"}}")
            conns.append(s)
        settle(agent)
        st = agent_stats(agent)
        res["idle_rss_mib"] = proc_rss_kib(agent.pid) / 1024
        res["idle_agent_conns"] = st.get("agent", {}).get("conns")
        res["idle_records"] = st.get("agent", {}).get("records")
        for _ in range(STREAMS):
            s = socket.create_connection(("127.0.0.1", PORT))
            s.sendall(REQ % len(SBODY) + SBODY)
            recv_until(s, b"word9 \"}}]}\n\n\r\n")
            conns.append(s)
        settle(agent)
        st = agent_stats(agent)
        res["streams_rss_mib"] = proc_rss_kib(agent.pid) / 1024
        res["streams_agent_conns"] = st.get("agent", {}).get("conns")
        res["streams_buffered_kib"] = st.get("agent", {}).get("buffered_bytes", 0) / 1024
        res["peak_rss_mib"] = proc_rss_kib(agent.pid, "VmHWM") / 1024
        res["conns_evicted"] = st.get("agent", {}).get("conns_evicted")
        res["sock_table_full"] = st.get("kernel", {}).get("sock_table_full")
    finally:
        for s in conns:
            s.close()
        os.kill(pid, 15)
        os.waitpid(pid, 0)
        stop_agent(agent)
    # per tracked connection end (two per loopback connection)
    per_idle = (res["idle_rss_mib"] - res["start_rss_mib"]) * 1024 / (2 * IDLE)
    per_stream = (res["streams_rss_mib"] - res["idle_rss_mib"]) * 1024 / (2 * STREAMS)
    print("Agent RSS with many plaintext connections (both ends tracked: client and server "
          "on this host)")
    print("%-40s %8.1f MiB" % ("after start-up", res["start_rss_mib"]))
    print("%-40s %8.1f MiB  (%.2f KiB per tracked end; agent holds %s)" % (
        "+ %d idle connections (%d tracked)" % (IDLE, 2 * IDLE), res["idle_rss_mib"], per_idle,
        res["idle_agent_conns"]))
    print("%-40s %8.1f MiB  (%.2f KiB per view; %.0f KiB buffered)" % (
        "+ %d open streams (%d views)" % (STREAMS, 2 * STREAMS), res["streams_rss_mib"],
        per_stream, res["streams_buffered_kib"]))
    print("peak RSS %.1f MiB; connections evicted %s, kernel table full %s" % (
        res["peak_rss_mib"], res["conns_evicted"], res["sock_table_full"]))
    res.update({"kib_per_idle_conn": per_idle, "kib_per_open_stream": per_stream,
                "tracked_idle": 2 * IDLE, "stream_views": 2 * STREAMS})
    write_result("conn_memory.json", {"bench": "conn_memory", "idle": IDLE, "streams": STREAMS,
                                      "results": res})


if __name__ == "__main__":
    main()
