"""Steady HTTP load for the fault-injection tests, and the checks they share.

Each client is a thread with one keep-alive HTTP/1.1 connection to the
gateway that sends one request after another (paced, so that the load is
steady and leaves CPU to the processes under test) and records every
outcome: what was sent, when, the status and body, or the client-side error
when there was no answer. Builds on tests/e2e/gateway/harness.py.
"""

import http.client
import json
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "gateway"))
import harness  # noqa: E402

# The gateway's request deadline (--http_deadline, default 2 s) and how much
# later than it an answer may reach the client on this 2-core machine.
DEADLINE_S = 2.0
MARGIN_S = 0.5
# Pause between a client's requests: steady load, not saturation.
PACE_S = 0.01
# Client socket timeout: far above the deadline, so that a hang shows as a
# late answer (or an error), not as a cut-off.
CLIENT_TIMEOUT_S = 10.0


class Outcome:
    """One request and what came back."""

    def __init__(self, kind, key, call_id, sent_at):
        self.kind = kind          # "list" or "call"
        self.key = key            # the mobile number or the device id
        self.call_id = call_id    # for "call"
        self.sent_at = sent_at    # time.monotonic()
        self.answered_at = None
        self.status = None        # None: no HTTP answer
        self.body = b""
        self.error = None         # repr of the client-side exception

    @property
    def elapsed(self):
        return self.answered_at - self.sent_at

    def __repr__(self):
        return "<%s %s %s status=%r %.3fs body=%r error=%s>" % (
            self.kind, self.key, self.call_id or "", self.status,
            self.elapsed, self.body[:200], self.error)


class Load:
    """`clients` threads, each running `make_request(client_index, n)` ->
    (kind, key, call_id, method, target, body) in a loop until stop()."""

    def __init__(self, address, clients, make_request, pace_s=PACE_S):
        self.address = address
        self.make_request = make_request
        self.pace_s = pace_s
        self.outcomes = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,),
                                          daemon=True)
                         for i in range(clients)]

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(CLIENT_TIMEOUT_S + 5)
        alive = [t for t in self._threads if t.is_alive()]
        if alive:
            raise harness.HarnessError("%d load clients did not stop" %
                                       len(alive))

    def snapshot(self):
        with self.lock:
            return list(self.outcomes)

    def _run(self, index):
        host, port = harness.split_address(self.address)
        conn = None
        n = 0
        while not self._stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(host, port,
                                                  timeout=CLIENT_TIMEOUT_S)
            kind, key, call_id, method, target, body = self.make_request(
                index, n)
            n += 1
            outcome = Outcome(kind, key, call_id, time.monotonic())
            try:
                headers = {}
                data = None
                if body is not None:
                    data = json.dumps(body).encode()
                    headers["Content-Type"] = "application/json"
                conn.request(method, target, body=data, headers=headers)
                resp = conn.getresponse()
                outcome.body = resp.read()
                outcome.status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                outcome.error = repr(e)
                conn.close()
                conn = None
            outcome.answered_at = time.monotonic()
            with self.lock:
                self.outcomes.append(outcome)
            self._stop.wait(self.pace_s)
        if conn is not None:
            conn.close()


def seed(db, patients):
    """Writes patients and their devices in one psql run (as
    harness.Seeder does one by one, which takes seconds on a busy machine).
    `patients`: [(mobile number, [(platform, voip token, push token,
    inbound calls allowed), ...]), ...]. Returns the device ids, in the same
    shape."""
    statements, ids = [], []
    for number, devices in patients:
        ids.append([])
        for platform, voip, push, allowed in devices:
            device_id = str(uuid.uuid4())
            ids[-1].append(device_id)
            statements.append(
                "INSERT INTO devices (id, patient_id, platform, app, "
                "voip_token, push_token, inbound_calls_allowed) SELECT %s, "
                "id, %s, %s, %s, %s, %s FROM patients WHERE mobile_number = "
                "%s;" % tuple(harness.sql_literal(v) for v in (
                    device_id, platform, harness.APP, voip, push, allowed,
                    number)))
        statements.insert(
            len(statements) - len(devices),
            "INSERT INTO patients (mobile_number, active) VALUES (%s, true);"
            % harness.sql_literal(number))
    db.psql("BEGIN;\n%s\nCOMMIT;\n" % "\n".join(statements))
    return ids


def call_request(device_id, tag):
    """A POST /v1/call with a fresh call id: (kind, key, call_id, method,
    target, body) as Load wants it."""
    call_id = "%s-%s" % (tag, uuid.uuid4().hex[:16])
    return ("call", device_id, call_id, "POST", "/v1/call",
            {"deviceId": device_id, "callId": call_id,
             "callerName": "Fault Test"})


def call_id_of(delivery):
    """The callId a sandbox delivery carries (APNs or FCM payload)."""
    payload = delivery.get("payload")
    if not isinstance(payload, dict):
        return None
    if delivery.get("provider") == "fcm":
        data = payload.get("message", {}).get("data", {})
        return data.get("callId")
    return payload.get("callId")


def pushes_by_call_id(deliveries, prefix):
    """{call_id: [delivery, ...]} for the deliveries whose callId starts
    with `prefix`, oldest first."""
    out = {}
    for d in deliveries:
        call_id = call_id_of(d)
        if call_id and call_id.startswith(prefix):
            out.setdefault(call_id, []).append(d)
    return out


def accepted(delivery):
    """The sandbox answered 200 and the answer left it (a push answered
    after the client had reset the stream is not accepted)."""
    return delivery["status"] == 200 and delivery["answer"] == "sent"


def await_settled(sandbox, timeout=10.0):
    """The sandbox's deliveries once none is "pending" any more (every
    delayed answer was sent, or its stream or connection ended)."""
    deadline = time.monotonic() + timeout
    while True:
        deliveries = sandbox.deliveries()
        pending = [d for d in deliveries if d["answer"] == "pending"]
        if not pending:
            return deliveries
        if time.monotonic() > deadline:
            raise harness.HarnessError("%d deliveries still pending after "
                                       "%ss" % (len(pending), timeout))
        time.sleep(0.05)


def leaks(log_paths, numbers, tokens):
    """Where the logs at `log_paths` show a mobile number (its national
    significant number, so any form of it) or a piece of 12 characters of
    a push token: ["file: what 'needle' in '...context...'"]."""
    needles = [("number", n[len("+44"):]) for n in numbers]
    for token in tokens:
        needles += [("token piece", token[i:i + 12])
                    for i in range(len(token) - 11)]
    found = []
    for path in log_paths:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for what, needle in needles:
            at = text.find(needle)
            if at >= 0:
                found.append("%s: %s %r in %r" % (
                    os.path.basename(path), what, needle,
                    text[max(0, at - 100):at + 100]))
    return found


def keep_logs():
    """CALLPUSH_E2E_KEEP=1 keeps the work directory (the processes' logs)."""
    return os.environ.get("CALLPUSH_E2E_KEEP") == "1"


def count_by(items, key):
    out = {}
    for item in items:
        k = key(item)
        out[k] = out.get(k, 0) + 1
    return out
