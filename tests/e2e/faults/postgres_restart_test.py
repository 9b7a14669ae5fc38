#!/usr/bin/env python3
"""Postgres restarted under load (issue 7 item 2, DESIGN section 7).

callpush-server (in-process gateway, pushes to the real sandbox) runs on a
Postgres of this test's own (tests/pg/pg_instance.sh), so that the test can
stop it (fast shutdown) and start it again. Clients keep asking
GET /v1/callable-devices for numbers that have devices and POST /v1/call
for their devices. Postgres goes down for DOWN_S seconds. What must hold:

- every answer is 200 with exactly the number's callable devices, 202, or
  503 (504 only for a request already in flight when Postgres stopped):
  never 404, never [], never a 200 with another list, never a connection
  error. What one sees is 503 only, each within milliseconds: a fast
  shutdown ends every backend at once (SQLSTATE 57P01, UNAVAILABLE), then
  connections are refused or "starting up" (57P03), and a PgPool worker
  without a connection fails its jobs at once (reconnecting at most every
  200 ms), so no request waits for its deadline;
- answers other than 200/202 only while Postgres is down (from the stop to
  RECOVERY_S after it is started again);
- every request is answered within the 2 s deadline + MARGIN_S;
- once Postgres is back, the first 200 comes within RECOVERY_S;
- readiness goes false while it is down and true again after;
- the server process never exits;
- every 202 has exactly one push at the sandbox, and a request that got
  anything else has none;
- the logs hold no mobile number or push token.
"""

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402
from load import harness  # noqa: E402

PG_INSTANCE = os.path.join(harness.SOURCE_DIR, "tests", "pg",
                           "pg_instance.sh")

NUMBERS = 8
LIST_CLIENTS = 3
CALL_CLIENTS = 2
BEFORE_S = 1.0     # load before Postgres stops
DOWN_S = 2.5       # Postgres stopped
AFTER_S = 1.5      # load after the first 200 once it is back
RECOVERY_S = 2.0   # the first 200 after the restart comes within this
READY_POLL_S = 0.05


class OwnPostgres:
    """A throw-away Postgres this test can stop and start."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="callpush-e2e-faults-pg-")
        self.url = self._run("start").strip()

    def _run(self, command):
        done = subprocess.run(["bash", PG_INSTANCE, command, self.dir],
                              capture_output=True, text=True, timeout=90,
                              check=False)
        if done.returncode != 0:
            raise harness.HarnessError("pg_instance.sh %s: %s%s" % (
                command, done.stdout, done.stderr))
        return done.stdout

    def stop(self):
        self._run("stop")

    def start(self):
        self._run("start")

    def destroy(self):
        self._run("destroy")


def number_query(number):
    return "/v1/callable-devices?mobileNumber=" + urllib.parse.quote(
        number, safe="")


class PostgresRestartTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.workdir = harness.Workdir()
        cls.pg = None
        cls.db = None
        cls.sandbox = None
        cls.server = None
        try:
            cls.pg = OwnPostgres()
            os.environ["CALLPUSH_TEST_DATABASE_URL"] = cls.pg.url
            cls.db = harness.ScratchDatabase()
            cls.sandbox = harness.Sandbox(cls.workdir.path)
            push_config = cls.sandbox.write_push_config(
                os.path.join(cls.workdir.path, "push-config.json"))
            cls.server = harness.Server(cls.workdir.path, "server",
                                        cls.db.url, push_config=push_config,
                                        migrate=True)
            harness.await_status(cls.server.http, "/readyz", 200)
            cls._seed()
        except BaseException:
            cls._close()
            raise

    @classmethod
    def _seed(cls):
        """NUMBERS patients, each with a callable iPhone and Android phone
        and an iPad that refuses calls (so a wrong list would show)."""
        numbers = [harness.fresh_number(7) for _ in range(NUMBERS)]
        patients = [(number, [
            ("ios", harness.hex_token(), harness.hex_token(), True),
            ("android", "fcm-" + harness.hex_token(),
             "fcm-" + harness.hex_token(), True),
            ("ios", harness.hex_token(), harness.hex_token(), False),
        ]) for number in numbers]
        ids = load.seed(cls.db, patients)
        cls.tokens = [t for _, devices in patients for d in devices
                      for t in d[1:3]]
        cls.expected = {}   # number -> sorted callable device ids
        cls.callable = []   # (device id, number)
        for number, (ios, android, _) in zip(numbers, ids):
            cls.expected[number] = sorted([ios, android])
            cls.callable += [(ios, number), (android, number)]
        cls.numbers = sorted(cls.expected)

    @classmethod
    def _close(cls):
        for part in (cls.server, cls.sandbox):
            if part is not None:
                part.stop()
        if cls.db is not None:
            cls.db.close()
        if cls.pg is not None:
            cls.pg.destroy()

    @classmethod
    def tearDownClass(cls):
        cls._close()
        if load.keep_logs():
            print("logs kept in", cls.workdir.path, file=sys.stderr)
        else:
            cls.workdir.remove()

    def _request(self, index, n):
        if index < LIST_CLIENTS:
            number = self.numbers[(index + n * LIST_CLIENTS) % NUMBERS]
            return ("list", number, None, "GET", number_query(number), None)
        device, _ = self.callable[(index + n * CALL_CLIENTS) %
                                  len(self.callable)]
        return load.call_request(device, "pgr")

    def _poll_readiness(self, stop, seen):
        while not stop.is_set():
            try:
                status = harness.request(self.server.http, "GET", "/readyz",
                                         timeout=5).status
            except OSError as e:
                status = repr(e)
            seen.append((time.monotonic(), status))
            stop.wait(READY_POLL_S)

    def test_postgres_restart_under_load(self):
        readiness, ready_stop = [], threading.Event()
        poller = threading.Thread(target=self._poll_readiness,
                                  args=(ready_stop, readiness), daemon=True)
        traffic = load.Load(self.server.http, LIST_CLIENTS + CALL_CLIENTS,
                            self._request)
        poller.start()
        traffic.start()
        try:
            time.sleep(BEFORE_S)  # load runs for a while first
            stop_called = time.monotonic()
            self.pg.stop()
            stopped = time.monotonic()
            time.sleep(DOWN_S)  # the outage itself
            start_called = time.monotonic()
            self.pg.start()
            started = time.monotonic()
            # Load goes on until the first 200 after the restart, then for
            # AFTER_S more.
            first_ok = None
            while first_ok is None and time.monotonic() - started < 10:
                first_ok = next((o for o in traffic.snapshot()
                                 if o.kind == "list" and o.status == 200
                                 and o.sent_at >= started), None)
                time.sleep(0.02)
            time.sleep(AFTER_S)
        finally:
            traffic.stop()
            ready_stop.set()
            poller.join(10)
        outcomes = traffic.snapshot()
        exit_code = self.server.process.proc.poll()

        lists = [o for o in outcomes if o.kind == "list"]
        calls = [o for o in outcomes if o.kind == "call"]
        summary = ("%d GET %r, %d POST %r; stop took %.2f s, start %.2f s" % (
            len(lists), load.count_by(lists, lambda o: o.status), len(calls),
            load.count_by(calls, lambda o: o.status), stopped - stop_called,
            started - start_called))

        # The server process never exits and still answers.
        self.assertIsNone(exit_code, self.server.process.log_tail())
        self.assertIsNotNone(first_ok, "no 200 after the restart; " + summary)

        # Every request got an HTTP answer, with a documented status.
        for o in outcomes:
            self.assertIsNone(o.error, (o, summary))
        self.assertEqual(set(o.status for o in lists) - {200, 503, 504},
                         set(), summary)
        self.assertEqual(set(o.status for o in calls) - {202, 503, 504},
                         set(), summary)

        # A 200 is exactly the number's callable devices: never [], never
        # another list.
        for o in lists:
            if o.status == 200:
                got = sorted(d["id"] for d in json.loads(o.body))
                self.assertEqual(got, self.expected[o.key], (o, summary))
            else:
                self.assertEqual(list(json.loads(o.body)), ["error"], o)

        # Within the deadline, plus a small margin.
        slowest = max(outcomes, key=lambda o: o.elapsed)
        self.assertLessEqual(slowest.elapsed,
                             load.DEADLINE_S + load.MARGIN_S,
                             (slowest, summary))

        # Failures only while Postgres is down: from the stop to RECOVERY_S
        # after it is back.
        failed = [o for o in outcomes if o.status not in (200, 202)]
        self.assertGreater(len(failed), 0, "the outage was not seen; " +
                           summary)
        for o in failed:
            self.assertGreaterEqual(o.answered_at, stop_called,
                                    (o, summary))
            self.assertLessEqual(o.sent_at, started + RECOVERY_S,
                                 (o, summary))
        # A 504 only for a request already in flight when Postgres went.
        for o in failed:
            if o.status == 504:
                self.assertLessEqual(o.sent_at, stopped, (o, summary))
        # Requests sent while it was fully down all failed.
        down = [o for o in outcomes
                if o.sent_at >= stopped and o.answered_at <= start_called]
        self.assertGreater(len(down), 0, summary)
        self.assertEqual(
            [o for o in down if o.status in (200, 202)], [], summary)

        # Recovery: the first 200 after the restart within RECOVERY_S.
        self.assertLessEqual(first_ok.answered_at - started, RECOVERY_S,
                             (first_ok, summary))

        # Readiness: true before, false while down, true again after.
        self.assertEqual({s for t, s in readiness if t < stop_called}, {200},
                         readiness)
        not_ready = [t for t, s in readiness
                     if s == 503 and stop_called <= t <= started + 2]
        self.assertGreater(len(not_ready), 0, readiness)
        harness.await_status(self.server.http, "/readyz", 200, timeout=5)

        # Every 202 is exactly one push answered 200; anything else none.
        deliveries = load.await_settled(self.sandbox)
        pushed = load.pushes_by_call_id(deliveries, "pgr-")
        for o in calls:
            got = pushed.get(o.call_id, [])
            if o.status == 202:
                self.assertEqual([(d["status"], d["answer"]) for d in got],
                                 [(200, "sent")], (o, summary))
            else:
                self.assertEqual([d for d in got if d["status"] == 200], [],
                                 (o, summary))
        self.assertEqual(set(pushed) - set(o.call_id for o in calls), set(),
                         "pushes for requests never sent")

        # The outage's error paths log no number or token.
        self.assertEqual(load.leaks([self.server.process.log_path,
                                     self.sandbox.process.log_path],
                                    self.numbers, self.tokens), [])

        timings = load.count_by(failed, lambda o: (
            o.kind, o.status, "%.1fs" % o.elapsed))
        print("Postgres restart under load: %s; first 200 %.2f s after "
              "Postgres was back; slowest answer %.3f s (%s %r); failures "
              "by (kind, status, latency): %r; readiness 503 from +%.2f s "
              "to +%.2f s after the stop" % (
                  summary, first_ok.answered_at - started, slowest.elapsed,
                  slowest.kind, slowest.status, timings,
                  min(not_ready) - stop_called, max(not_ready) - stop_called))


if __name__ == "__main__":
    unittest.main(verbosity=2)
