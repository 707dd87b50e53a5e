"""Redaction end to end: a real client sends, through TLS, a prompt with an
e-mail address, a valid card number and an AWS access key id (the stand-in
server echoes them back, so they are in the response too); the record holds
none of them anywhere, only the pseudonyms computed here from the agent's key
file, and counts them.  The streamed variant has the card and a phone number
spread over several SSE chunks."""
import hashlib
import hmac
import json
import os
import random
import stat
import subprocess
import uuid

from e2e import (AGENT, ENV, Agent, eq, python_exe, reply_text, run, streamed, test,
                 url, wait_records)

# The body comes from a file: the command line (recorded too) stays clean.
PY_POST_FILE = r'''
import sys, ssl, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = open(sys.argv[3], "rb").read()
req = urllib.request.Request(sys.argv[1], data=body,
    headers={"Content-Type": "application/json"})
sys.stdout.buffer.write(urllib.request.urlopen(req, context=ctx).read())
'''


def luhn_card(prefix="4", n=16):
    """A random card number of the brand of prefix, with a valid Luhn digit."""
    digits = [int(c) for c in prefix] + [random.randrange(10) for _ in range(n - len(prefix) - 1)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return "".join(map(str, digits + [(10 - total % 10) % 10]))


def aws_key_id():
    return "AKIA" + "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def pseudonym(key, entity, normalised):
    """docs/record.md: first 8 hex of HMAC-SHA256(key, ENTITY || 0x00 || value)."""
    mac = hmac.new(key, entity.encode() + b"\0" + normalised.encode(), hashlib.sha256)
    return "[%s:%s]" % (entity, mac.hexdigest()[:8])


def by_marker_in(marker):
    """The exchange's records: the client's and the stand-in server's (same host)."""
    def pred(r):
        msgs = r.get("attributes", {}).get("gen_ai.input.messages", [])
        return marker in json.dumps(msgs, ensure_ascii=False)
    return pred


def raw_lines(path, marker):
    with open(path, encoding="utf-8") as f:
        return [line for line in f if marker in line]


def send(body):
    path = os.path.join(ENV["dir"], "redact-%s.json" % uuid.uuid4().hex[:8])
    with open(path, "wb") as f:
        f.write(body)
    run([python_exe(), "-c", PY_POST_FILE, url(), ENV["cert"], path])


def start_agent(name):
    """An agent of its own, with a key file in a state directory that does not
    exist yet: created at first start, 0700 and 0600."""
    state = os.path.join(ENV["dir"], name + "-state")
    key_path = os.path.join(state, "redact.key")
    out = os.path.join(ENV["dir"], name + ".jsonl")
    agent = Agent(out, "--redact-key", key_path)
    agent.wait_line("llmtap: ready")
    eq(oct(stat.S_IMODE(os.stat(state).st_mode)), oct(0o700), "state directory mode")
    eq(oct(stat.S_IMODE(os.stat(key_path).st_mode)), oct(0o600), "key file mode")
    with open(key_path, "rb") as f:
        key = f.read()
    eq(len(key), 32, "key length")
    return agent, out, key


def check_record(out, marker, values, user, expect_in, expect_out, counts):
    recs = wait_records(by_marker_in(marker), count=2, path=out)
    eq(sorted(r["attributes"]["llmtap.capture.role"] for r in recs), ["client", "server"],
       "records")
    rec = [r for r in recs if r["attributes"]["llmtap.capture.role"] == "client"][0]
    # every line of the exchange: the client's record and the stand-in
    # server's own (server side, same host), raw as written
    lines = raw_lines(out, marker)
    eq(len(lines), 2, "raw lines with the marker (client and server views)")
    for line in lines:
        for v in values:
            if v in line:
                raise AssertionError("%r is in the record: %s" % (v, line[:2000]))
    a = rec["attributes"]
    eq(a["gen_ai.input.messages"][-1]["parts"][0]["content"], expect_in, "redacted prompt")
    got_out = "".join(p.get("content", "") for m in a["gen_ai.output.messages"]
                      for p in m["parts"] if p.get("type") == "text")
    eq(got_out, expect_out, "redacted response")
    eq(rec["redactions"], counts, "redactions")
    # the shared agent (its own key) recorded the same exchange, redacted too
    shared = [line for line in raw_lines(ENV["out"], marker)]
    for line in shared:
        for v in values:
            if v in line:
                raise AssertionError("%r is in the shared agent's record" % v)


@test
def redaction_of_prompt_and_response():
    agent, out, key = start_agent("redact")
    try:
        marker = uuid.uuid4().hex
        email = "jane.%s@example.com" % marker[:6]
        card = luhn_card()
        aws = aws_key_id()
        user = "hello %s mail %s card %s key %s thanks" % (marker, email, card, aws)
        body = json.dumps({"model": "gpt-4o-mini", "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": user}]}).encode()
        send(body)
        subst = [(email, pseudonym(key, "EMAIL", email.lower())),
                 (card, pseudonym(key, "CREDIT_CARD", card)),
                 (aws, pseudonym(key, "AWS_ACCESS_KEY", aws))]
        expect = user
        for v, tok in subst:
            expect = expect.replace(v, tok)
        check_record(out, marker, [email, card, aws], user, expect, reply_text(expect),
                     {"EMAIL": 2, "CREDIT_CARD": 2, "AWS_ACCESS_KEY": 2})
    finally:
        eq(agent.stop(), 0, "agent exit status")


@test
def redaction_of_secrets_split_across_sse_chunks():
    """The stand-in streams one word per SSE chunk: "4111 1111 1111 1111" and
    "+44 20 7946 0958" arrive in four chunks each, and are still one value in
    the merged response."""
    agent, out, key = start_agent("redact-sse")
    try:
        marker = uuid.uuid4().hex
        card = luhn_card()
        spaced = " ".join(card[i:i + 4] for i in range(0, 16, 4))
        phone = "+44 20 7946 %04d" % random.randrange(10000)
        email = "ops.%s@example.org" % marker[:6]
        user = "hello %s card %s phone %s mail %s" % (marker, spaced, phone, email)
        body = json.dumps({"model": "gpt-4o-mini", "stream": True,
                           "stream_options": {"include_usage": True},
                           "messages": [{"role": "user", "content": user}]}).encode()
        send(body)
        subst = [(spaced, pseudonym(key, "CREDIT_CARD", card)),
                 (phone, pseudonym(key, "PHONE", phone.replace(" ", ""))),
                 (email, pseudonym(key, "EMAIL", email))]
        expect_in, expect_out = user, streamed(reply_text(user))
        for v, tok in subst:
            expect_in = expect_in.replace(v, tok)
            expect_out = expect_out.replace(v, tok)
        check_record(out, marker, [card, spaced, phone, email, card[-8:]], user, expect_in,
                     expect_out, {"EMAIL": 2, "CREDIT_CARD": 2, "PHONE": 2})
    finally:
        eq(agent.stop(), 0, "agent exit status")


@test
def redaction_key_refused_when_readable_by_others():
    state = os.path.join(ENV["dir"], "badkey-state")
    os.makedirs(state, exist_ok=True)
    key_path = os.path.join(state, "redact.key")
    with open(key_path, "wb") as f:
        f.write(os.urandom(32))
    os.chmod(key_path, 0o644)
    p = subprocess.run([AGENT, "run", "--output", os.path.join(ENV["dir"], "badkey.jsonl"),
                        "--redact-key", key_path, "--state-dir", state],
                       capture_output=True, text=True, timeout=60)
    eq(p.returncode, 1, "exit status with a key others can read")
    if "cannot use the redaction key" not in p.stderr or "mode 0600" not in p.stderr:
        raise AssertionError("unclear error: " + p.stderr)


@test
def no_redact_warns_loudly():
    agent = Agent(os.path.join(ENV["dir"], "noredact.jsonl"), "--no-redact")
    try:
        line = agent.wait_line("llmtap: warning: *** --no-redact", timeout=30)
        if "UNREDACTED" not in line:
            raise AssertionError("warning does not say so: " + line)
    finally:
        eq(agent.stop(), 0, "agent exit status")
