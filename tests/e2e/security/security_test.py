#!/usr/bin/env python3
"""Security as tests (issue 7 item 7, DESIGN sections 7 and 8).

Two parts, on one set of processes (the gateway end-to-end stack of
tests/e2e/gateway/gateway_e2e_test.py, whose tests these are):

1. The refusals, which the gateway end-to-end tests already prove and which
   run here by name rather than being written twice: 401 without a bearer
   token or with a wrong one (in-process and separate gateway); oversized
   headers (431) and bodies (413, by Content-Length, chunked, and with the
   limit flags); a slow client (half-sent or trickled headers, a stalled
   body) cut off by the header/read timeout; connections beyond the cap.

2. Nothing personal or secret in the logs. A server and a separate gateway
   at --log_level=debug, on the same database and sandbox, see registrations
   (callpushctl, with numbers in national and spaced forms), lists, calls,
   updates, cancels, a refused call, a provider 503, a stall (504), a dead
   token (404, token cleared), bad requests that quote a number or a token,
   a wrong bearer token and call logs, with numbers, tokens and caller names
   known to the test. Then every process of the stack is stopped and its
   stderr (JSON logs) and stdout are searched: no mobile number (E.164,
   without '+', national, spaced, URL-encoded: any form holding its
   national significant number), no push token nor any 12-character piece
   of one, no caller name nor any word of one (raw UTF-8 or JSON-escaped),
   no bearer token of the gateway, no JWT ("eyJ") or OAuth access token
   ("ya29.") and no private key. The numbers, tokens and names of part 1's
   data are searched too.
"""

import json
import os
import re
import subprocess
import sys
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import gateway_e2e_test as gw  # noqa: E402
import harness  # noqa: E402

STACK = gw.STACK
CALLPUSHCTL = os.path.join(harness.BINARY_DIR, "clients", "callpushctl",
                           "callpushctl")

# Part 1: the gateway end-to-end tests that prove the refusals.
REFUSAL_TESTS = [
    "InProcessAuthTest",
    "SeparateGatewayTest.test_auth",
    "InProcessHttpTest.test_oversized_headers_are_431",
    "InProcessHttpTest.test_body_limit_is_64_kib",
    "InProcessHttpTest.test_huge_content_length_is_413_before_the_body_"
    "arrives",
    "InProcessHttpTest.test_chunked_body_over_the_limit_is_413",
    "InProcessLimitsTest.test_header_limit_flag",
    "InProcessLimitsTest.test_body_limit_flag",
    "InProcessLimitsTest.test_half_sent_headers_are_cut_off_after_the_"
    "header_timeout",
    "InProcessLimitsTest.test_trickled_headers_are_cut_off_after_the_"
    "header_timeout",
    "InProcessLimitsTest.test_a_stalled_body_is_cut_off_after_the_read_"
    "timeout",
    "InProcessLimitsTest.test_connections_beyond_the_cap_are_503_and_closed",
]

# Part 2: what the test knows and the logs must not show: valid UK mobile
# numbers, given to the server in several forms.
NUMBER_A = "+447723419731"   # registered as national "07723 419731"
NUMBER_B = "+447723419732"   # registered as "+44 7723 419732"
NUMBER_C = "+447723419733"   # never registered: listed, answers []
BAD_NUMBER = "447723419734"  # without '+': 400
CALLER_NAMES = ["Quillon Vantablack-Oduya", "Zoë Ærenfeld-Łukasiewicz",
                "Dr Marisol Thistlewood"]
WRONG_BEARER = "not-the-gateway-token-5f1c"
SECRET_MARKERS = ["eyJ", "ya29.", "PRIVATE KEY"]


def national_significant(number):
    return number[len("+44"):]


class SecretsInLogsTest(unittest.TestCase):
    """Runs after part 1 (see suite()); stops the stack to read its logs."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tokens = []
        cls.names_seen = []
        cls.server = STACK._server("server-debug",
                                   flags=["--log_level=debug"])
        cls.gateway = harness.Gateway(
            STACK.workdir.path, "gateway-debug", cls.server.grpc,
            ["--log_level=debug",
             "--http_auth_tokens_file=" + STACK.tokens_file])
        harness.await_status(cls.gateway.http, "/readyz", 200)
        cls.auth = {"Authorization": "Bearer " + STACK.AUTH_TOKENS[0]}

    @classmethod
    def tearDownClass(cls):
        cls.gateway.stop()
        cls.server.stop()

    def token(self, prefix=""):
        t = prefix + harness.hex_token()
        self.tokens.append(t)
        return t

    def ctl(self, *args, check=True):
        done = subprocess.run(
            [CALLPUSHCTL, "--server", self.server.grpc] + list(args),
            capture_output=True, text=True, timeout=30, check=False)
        if check:
            self.assertEqual(done.returncode, 0, done.stderr)
        return done

    def http(self, address, method, target, body=None, headers=None):
        return harness.request(address, method, target, body,
                               headers=headers)

    def call(self, address, device, call_id, name, headers=None):
        return self.http(address, "POST", "/v1/call", {
            "deviceId": device, "callId": call_id, "callerName": name},
            headers)

    def test_logs_hold_no_number_token_or_caller_name(self):
        sandbox = STACK.sandbox
        sandbox.clear()
        inproc, sep = self.server.http, self.gateway.http
        # Registrations: numbers in national and spaced forms.
        a_voip, a_push = self.token(), self.token()
        ios_a = self.ctl("device", "register", "--mobile", "07723 419731",
                         "--region", "GB", "--platform", "ios", "--app",
                         harness.APP, "--voip-token", a_voip, "--push-token",
                         a_push).stdout.strip()
        fcm_a = self.token("fcm-")
        android_a = self.ctl("device", "register", "--mobile", NUMBER_A,
                             "--platform", "android", "--app", harness.APP,
                             "--voip-token", fcm_a, "--push-token",
                             fcm_a).stdout.strip()
        b_voip, b_push = self.token(), self.token()
        ios_b = self.ctl("device", "register", "--mobile", "+44 7723 419732",
                         "--platform", "ios", "--app", harness.APP,
                         "--voip-token", b_voip, "--push-token",
                         b_push).stdout.strip()
        refusing_b = self.ctl("device", "register", "--mobile", NUMBER_B,
                              "--platform", "ios", "--app", harness.APP,
                              "--voip-token", self.token(), "--push-token",
                              self.token(), "--refuse-calls").stdout.strip()
        # A registration the server refuses (bad number), and lookups.
        bad = self.ctl("device", "register", "--mobile", "+44 7723 4197",
                       "--platform", "ios", "--app", harness.APP,
                       "--voip-token", self.token(), check=False)
        self.assertEqual(bad.returncode, 1, bad.stderr)
        listed = self.ctl("device", "list", NUMBER_A).stdout
        self.assertIn(ios_a, listed)
        self.assertIn(android_a, listed)

        # Lists, through both gateways (and 200, [] and 400).
        for address, headers in [(inproc, None), (sep, self.auth)]:
            for number, expected in [(NUMBER_A, {ios_a, android_a}),
                                     (NUMBER_B, {ios_b}), (NUMBER_C, set())]:
                resp = self.http(address, "GET", gw.number_query(number),
                                 headers=headers)
                self.assertEqual(resp.status, 200, resp)
                self.assertEqual({d["id"] for d in resp.json()}, expected)
            resp = self.http(address, "GET",
                             "/v1/callable-devices?mobileNumber=" +
                             BAD_NUMBER, headers=headers)
            self.assertEqual(resp.status, 400, resp)
        # A wrong bearer token is refused (and must not be logged either).
        resp = self.http(sep, "GET", gw.number_query(NUMBER_A),
                         headers={"Authorization": "Bearer " + WRONG_BEARER})
        self.assertEqual(resp.status, 401, resp)

        # Calls, updates and cancels, with each caller name.
        call_ids = []
        for i, (address, headers) in enumerate([(inproc, None),
                                                (sep, self.auth)]):
            for device, name in [(ios_a, CALLER_NAMES[0]),
                                 (android_a, CALLER_NAMES[1])]:
                call_id = gw.fresh_call_id("sec%d" % i)
                call_ids.append(call_id)
                self.assertEqual(self.call(address, device, call_id, name,
                                           headers).status, 202)
                self.assertEqual(self.http(address, "POST",
                                           "/v1/update-call", {
                                               "deviceId": device,
                                               "callId": call_id,
                                               "callerName": CALLER_NAMES[2]},
                                           headers).status, 202)
                for reason in ["answered_elsewhere", "cancelled"]:
                    self.assertEqual(self.http(address, "POST",
                                               "/v1/cancel-call", {
                                                   "deviceId": device,
                                                   "callId": call_id,
                                                   "reason": reason},
                                               headers).status, 202)
        self.assertEqual(self.call(inproc, refusing_b, gw.fresh_call_id("r"),
                                   CALLER_NAMES[0]).status, 403)
        # Provider failures: 503, a stall (504), a dead token (404).
        for rule, status in [({"status": 503}, 503),
                             ({"delay_ms": 3000}, 504),
                             ({"status": 410, "reason": "Unregistered"},
                              404)]:
            sandbox.put_rules([dict(rule, token=b_voip)])
            call_id = gw.fresh_call_id("fail")
            call_ids.append(call_id)
            self.assertEqual(self.call(inproc, ios_b, call_id,
                                       CALLER_NAMES[2]).status, status)
        sandbox.put_rules([])
        self.assertEqual(gw.STACK.seeder.voip_token(ios_b), None)
        # Bad requests: a token where the device id belongs, names with a
        # bad call id, a control character, a wrong type.
        for body in [{"deviceId": a_voip, "callId": "x",
                      "callerName": CALLER_NAMES[0]},
                     {"deviceId": ios_a, "callId": "",
                      "callerName": CALLER_NAMES[1]},
                     {"deviceId": ios_a, "callId": "x",
                      "callerName": "\x01" + CALLER_NAMES[0]},
                     {"deviceId": ios_a, "callId": "x",
                      "callerName": 5, CALLER_NAMES[2]: a_push}]:
            resp = self.http(inproc, "POST", "/v1/call", body)
            self.assertEqual(resp.status, 400, resp)
        # The call log lists the attempts (tokens shown redacted).
        for call_id in call_ids[:1] + call_ids[-3:]:
            self.ctl("call-log", call_id)
        self.assertGreater(len(sandbox.deliveries()), 8)

        # Every process of the stack (part 1's too) stops, so that its logs
        # are complete, and every line of them is searched.
        logs = {}
        self.gateway.stop()
        self.server.stop()
        outputs = {"server-debug": self.server.process.output(),
                   "gateway-debug": self.gateway.process.output()}
        STACK.close(keep_workdir=True)
        for name in sorted(os.listdir(STACK.workdir.path)):
            if name.endswith(".log"):
                with open(os.path.join(STACK.workdir.path, name), "rb") as f:
                    logs[name] = f.read().decode("utf-8", "replace")
        for name, text in outputs.items():
            logs[name + " stdout"] = text
        for name in ["server-debug.log", "gateway-debug.log", "sandbox.log",
                     "server-main.log", "server-auth.log",
                     "server-limits.log"]:
            self.assertIn(name, logs, sorted(logs))
        self.assertIn('"msg":"push"', logs["sandbox.log"])
        for name in ["server-debug.log", "gateway-debug.log"]:
            self.assertIn('"msg":"http request"', logs[name])

        forbidden = self.forbidden()
        leaks = []
        for log_name, text in sorted(logs.items()):
            for what, needle in forbidden:
                at = text.find(needle)
                if at >= 0:
                    leaks.append("%s: %s %r in %r" % (
                        log_name, what, needle,
                        text[max(0, at - 120):at + 120]))
        self.assertEqual(leaks, [])
        print("%d logs (%d bytes, %d lines) hold none of %d "
              "forbidden strings" % (
                  len(logs), sum(len(t) for t in logs.values()),
                  sum(t.count("\n") for t in logs.values()),
                  len(forbidden)))

    def forbidden(self):
        """(what, string) pairs no log may contain."""
        d = gw.data()
        numbers = [NUMBER_A, NUMBER_B, NUMBER_C, "+" + BAD_NUMBER,
                   gw.MAIN_NUMBER, gw.INACTIVE_NUMBER, gw.NO_TOKENS_NUMBER]
        tokens = self.tokens + [
            d.ios_voip, d.ios_push, d.android_token, d.refusing_voip,
            d.refusing_push, d.push_only_token, d.inactive_voip]
        names = CALLER_NAMES + ["Riverside Surgery"]
        out = []
        for number in numbers:
            nsn = national_significant(number)
            out.append(("number, E.164", number))
            out.append(("number without '+'", number[1:]))
            # Any form that holds the national significant number: national
            # (0...), URL-encoded (%2B44...), the above.
            out.append(("number", nsn))
            out.append(("number, spaced", "%s %s" % (nsn[:4], nsn[4:])))
            out.append(("number, url-encoded",
                        urllib.parse.quote(number, safe="")))
        out.append(("number as registered", "07723 419731"))
        out.append(("number, refused registration", "77234197"))
        for token in tokens:
            for i in range(len(token) - 11):
                out.append(("token piece", token[i:i + 12]))
        for name in names:
            out.append(("caller name", name))
            escaped = json.dumps(name)[1:-1]
            if escaped != name:
                out.append(("caller name, JSON-escaped", escaped))
            for word in re.split(r"[ -]", name):
                if len(word) >= 4:
                    out.append(("caller name word", word))
                    escaped = json.dumps(word)[1:-1]
                    if escaped != word:
                        out.append(("caller name word, escaped", escaped))
        for token in STACK.AUTH_TOKENS + (WRONG_BEARER,):
            out.append(("bearer token", token))
        for marker in SECRET_MARKERS:
            out.append(("credential", marker))
        return out


def suite():
    loader = unittest.TestLoader()
    tests = unittest.TestSuite()
    for name in REFUSAL_TESTS:
        tests.addTests(loader.loadTestsFromName(name, gw))
    tests.addTests(loader.loadTestsFromTestCase(SecretsInLogsTest))
    return tests


def main():
    result = unittest.TextTestRunner(verbosity=2).run(suite())
    ok = result.wasSuccessful()
    harness.close_and_exit(STACK, ok)


if __name__ == "__main__":
    main()
