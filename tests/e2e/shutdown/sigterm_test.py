#!/usr/bin/env python3
"""SIGTERM under load (DESIGN section 7, issue 5 item 4).

A real callpush-server (in-process gateway, pushes to the real sandbox over
HTTP/2 + TLS) takes POST /v1/call from several keep-alive HTTP clients when
it gets SIGTERM. What must hold:

- readiness goes false at once (/readyz 503, gRPC health NOT_SERVING) while
  requests that still arrive during the drain delay are served;
- every answer is 202, or 503 while stopping: never 404, 500 or a hang;
- every 202 has exactly one push at the sandbox, and no push exists for a
  request that got no 202 (nothing accepted is lost, nothing doubled, no
  patient's phone rings for a call the proxy was told failed);
- a request that got no answer at all was never taken (no push, no
  call_pushes row): the client saw a refused or closed connection and may
  retry;
- the process exits 0 within drain delay + grace.
"""

import http.client
import os
import signal
import sys
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "gateway"))
import harness  # noqa: E402

CLIENTS = 6
LOAD_BEFORE_SIGTERM_S = 1.5
DRAIN_DELAY_S = 1.0
GRACE_S = 5.0


class Outcome:
    def __init__(self, call_id, device_id, sent_at):
        self.call_id = call_id
        self.device_id = device_id
        self.sent_at = sent_at
        self.status = None    # HTTP status, or None: no answer
        self.error = None     # the client-side exception when no answer
        self.answered_at = None


class SigtermUnderLoadTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.stack = harness.Stack()
        try:
            seeder = cls.stack.seeder
            cls.devices = []
            for _ in range(CLIENTS):
                number = "+4477009%05d" % (uuid.uuid4().int % 100000)
                patient = seeder.patient(number)
                token = uuid.uuid4().hex * 2
                cls.devices.append((seeder.device(patient, "ios",
                                                  voip_token=token), token))
            # The server under test: its own process, so the shared one
            # stays up for the database checks.
            cls.server = cls.stack._server(
                "server-sigterm",
                flags=["--shutdown_drain_delay=%gs" % DRAIN_DELAY_S,
                       "--shutdown_grace=%gs" % GRACE_S])
        except BaseException:
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def _client(self, index, stop, outcomes, lock):
        device_id, _ = self.devices[index]
        host, port = harness.split_address(self.server.http)
        conn = None
        while not stop.is_set():
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=10)
            call_id = "sigterm-%d-%s" % (index, uuid.uuid4().hex[:12])
            outcome = Outcome(call_id, device_id, time.monotonic())
            try:
                conn.request("POST", "/v1/call", body=(
                    '{"deviceId":"%s","callId":"%s","callerName":"Test"}'
                    % (device_id, call_id)).encode(),
                    headers={"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                outcome.status = resp.status
                if resp.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as e:
                outcome.error = repr(e)
                conn.close()
                conn = None
                if isinstance(e, ConnectionRefusedError):
                    time.sleep(0.05)  # the listener is gone: do not spin
            outcome.answered_at = time.monotonic()
            with lock:
                outcomes.append(outcome)
        if conn is not None:
            conn.close()

    def test_sigterm_under_load_loses_no_accepted_request(self):
        outcomes, lock, stop = [], threading.Lock(), threading.Event()
        threads = [threading.Thread(target=self._client,
                                    args=(i, stop, outcomes, lock))
                   for i in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_BEFORE_SIGTERM_S)  # load runs for a while first
        with lock:
            before = len(outcomes)
        self.assertGreater(before, 0, "no request answered before SIGTERM")

        proc = self.server.process.proc
        sigterm_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)

        # Readiness goes false at once, while the drain delay still serves.
        readyz = harness.await_status(self.server.http, "/readyz", 503,
                                      timeout=DRAIN_DELAY_S)
        not_ready_at = time.monotonic()
        self.assertEqual(readyz.status, 503)

        code = self.server.process.wait_exit(DRAIN_DELAY_S + GRACE_S + 10)
        exited_at = time.monotonic()
        stop.set()
        for t in threads:
            t.join(20)
        self.assertEqual(code, 0, self.server.process.log_tail())
        self.assertLess(exited_at - sigterm_at, DRAIN_DELAY_S + GRACE_S + 2)

        # Let pushes that were answered settle at the sandbox (the push is
        # logged when it arrives, before the 202 goes out, so this is only
        # for the HTTP admin read).
        deliveries = self.stack.sandbox.deliveries()
        pushed = {}
        for d in deliveries:
            call_id = d["payload"].get("callId")
            if call_id and call_id.startswith("sigterm-"):
                pushed[call_id] = pushed.get(call_id, 0) + 1
        rows = self.stack.db.psql(
            "SELECT call_id FROM call_pushes WHERE call_id LIKE 'sigterm-%';")
        recorded = set(rows.split())

        statuses = {}
        for o in outcomes:
            statuses[o.status] = statuses.get(o.status, 0) + 1
        accepted = [o for o in outcomes if o.status == 202]
        unanswered = [o for o in outcomes if o.status is None]
        summary = "statuses %r, %d pushes" % (statuses, sum(pushed.values()))

        # Every answer is truthful: 202, or 503 while stopping.
        self.assertEqual(set(statuses) - {202, 503, None}, set(), summary)
        # Requests kept being served after readiness went false (drain).
        served_in_drain = [o for o in accepted
                           if o.answered_at > not_ready_at]
        self.assertGreater(len(served_in_drain), 0, summary)
        # Every 202 is exactly one push; nothing pushed without a 202.
        for o in accepted:
            self.assertEqual(pushed.get(o.call_id), 1, (o.call_id, summary))
        by_id = {o.call_id: o for o in outcomes}
        for call_id in set(pushed) - {o.call_id for o in accepted}:
            o = by_id.get(call_id)
            self.fail("pushed without a 202: %s: %s; %s" % (
                call_id, "never recorded" if o is None else
                "status %r error %s at +%.3f s after SIGTERM" % (
                    o.status, o.error, o.answered_at - sigterm_at), summary))
        # A request without an answer was never taken by the server.
        for o in unanswered:
            self.assertNotIn(o.call_id, pushed, (o.error, summary))
            self.assertNotIn(o.call_id, recorded, (o.error, summary))
        # After the exit nothing listens any more.
        with self.assertRaises(OSError):
            harness.request(self.server.http, "GET", "/healthz", timeout=2)
        print("SIGTERM under load: %d requests, %s, %d answered after "
              "readiness went false, exit %d after %.2f s" % (
                  len(outcomes), summary, len(served_in_drain), code,
                  exited_at - sigterm_at))


if __name__ == "__main__":
    unittest.main()
