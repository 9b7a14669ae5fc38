"""SIP end to end (issue 6): real calls through Kamailio and push.

Starts, on loopback: the push sandbox (its --on_push command is
device_app.py, the patient's app), callpush-server with its in-process JSON
gateway (bearer token on), Kamailio with deploy/kamailio/kamailio.cfg, and
SIPp as the PSTN gateway; each case runs SIPp as the caller and the sandbox
starts SIPp as each woken device. Every case checks what the caller got
(who answered, or 487), what the devices did (SIPp exit codes) and what the
sandbox received (call / update / cancel pushes with their reason).

Run by tests/e2e/sip/run.sh (which brings its own Postgres when ctest's is
not there); prints one line per case and ends with `N passed, M failed`.
`--calls N` instead measures N answered calls and prints the latency split
for BENCHMARKS.md ("SIP call setup").
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import traceback
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))

import harness  # noqa: E402

SIPP = os.environ.get("CALLPUSH_SIPP", "sipp")
KAMAILIO = os.environ.get("CALLPUSH_KAMAILIO", "/usr/sbin/kamailio")
KAMAILIO_CFG = os.path.join(harness.SOURCE_DIR, "deploy", "kamailio",
                            "kamailio.cfg")
SCENARIOS = os.path.join(HERE, "scenarios")
# Short enough for a test, long enough for a loaded 2-core machine to start
# a SIPp device (about 50 ms idle).
REGISTER_TIMEOUT_MS = 3000
TOKEN = "sip-proxy-token-" + uuid.uuid4().hex[:8]
CALLER_NAME = "Dr Jane O'Brien"


class CaseFailure(Exception):
    pass


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(condition, message):
    if not condition:
        raise CaseFailure(message)


class SipStack:
    """Every process of the test; close() stops what it started."""

    def __init__(self):
        self.work = harness.Workdir()
        self.dir = self.work.path
        for sub in ("devices", "results", "callers"):
            os.makedirs(os.path.join(self.dir, sub))
        self.procs = []
        self.db = harness.ScratchDatabase()
        self.seeder = harness.Seeder(self.db)
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        self.kamailio_port = free_udp_port()
        self.proxy = "127.0.0.1:%d" % self.kamailio_port
        device_env = dict(os.environ)
        device_env.update({
            "CALLPUSH_SIP_DIR": self.dir,
            "CALLPUSH_SIP_PROXY": self.proxy,
            "CALLPUSH_SIPP": SIPP,
        })
        on_push = "%s %s" % (sys.executable,
                             os.path.join(HERE, "device_app.py"))
        self.sandbox = harness.Sandbox(self.dir,
                                       extra_flags=["--on_push=" + on_push],
                                       env=device_env)
        self.procs.append(self.sandbox)
        push_config = self.sandbox.write_push_config(
            os.path.join(self.dir, "push.json"))
        tokens = self.work.file("tokens", TOKEN + "\n")
        self.server = harness.Server(
            self.dir, "server", self.db.url, push_config=push_config,
            migrate=True, extra_flags=["--http_auth_tokens_file=" + tokens])
        self.procs.append(self.server)
        harness.await_status(self.server.http, "/readyz", 200)

        self.pstn_port = free_udp_port()
        self.pstn = harness.Process(
            [SIPP, "-sf", os.path.join(SCENARIOS, "pstn.xml"), "-i",
             "127.0.0.1", "-p", str(self.pstn_port), "-nostdin",
             "-trace_msg", "-message_file",
             os.path.join(self.dir, "pstn.msg")],
            os.path.join(self.dir, "pstn.log"))
        self.procs.append(self.pstn)

        env = dict(os.environ)
        env["CALLPUSH_TOKEN"] = TOKEN
        self.kamailio = harness.Process(
            [KAMAILIO, "-f", KAMAILIO_CFG, "-DD", "-E", "-m", "64", "-M", "8",
             "-Y", self.dir, "-w", self.dir,
             "-l", "udp:" + self.proxy,
             "-A", 'CALLPUSH_URL="http://%s"' % self.server.http,
             "-A", 'PSTN_GATEWAY="127.0.0.1:%d"' % self.pstn_port,
             "-A", "REGISTER_TIMEOUT_MS=%d" % REGISTER_TIMEOUT_MS,
             "-A", "SIP_CHILDREN=8"],
            os.path.join(self.dir, "kamailio.log"), env=env)
        self.procs.append(self.kamailio)
        self.kamailio.wait_for_line("Listening on")
        self._await_proxy()

    def _await_proxy(self):
        """OPTIONS until Kamailio's workers answer."""
        deadline = time.monotonic() + 20
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.2)
            port = s.getsockname()[1]
            while time.monotonic() < deadline:
                branch = "z9hG4bK" + uuid.uuid4().hex
                msg = ("OPTIONS sip:%s SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s\r\n"
                       "From: <sip:probe@127.0.0.1>;tag=1\r\n"
                       "To: <sip:%s>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                       "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n" % (
                           self.proxy, port, branch, self.proxy,
                           uuid.uuid4().hex))
                s.sendto(msg.encode(), ("127.0.0.1", self.kamailio_port))
                try:
                    data = s.recv(65536)
                    if data.startswith(b"SIP/2.0 200"):
                        return
                except socket.timeout:
                    pass
        raise harness.HarnessError("Kamailio did not answer OPTIONS: " +
                                   self.kamailio.log_tail())

    def stop_devices(self):
        """SIGTERM to every device SIPp that has not exited (only those this
        run's device_app.py started, by the pid it wrote)."""
        results = os.path.join(self.dir, "results")
        for name in os.listdir(results):
            if not name.endswith(".pid"):
                continue
            if os.path.exists(os.path.join(results, name[:-4] + ".rc")):
                continue
            try:
                with open(os.path.join(results, name),
                          encoding="utf-8") as f:
                    os.kill(int(f.read().strip()), signal.SIGTERM)
            except (OSError, ValueError):
                pass

    def close(self):
        self.stop_devices()
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception:  # keep stopping the others
                traceback.print_exc()
        self.db.close()

    # Devices and calls.

    def device(self, number, platform, mode, answer_after_ms=0,
               inbound_calls_allowed=True, patient=None, reregister=True):
        """A device in the database and its app's behaviour; returns
        (device id, the token its call pushes go to)."""
        if patient is None:
            patient = self.seeder.patient(number)
        if platform == "ios":
            voip, push = harness.hex_token(), harness.hex_token()
            token = voip
        else:
            voip = push = "fcm-" + uuid.uuid4().hex
            token = voip
        device_id = self.seeder.device(
            patient, platform, voip, push,
            inbound_calls_allowed=inbound_calls_allowed)
        # The app gets call pushes on one token and (iOS) update and cancel
        # pushes on the other.
        for t in {token, push}:
            with open(os.path.join(self.dir, "devices", t + ".json"), "w",
                      encoding="utf-8") as f:
                json.dump({"number": number, "mode": mode,
                           "answerAfterMs": answer_after_ms,
                           "reregisterOnUpdate": reregister}, f)
        return device_id, token, push

    def call(self, number, call_id, scenario="caller.xml", reinvite=False,
             timeout_s=30, extra=()):
        """Runs SIPp as the caller; returns (exit code, message trace)."""
        msg = os.path.join(self.dir, "callers", call_id + ".msg")
        argv = [SIPP, self.proxy, "-sf", os.path.join(SCENARIOS, scenario),
                "-i", "127.0.0.1", "-s", number, "-m", "1",
                "-cid_str", call_id,
                "-timeout", "%ds" % timeout_s, "-timeout_error", "-nostdin",
                "-trace_msg", "-message_file", msg]
        if reinvite:
            argv += ["-set", "REINVITE", "1"]
        argv += list(extra)
        with open(os.path.join(self.dir, "callers", call_id + ".out"),
                  "wb") as out:
            rc = subprocess.call(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT,
                                 timeout=timeout_s + 15)
        try:
            with open(msg, encoding="utf-8", errors="replace") as f:
                trace = f.read()
        except FileNotFoundError:
            trace = ""
        return rc, trace

    def device_result(self, call_id, device_id, timeout=20.0):
        """SIPp's exit code for the device's app, once it exited."""
        path = os.path.join(self.dir, "results",
                            "%s.%s.rc" % (call_id, device_id))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with open(path, encoding="utf-8") as f:
                    text = f.read().strip()
                if text:
                    return int(text)
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        return None

    def reregistered_at(self, call_id, device_id):
        """When the app sent its REGISTER after an update push (device_app
        logs it), or None."""
        tag = "%s.%s" % (call_id, device_id)
        try:
            with open(os.path.join(self.dir, "pushes.log"),
                      encoding="utf-8") as f:
                for line in f:
                    rec = json.loads(line)
                    if rec.get("reregistered") == tag:
                        return rec["at"]
        except FileNotFoundError:
            pass
        return None

    def device_reinvite_at(self, call_id, device_id):
        """When the device's SIPp got the second INVITE (the re-INVITE)."""
        events = trace_events(os.path.join(
            self.dir, "results", "%s.%s.msg" % (call_id, device_id)))
        invites = [t for t, k, first in events
                   if k == "received" and first.startswith("INVITE ")]
        return invites[1] if len(invites) > 1 else None

    def caller_reinvite_at(self, call_id):
        events = trace_events(os.path.join(self.dir, "callers",
                                           call_id + ".msg"))
        for t, k, first in events:
            if k == "sent" and first.startswith("INVITE ") and \
                    "pn-prid=" in first:
                return t
        return None

    def device_started(self, call_id, device_id):
        return os.path.exists(os.path.join(
            self.dir, "results", "%s.%s.out" % (call_id, device_id)))

    def pushes(self, token):
        """(type, reason, callId, callerName) of every push the sandbox
        accepted for `token`, oldest first."""
        out = []
        for d in self.sandbox.deliveries(token):
            fields = push_fields(d)
            out.append((fields.get("type"), fields.get("reason"),
                        fields.get("callId"), fields.get("callerName"),
                        d.get("status")))
        return out

    def await_pushes(self, token, count, timeout=10.0):
        deadline = time.monotonic() + timeout
        while True:
            found = self.pushes(token)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def pstn_saw(self, call_id):
        try:
            with open(os.path.join(self.dir, "pstn.msg"), encoding="utf-8",
                      errors="replace") as f:
                return ("Call-ID: %s" % call_id) in f.read()
        except FileNotFoundError:
            return False

    def listed(self, number):
        resp = harness.request(
            self.server.http, "GET",
            "/v1/callable-devices?mobileNumber=" +
            urllib.parse.quote(number, safe=""),
            headers={"Authorization": "Bearer " + TOKEN})
        check(resp.status == 200, "callable-devices answered %r" % resp)
        return sorted(d["id"] for d in resp.json())


def push_fields(delivery):
    body = delivery.get("body") or delivery.get("payload") or "{}"
    doc = json.loads(body) if isinstance(body, str) else body
    if isinstance(doc, dict) and isinstance(doc.get("message"), dict):
        return doc["message"].get("data") or {}
    return doc


def answered_by(trace):
    """X-Answered-By of the 200 OK to the first INVITE the caller got."""
    for block in trace.split("\n\n"):
        if "SIP/2.0 200" in block and "CSeq: 1 INVITE" in block:
            for line in block.splitlines():
                if line.lower().startswith("x-answered-by:"):
                    return line.split(":", 1)[1].strip()
    return None


def expect_answered(rc, trace, by):
    """The caller's SIPp ended well and the 200 came from `by` ("pstn" or
    "device-<id>")."""
    check(rc == 0, "caller SIPp exited %d" % rc)
    check(answered_by(trace) == by, "answered by %r, not %r" % (
        answered_by(trace), by))


# The cases of issue 6, item 2.

def fresh_number():
    return harness.fresh_number(3)


def fresh_call_id(tag):
    return harness.fresh_call_id(tag, "sip.e2e")


def case_ios_answers(st):
    number = fresh_number()
    dev, voip, push = st.device(number, "ios", "answer", answer_after_ms=200)
    cid = fresh_call_id("ios")
    rc, trace = st.call(number, cid, reinvite=True)
    expect_answered(rc, trace, "device-" + dev)
    check(st.device_result(cid, dev) == 0, "device SIPp failed")
    calls = st.pushes(voip)
    check([(t, c, n) for t, _, c, n, _ in calls] ==
          [("call", cid, CALLER_NAME)], "VoIP pushes %r" % calls)
    # The re-INVITE toward the device woke it with an update push, and
    # reached it only after the app registered again.
    updates = st.await_pushes(push, 1)
    check([(t, c) for t, _, c, _, _ in updates] == [("update", cid)],
          "update pushes %r" % updates)
    registered = st.reregistered_at(cid, dev)
    reinvite = st.device_reinvite_at(cid, dev)
    check(registered is not None and reinvite is not None and
          registered < reinvite,
          "re-INVITE at %r, app's REGISTER at %r" % (reinvite, registered))
    check(not st.pstn_saw(cid), "PSTN got the call")


def case_reinvite_without_reregister(st):
    """The app takes the update push but does not REGISTER: the re-INVITE
    waits REGISTER_TIMEOUT_MS, then goes to the dialog target anyway."""
    number = fresh_number()
    dev, voip, push = st.device(number, "android", "answer", reregister=False)
    cid = fresh_call_id("noreg")
    rc, trace = st.call(number, cid, reinvite=True)
    check(rc == 0, "caller SIPp exited %d" % rc)
    check(st.device_result(cid, dev) == 0, "device SIPp failed")
    check([t for t, _, _, _, _ in st.pushes(push)] == ["call", "update"],
          "pushes %r" % st.pushes(push))
    check(st.reregistered_at(cid, dev) is None, "the app registered")
    reinvite, sent = st.device_reinvite_at(cid, dev), st.caller_reinvite_at(cid)
    check(reinvite is not None and sent is not None,
          "re-INVITE sent at %r, at the device at %r" % (sent, reinvite))
    check(reinvite - sent >= REGISTER_TIMEOUT_MS / 1000.0 - 0.05,
          "re-INVITE relayed after %.2fs, before the timeout" % (
              reinvite - sent))


def case_two_devices_one_answers(st):
    number = fresh_number()
    patient = st.seeder.patient(number)
    a, a_voip, a_push = st.device(number, "ios", "answer",
                                  answer_after_ms=700, patient=patient)
    b, b_token, _ = st.device(number, "android", "ring", patient=patient)
    cid = fresh_call_id("two")
    rc, trace = st.call(number, cid)
    expect_answered(rc, trace, "device-" + a)
    check(st.device_result(cid, a) == 0, "answering device SIPp failed")
    check(st.device_result(cid, b) == 0,
          "ringing device did not get its CANCEL")
    b_pushes = st.await_pushes(b_token, 2)
    check([(t, r, c) for t, r, c, _, _ in b_pushes] ==
          [("call", None, cid), ("cancel", "answered_elsewhere", cid)],
          "other device's pushes %r" % b_pushes)
    a_all = st.pushes(a_voip) + st.pushes(a_push)
    check([t for t, _, _, _, _ in a_all] == ["call"],
          "answering device's pushes %r" % a_all)


def case_caller_hangs_up(st):
    number = fresh_number()
    dev, voip, push = st.device(number, "ios", "ring")
    cid = fresh_call_id("cancel")
    rc, trace = st.call(number, cid, scenario="caller_cancel.xml")
    check(rc == 0, "caller SIPp exited %d" % rc)
    check(st.device_result(cid, dev) == 0, "device did not get its CANCEL")
    cancels = st.await_pushes(push, 1)
    check([(t, r, c) for t, r, c, _, _ in cancels] ==
          [("cancel", "cancelled", cid)], "cancel pushes %r" % cancels)
    check(not st.pstn_saw(cid), "PSTN got the call")


def case_no_device_goes_to_pstn(st):
    number = fresh_number()
    st.seeder.patient(number)
    cid = fresh_call_id("nodev")
    rc, trace = st.call(number, cid)
    expect_answered(rc, trace, "pstn")
    check(st.pstn_saw(cid), "PSTN did not get the call")


def case_never_registers_goes_to_pstn(st):
    number = fresh_number()
    dev, voip, push = st.device(number, "ios", "silent")
    cid = fresh_call_id("silent")
    started = time.monotonic()
    rc, trace = st.call(number, cid)
    elapsed = time.monotonic() - started
    expect_answered(rc, trace, "pstn")
    check(elapsed >= REGISTER_TIMEOUT_MS / 1000.0,
          "PSTN after %.2fs, before the register timeout" % elapsed)
    check([t for t, _, _, _, _ in st.pushes(voip)] == ["call"],
          "VoIP pushes %r" % st.pushes(voip))
    # The phone may be showing the call: it is told the call went away.
    cancels = st.await_pushes(push, 1)
    check([(t, r) for t, r, _, _, _ in cancels] == [("cancel", "cancelled")],
          "cancel pushes %r" % cancels)


def case_user_refuses_calls(st):
    number = fresh_number()
    dev, voip, push = st.device(number, "ios", "answer",
                                inbound_calls_allowed=False)
    cid = fresh_call_id("refuse")
    started = time.monotonic()
    rc, trace = st.call(number, cid)
    elapsed = time.monotonic() - started
    expect_answered(rc, trace, "pstn")
    check(elapsed < REGISTER_TIMEOUT_MS / 1000.0,
          "PSTN only after %.2fs: it waited for a device" % elapsed)
    check(st.pushes(voip) == [] and st.pushes(push) == [],
          "pushes to a device that refuses calls")


def case_dead_token_goes_to_pstn(st):
    number = fresh_number()
    dev, voip, push = st.device(number, "ios", "answer")
    check(st.listed(number) == [dev], "device not listed before the call")
    st.sandbox.put_rules([{"token": voip, "status": 410,
                           "reason": "Unregistered"}])
    cid = fresh_call_id("dead")
    rc, trace = st.call(number, cid)
    expect_answered(rc, trace, "pstn")
    check([s for _, _, _, _, s in st.pushes(voip)] == [410],
          "pushes %r" % st.pushes(voip))
    check(not st.device_started(cid, dev), "the device app was woken")
    check(st.listed(number) == [], "the dead device is still listed")


def case_registers_before_the_park(st):
    """The first device's app registers while the proxy is still pushing
    the second (its push takes 1.5 s): it rings once the call is parked."""
    number = fresh_number()
    patient = st.seeder.patient(number)
    a, a_voip, _ = st.device(number, "ios", "answer", answer_after_ms=300,
                             patient=patient)
    b, b_token, _ = st.device(number, "android", "ring", patient=patient)
    st.sandbox.put_rules([{"token": b_token, "delay_ms": 1500}])
    cid = fresh_call_id("early")
    rc, trace = st.call(number, cid)
    expect_answered(rc, trace, "device-" + a)
    check(st.device_result(cid, a) == 0, "early device SIPp failed")
    check(st.device_result(cid, b) == 0, "late device did not get CANCEL")
    b_pushes = st.await_pushes(b_token, 2)
    check([(t, r) for t, r, _, _, _ in b_pushes] ==
          [("call", None), ("cancel", "answered_elsewhere")],
          "late device's pushes %r" % b_pushes)


def case_caller_hangs_up_while_pushing(st):
    """CANCEL while the proxy is still pushing (a push takes 1 s): every
    pushed device gets `cancelled`, the caller 487, nothing rings."""
    number = fresh_number()
    patient = st.seeder.patient(number)
    a, _, a_push = st.device(number, "ios", "silent", patient=patient)
    b, b_token, _ = st.device(number, "android", "silent", patient=patient)
    st.sandbox.put_rules([{"token": b_token, "delay_ms": 1000}])
    cid = fresh_call_id("cancel-early")
    rc, trace = st.call(number, cid, scenario="caller_cancel.xml",
                        extra=["-set", "EARLY", "1", "-d", "200"])
    check(rc == 0, "caller SIPp exited %d" % rc)
    check([(t, r) for t, r, _, _, _ in st.await_pushes(a_push, 1)] ==
          [("cancel", "cancelled")], "first device's cancel pushes")
    b_pushes = st.await_pushes(b_token, 2)
    check([(t, r) for t, r, _, _, _ in b_pushes] ==
          [("call", None), ("cancel", "cancelled")],
          "second device's pushes %r" % b_pushes)
    check(not st.pstn_saw(cid), "PSTN got the call")


def case_push_timeout_goes_to_pstn(st):
    """The provider takes longer than the gateway's 2 s deadline (504): the
    call goes to PSTN at once, and the phone, which may still get the push,
    is told the call is over."""
    number = fresh_number()
    dev, voip, push = st.device(number, "ios", "silent")
    st.sandbox.put_rules([{"token": voip, "delay_ms": 2500}])
    cid = fresh_call_id("slow")
    rc, trace = st.call(number, cid)
    expect_answered(rc, trace, "pstn")
    cancels = st.await_pushes(push, 1)
    check([(t, r, c) for t, r, c, _, _ in cancels] ==
          [("cancel", "cancelled", cid)], "cancel pushes %r" % cancels)


CASES = [
    ("an iOS device rings and answers; a re-INVITE wakes it with "
     "update-call and waits for its REGISTER",
     case_ios_answers),
    ("a re-INVITE toward an app that does not register again goes on "
     "after the timeout", case_reinvite_without_reregister),
    ("two devices, one answers, the other gets answered_elsewhere",
     case_two_devices_one_answers),
    ("the caller hangs up before an answer: cancelled",
     case_caller_hangs_up),
    ("no callable device: PSTN", case_no_device_goes_to_pstn),
    ("the device never registers: PSTN after the timeout",
     case_never_registers_goes_to_pstn),
    ("the user refuses calls: PSTN", case_user_refuses_calls),
    ("a dead token (410): PSTN and the device is no longer listed",
     case_dead_token_goes_to_pstn),
    # Races a real deployment meets.
    ("a device registers before the proxy has pushed them all",
     case_registers_before_the_park),
    ("the caller hangs up while the proxy is still pushing",
     case_caller_hangs_up_while_pushing),
    ("a push slower than the deadline (504): PSTN, and the device is told",
     case_push_timeout_goes_to_pstn),
]


def run_cases(st, selected):
    passed = failed = 0
    for name, fn in CASES:
        if selected and not any(s in fn.__name__ for s in selected):
            continue
        started = time.monotonic()
        try:
            fn(st)
            passed += 1
            print("PASS %s (%.2fs)" % (name, time.monotonic() - started),
                  flush=True)
        except Exception as e:  # one case's failure must not stop the rest
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
            if not isinstance(e, CaseFailure):
                traceback.print_exc()
    return passed, failed


# Latency (issue 6 item 3): --calls N answered calls, one after another.

def trace_events(path):
    """[(unix time, 'sent'|'received', first line)] of a SIPp -trace_msg
    file."""
    events = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return events
    stamp = None
    for i, line in enumerate(lines):
        if line.startswith("-----") and line.strip("- "):
            stamp = time.mktime(time.strptime(
                line.strip("- ").split(".")[0], "%Y-%m-%d %H:%M:%S")) + \
                float("0." + line.strip().rsplit(".", 1)[1])
        elif stamp is not None and (line.startswith("UDP message sent") or
                                    line.startswith("UDP message received")):
            kind = "sent" if "sent" in line else "received"
            rest = [x for x in lines[i + 1:i + 4] if x.strip()]
            first = rest[0] if rest else ""
            events.append((stamp, kind, first))
    return events


def first_event(events, kind, prefix):
    for stamp, k, first in events:
        if k == kind and first.startswith(prefix):
            return stamp
    return None


def gateway_latencies(log_path, route):
    out = []
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"http request"' not in line:
                continue
            rec = json.loads(line)
            if rec.get("route") == route:
                out.append(float(rec["latency_ms"]))
    return out


def kamailio_push_phases(log_path):
    out = {}
    with open(log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "parked:" in line and " us" in line:
                call_id = line.split("{", 1)[1].split("}", 1)[0].split()[-1]
                out[call_id] = int(line.rsplit(" in ", 1)[1].split()[0]) / 1e3
    return out


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, int(round(q / 100.0 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def measure(st, calls):
    rows = []
    for i in range(calls):
        number = fresh_number()
        dev, _, _ = st.device(number, "ios", "answer")
        cid = fresh_call_id("lat%d" % i)
        rc, _ = st.call(number, cid)
        dev_rc = st.device_result(cid, dev)
        if rc != 0 or dev_rc != 0:
            raise CaseFailure("call %d: caller %d, device %r" % (i, rc, dev_rc))
        caller = trace_events(os.path.join(st.dir, "callers", cid + ".msg"))
        device = trace_events(os.path.join(
            st.dir, "results", "%s.%s.msg" % (cid, dev)))
        rows.append({
            "callId": cid,
            "invite_sent": first_event(caller, "sent", "INVITE"),
            "register_sent": first_event(device, "sent", "REGISTER"),
            "invite_at_device": first_event(device, "received", "INVITE"),
        })
    log = os.path.join(st.dir, "server.log")
    gets = gateway_latencies(log, "/v1/callable-devices")[-calls:]
    posts = gateway_latencies(log, "/v1/call")[-calls:]
    phases = kamailio_push_phases(os.path.join(st.dir, "kamailio.log"))
    series = {"total": [], "callpush": [], "callpush_get": [],
              "callpush_post": [], "proxy_push_phase": [], "proxy_http": [],
              "wake": [], "register_to_invite": []}
    for row, get_ms, post_ms in zip(rows, gets, posts):
        total = (row["invite_at_device"] - row["invite_sent"]) * 1e3
        phase = phases.get(row["callId"], float("nan"))
        fork = (row["invite_at_device"] - row["register_sent"]) * 1e3
        series["total"].append(total)
        series["callpush"].append(get_ms + post_ms)
        series["callpush_get"].append(get_ms)
        series["callpush_post"].append(post_ms)
        series["proxy_push_phase"].append(phase)
        series["proxy_http"].append(phase - get_ms - post_ms)
        series["wake"].append(total - phase - fork)
        series["register_to_invite"].append(fork)
    return series


LATENCY_ROWS = [
    ("total", "INVITE sent by the caller -> INVITE at the device"),
    ("callpush", "callpush: GET /v1/callable-devices + POST /v1/call "
     "(gateway request -> provider accepted, as the gateway logs them)"),
    ("callpush_get", "  of which GET /v1/callable-devices"),
    ("callpush_post", "  of which POST /v1/call (push accepted by the "
     "sandbox over HTTP/2+TLS)"),
    ("proxy_http", "Kamailio's HTTP client around them (a new TCP "
     "connection per request, JSON handling)"),
    ("wake", "push accepted -> the device app's REGISTER (the test app: "
     "sandbox spawns python3 + SIPp)"),
    ("register_to_invite", "REGISTER sent -> INVITE at the device "
     "(Kamailio: save, tsilo append, fork)"),
]


def print_latency(series, calls):
    print("| %d calls, ms | p50 | p90 | p99 | max |" % calls)
    print("|---|---:|---:|---:|---:|")
    for key, label in LATENCY_ROWS:
        v = series[key]
        print("| %s | %.2f | %.2f | %.2f | %.2f |" % (
            label, percentile(v, 50), percentile(v, 90), percentile(v, 99),
            max(v)))
    print("JSON " + json.dumps({k: sorted(v) for k, v in series.items()}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", action="append", default=[],
                        help="run only cases whose function name has this")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory (logs, SIP traces)")
    parser.add_argument("--calls", type=int, default=0,
                        help="instead of the cases, measure N answered "
                        "calls and print the latency split")
    args = parser.parse_args()
    st = None
    passed = failed = 0
    try:
        st = SipStack()
        print("stack up in %s: kamailio %s, gateway %s, pstn 127.0.0.1:%d" %
              (st.dir, st.proxy, st.server.http, st.pstn_port), flush=True)
        if args.calls:
            print_latency(measure(st, args.calls), args.calls)
            passed = 1
        else:
            passed, failed = run_cases(st, args.k)
    except Exception:
        traceback.print_exc()
        failed += 1
    finally:
        if st is not None:
            st.close()
            if failed or args.keep:
                print("logs kept in %s" % st.dir)
            else:
                st.work.remove()
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
