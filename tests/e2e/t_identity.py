"""Process, container and host identity on every record: a client that exits
right after its request, a client in a private mount namespace with its own
libssl, clients in "container" cgroups (v2 and v1), the host's name and
machine-id, and an agent on a host without a machine-id."""
import calendar
import json
import os
import tempfile
import pwd
import re
import shutil
import subprocess
import time
import uuid

from e2e import (ENV, PY_FIND_LIBSSL, Agent, Skip, by_marker, check_chat, curl, eq, payload,
                 python_exe, run, test, url, wait_records, AGENT)

# Sends one request, prints the reply and which libssl it used, and exits at
# once: no interpreter teardown, nothing left for the agent to read in /proc.
PY_ONESHOT = r'''
import os, sys, ssl, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(),
    headers={"Content-Type": "application/json"})
reply = urllib.request.urlopen(req, context=ctx).read()
lib = [l.split(None, 5)[5].strip() for l in open("/proc/self/maps")
       if "libssl" in l and "/" in l][:1]
sys.stdout.buffer.write((lib[0] if lib else "-").encode() + b"\n" + reply)
sys.stdout.flush()
os._exit(0)
'''

HEX64 = re.compile(r"[0-9a-f]{64}")
SCOPE = re.compile(r"(?:docker|cri-containerd|crio|libpod)-([0-9a-f]{64})(?:\.scope)?")


def oneshot_script():
    path = os.path.join(ENV["dir"], "oneshot.py")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(PY_ONESHOT)
        os.chmod(path, 0o644)
    return path


def expected_container(pid="self"):
    """The container id the agent should find for a process of ours: none,
    unless the tests themselves run in a container."""
    with open("/proc/%s/cgroup" % pid) as f:
        for line in f:
            comps = line.rstrip("\n").split(":", 2)[2].split("/")
            for i in range(len(comps) - 1, -1, -1):
                m = SCOPE.fullmatch(comps[i])
                if m:
                    return m.group(1)
                if HEX64.fullmatch(comps[i]) and (
                        (i > 0 and comps[i - 1] == "docker")
                        or any(c.startswith("kubepods") for c in comps[:i])):
                    return comps[i]
    return None


def machine_id():
    for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            with open(p) as f:
                s = f.read()
        except OSError:
            continue
        s = s[:-1] if s.endswith("\n") else s
        if re.fullmatch(r"[0-9a-f]{32}", s):
            return s
    return None


def parse_time(s):
    """RFC 3339 UTC with up to 9 fractional digits, to float seconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z", s)
    if not m:
        raise AssertionError("not an RFC 3339 UTC time: %r" % s)
    secs = calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
    return secs + (int(m.group(2).ljust(9, "0")) / 1e9 if m.group(2) else 0)


def check_process(rec, pid, exe, argv, owner, uid, t0, t1, container=None):
    """Every identity attribute of a client the test runner started."""
    a = rec["attributes"]
    eq(a["process.pid"], pid, "process.pid")
    eq(a["process.parent_pid"], os.getpid(), "process.parent_pid")
    eq(a["process.executable.path"], exe, "process.executable.path")
    eq(a["process.executable.name"], os.path.basename(exe), "process.executable.name")
    eq(a["process.command_line"], " ".join(argv), "process.command_line")
    eq(a["process.owner"], owner, "process.owner")
    eq(a["process.user.id"], uid, "process.user.id")
    start = parse_time(a["process.creation.time"])
    # the kernel counts in 10 ms ticks; allow for them and for clock reads
    if not t0 - 0.05 <= start <= t1 + 0.05:
        raise AssertionError("process.creation.time %s not within the run [%f, %f]"
                             % (a["process.creation.time"], t0, t1))
    eq(a.get("container.id"), container, "container.id")
    eq(a["host.name"], os.uname().nodename, "host.name")
    eq(a.get("host.id"), machine_id(), "host.id")


@test
def short_lived_client_full_identity():
    """Clients gone right after their request (python os._exit, curl as an
    unprivileged user) still get the full identity, from the exec event."""
    marker = uuid.uuid4().hex
    body = payload(marker)
    argv = [python_exe(), oneshot_script(), url(), ENV["cert"], body.decode()]
    t0 = time.time()
    pid, out = run(argv)
    t1 = time.time()
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records of the one-shot python client")
    eq(os.path.exists("/proc/%d" % pid), False, "client gone")
    check_chat(recs[0], pid, python_exe(), body)
    check_process(recs[0], pid, python_exe(), argv, "root", 0, t0, t1, expected_container())
    eq(json.loads(out.split(b"\n", 1)[1])["choices"][0]["message"]["content"],
       recs[0]["attributes"]["gen_ai.output.messages"][0]["parts"][0]["content"],
       "reply the client saw")

    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise Skip("setpriv (util-linux) is not installed: unprivileged client not run")
    nobody = pwd.getpwuid(65534).pw_name
    marker = uuid.uuid4().hex
    body = payload(marker)
    argv = [curl(), "-sS", "--cacert", ENV["cert"], url(), "-H",
            "Content-Type: application/json", "--data-binary", body.decode()]
    t0 = time.time()
    # setpriv execs curl: same pid, and curl's exec is the one that names it
    pid, _ = run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + argv)
    t1 = time.time()
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records of curl as %s" % nobody)
    check_process(recs[0], pid, curl(), argv, nobody, 65534, t0, t1, expected_container())


# In a new mount namespace: a tmpfs over /opt that only this namespace sees,
# the system libssl copied into it, then the client with LD_LIBRARY_PATH.
# Arguments: MOUNT_POINT LIBSSL CLIENT_ARGV...
NS_SETUP = r'''
set -e
mount -t tmpfs llmtap-e2e "$1"
mkdir "$1/private-ssl"
cp "$2" "$1/private-ssl/"
export LD_LIBRARY_PATH="$1/private-ssl"
shift 2
exec "$@"
'''


@test
def private_mount_namespace_libssl():
    """A client in a private mount namespace loads its libssl from a path
    that does not exist on the host; the agent finds and attaches it
    through /proc/PID/{fd,map_files,root} and records the exact bodies."""
    unshare = shutil.which("unshare")
    if not unshare:
        raise Skip("unshare (util-linux) is not installed")
    libssl = subprocess.check_output([python_exe(), "-c", PY_FIND_LIBSSL], text=True).strip()
    if not libssl:
        raise Skip("python's ssl module does not use a shared libssl")
    mnt = "/opt" if os.path.isdir("/opt") else os.path.join(ENV["dir"], "nsmnt")
    os.makedirs(mnt, exist_ok=True)
    private = os.path.join(mnt, "private-ssl", os.path.basename(libssl))
    eq(os.path.exists(private), False, "the private path exists on the host")
    clients = [("python", python_exe(),
                lambda body: [python_exe(), oneshot_script(), url(), ENV["cert"],
                              body.decode()]),
               ("curl", curl(),
                lambda body: [curl(), "-sS", "--cacert", ENV["cert"], url(), "-H",
                              "Content-Type: application/json", "--data-binary",
                              body.decode()])]
    for name, exe, cmd in clients:
        start = len(ENV["agent"].lines)
        marker = uuid.uuid4().hex
        body = payload(marker)
        argv = cmd(body)
        pid, out = run([unshare, "--mount", "--propagation", "private", "sh", "-c", NS_SETUP,
                        "sh", mnt, libssl] + argv)
        if name == "python":
            eq(out.split(b"\n", 1)[0].decode(), private, "libssl the client mapped")
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "records of %s through the namespace's libssl" % name)
        check_chat(recs[0], pid, exe, body)
        eq(recs[0]["attributes"]["process.command_line"], " ".join(argv), "command line")
        # the copy is a new inode: it was attached when the client mapped it
        ENV["agent"].wait_line("llmtap: attached TLS probes to " + private, timeout=5,
                               start=start)
    eq(os.path.exists(private), False, "the private path leaked to the host")


# Loads libssl, says so, waits for a line on stdin, then makes its request.
PY_WAIT_THEN_SEND = r'''
import os, sys, ssl, urllib.request
lib = [l.split(None, 5)[5].strip() for l in open("/proc/self/maps")
       if "libssl" in l and "/" in l][:1]
print(lib[0] if lib else "-", flush=True)
sys.stdin.readline()
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1], data=sys.argv[3].encode(),
    headers={"Content-Type": "application/json"})
sys.stdout.buffer.write(urllib.request.urlopen(req, context=ctx).read())
sys.stdout.flush()
os._exit(0)
'''


@test
def private_mount_namespace_process_older_than_agent():
    """A namespaced process that mapped its private libssl before the agent
    started: the start-up scan opens the copy through /proc/PID/..., and the
    identity comes from /proc (no exec event was seen)."""
    unshare = shutil.which("unshare")
    if not unshare:
        raise Skip("unshare (util-linux) is not installed")
    libssl = subprocess.check_output([python_exe(), "-c", PY_FIND_LIBSSL], text=True).strip()
    if not libssl:
        raise Skip("python's ssl module does not use a shared libssl")
    mnt = "/opt" if os.path.isdir("/opt") else os.path.join(ENV["dir"], "nsmnt")
    os.makedirs(mnt, exist_ok=True)
    private = os.path.join(mnt, "private-ssl", os.path.basename(libssl))
    script = os.path.join(ENV["dir"], "wait_then_send.py")
    with open(script, "w") as f:
        f.write(PY_WAIT_THEN_SEND)
    marker = uuid.uuid4().hex
    body = payload(marker)
    argv = [python_exe(), script, url(), ENV["cert"], body.decode()]
    t0 = time.time()
    client = subprocess.Popen([unshare, "--mount", "--propagation", "private", "sh", "-c",
                               NS_SETUP, "sh", mnt, libssl] + argv,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    t1 = time.time()
    out = os.path.join(ENV["dir"], "older-ns.jsonl")
    agent = None
    try:
        eq(client.stdout.readline().decode().strip(), private, "libssl the client mapped")
        agent = Agent(out)
        agent.wait_line("llmtap: ready", timeout=60)
        agent.wait_line("llmtap: attached TLS probes to " + private, timeout=5)
        client.stdin.write(b"go\n")
        client.stdin.flush()
        reply, _ = client.communicate(timeout=30)
        eq(client.returncode, 0, "client exit status")
        recs = wait_records(by_marker(marker), path=out)
        eq(len(recs), 1, "records of the namespaced client older than the agent")
        check_chat(recs[0], client.pid, python_exe(), body)
        check_process(recs[0], client.pid, python_exe(), argv, "root", 0, t0, t1,
                      expected_container())
        eq(json.loads(reply)["choices"][0]["message"]["content"],
           recs[0]["attributes"]["gen_ai.output.messages"][0]["parts"][0]["content"],
           "reply the client saw")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        if agent:
            agent.stop()
    eq(os.path.exists(private), False, "the private path leaked to the host")


def cgroup_mounts():
    """(v2 mount point or None, {v1 controller: mount point})."""
    v2, v1 = None, {}
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype, opts = line.split()[:4]
            if fstype == "cgroup2" and v2 is None:
                v2 = mnt
            elif fstype == "cgroup":
                for o in opts.split(","):
                    if o in ("pids", "cpu", "memory", "devices", "freezer", "blkio"):
                        v1[o] = mnt
    return v2, v1


def run_in_cgroup(procs_file, argv):
    """Runs argv after moving into the cgroup: exec happens inside it, as a
    container runtime does."""
    return run(["sh", "-c", 'echo $$ > "$0" && exec "$@"', procs_file] + argv)


def rmdirs(*dirs):
    for d in dirs:
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.1)  # the exited client may still be leaving it


@test
def container_cgroup_v2_names_the_container():
    """A client in a cgroup v2 directory named like a docker scope: the
    kernel names the cgroup at exec and container.id is its id."""
    v2, _ = cgroup_mounts()
    if not v2 or not os.access(v2, os.W_OK):
        raise Skip("no writable cgroup2 mount")
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    parent = os.path.join(v2, "llmtap-e2e-" + uuid.uuid4().hex[:8])
    leaf = os.path.join(parent, "docker-%s.scope" % cid)
    try:
        os.makedirs(leaf)
    except OSError as e:
        raise Skip("cannot create a cgroup under %s: %s" % (v2, e))
    try:
        marker = uuid.uuid4().hex
        body = payload(marker)
        argv = [python_exe(), oneshot_script(), url(), ENV["cert"], body.decode()]
        t0 = time.time()
        pid, _ = run_in_cgroup(os.path.join(leaf, "cgroup.procs"), argv)
        t1 = time.time()
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "records of the client in the container cgroup")
        check_chat(recs[0], pid, python_exe(), body)
        check_process(recs[0], pid, python_exe(), argv, "root", 0, t0, t1, cid)
        eq(recs[0]["attributes"]["container.runtime.name"], "docker", "container.runtime.name")
    finally:
        rmdirs(leaf, parent)


@test
def container_cgroup_v1_docker_path():
    """cgroup v1 (or hybrid) hosts: the kernel's v2 view is the root, the
    agent reads /proc/PID/cgroup (`N:pids:/docker/<id>`) at exec instead."""
    _, v1 = cgroup_mounts()
    if not v1:
        raise Skip("no cgroup v1 hierarchy mounted")
    ctrl, mnt = sorted(v1.items())[0]
    cid = uuid.uuid4().hex + uuid.uuid4().hex
    docker = os.path.join(mnt, "docker")
    made_docker = not os.path.isdir(docker)
    leaf = os.path.join(docker, cid)
    try:
        os.makedirs(leaf)
    except OSError as e:
        raise Skip("cannot create a v1 %s cgroup: %s" % (ctrl, e))
    try:
        if ctrl == "cpuset":  # an empty cpuset refuses tasks
            for k in ("cpuset.cpus", "cpuset.mems"):
                with open(os.path.join(mnt, k)) as src, open(os.path.join(leaf, k), "w") as d:
                    d.write(src.read())
        marker = uuid.uuid4().hex
        body = payload(marker)
        argv = [curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body.decode()]
        t0 = time.time()
        pid, _ = run_in_cgroup(os.path.join(leaf, "cgroup.procs"), argv)
        t1 = time.time()
        recs = wait_records(by_marker(marker))
        eq(len(recs), 1, "records of the client in the v1 docker cgroup")
        check_chat(recs[0], pid, curl(), body)
        check_process(recs[0], pid, curl(), argv, "root", 0, t0, t1, cid)
        eq(recs[0]["attributes"]["container.runtime.name"], "docker", "container.runtime.name")
    finally:
        rmdirs(leaf, *([docker] if made_docker else []))


class MaskedMachineIdAgent(Agent):
    """A second agent in its own mount namespace where every machine-id file
    reads as empty: the host has no machine-id as far as it can tell."""

    def __init__(self, out):
        self.out = out
        self.lines = []
        import threading
        self.cond = threading.Condition()
        mask = "".join('[ -e %s ] && mount --bind /dev/null %s; ' % (p, p)
                       for p in ("/etc/machine-id", "/var/lib/dbus/machine-id"))
        self.proc = subprocess.Popen(
            [shutil.which("unshare"), "--mount", "--propagation", "private", "sh", "-c",
             mask + 'exec "$@"', "sh", AGENT, "run", "--output", out, "--state-dir",
             tempfile.mkdtemp(prefix="llmtap-state-")],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._read, daemon=True).start()


@test
def host_name_and_machine_id():
    """host.name is the node name and host.id the machine-id, on every record;
    without a machine-id the agent runs and records carry no host.id."""
    marker = uuid.uuid4().hex
    body = payload(marker)
    run([curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary", body.decode()])
    recs = wait_records(by_marker(marker))
    eq(len(recs), 1, "records")
    a = recs[0]["attributes"]
    eq(a["host.name"], os.uname().nodename, "host.name")
    mid = machine_id()
    eq(a.get("host.id"), mid, "host.id")
    # the server's view of the same exchange carries the same host
    srv = wait_records(by_marker(marker, role="server"))
    eq([r["attributes"].get("host.id") for r in srv], [mid], "server record host.id")

    if not shutil.which("unshare"):
        raise Skip("unshare (util-linux) is not installed: the no-machine-id agent not run")
    out = os.path.join(ENV["dir"], "no-machine-id.jsonl")
    agent = MaskedMachineIdAgent(out)
    try:
        agent.wait_line("llmtap: ready")
        marker = uuid.uuid4().hex
        body = payload(marker)
        pid, _ = run([curl(), "-sS", "--cacert", ENV["cert"], url(), "--data-binary",
                      body.decode()])
        recs = wait_records(by_marker(marker), path=out)
        eq(len(recs), 1, "records of the agent without a machine-id")
        a = recs[0]["attributes"]
        eq("host.id" in a, False, "host.id without a machine-id")
        eq(a["host.name"], os.uname().nodename, "host.name without a machine-id")
        eq(a["process.pid"], pid, "process.pid")
    finally:
        eq(agent.stop(), 0, "exit status of the agent without a machine-id")
    if mid is None:
        raise Skip("this host has no machine-id: host.id checked absent only")
