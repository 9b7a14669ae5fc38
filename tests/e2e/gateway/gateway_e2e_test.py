#!/usr/bin/env python3
"""End-to-end tests of the JSON gateway (DESIGN.md section 2, issue 4).

Real processes (callpush-server with its in-process gateway, the separate
callpush-gateway, callpush-sandbox standing in for APNs and FCM, Postgres from
ctest's `pg` fixture) and real HTTP/1.1 over loopback sockets. Each 202 is
matched with the push the sandbox received.

Classes named InProcess* talk to the gateway inside callpush-server;
SeparateGateway* to callpush-gateway. Run one group with
`gateway_e2e_test.py -k InProcess` (ctest does).
"""

import http.client
import json
import os
import re
import select
import socket
import sys
import threading
import time
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import request  # noqa: E402

STACK = harness.Stack()

MAIN_NUMBER = "+447777123456"  # the number in the API document
INACTIVE_NUMBER = "+447777123457"
NO_TOKENS_NUMBER = "+447777123458"
UNKNOWN_NUMBER = "+447777123450"  # no patient has it
REJECTED = {"error": "device rejected inbound call"}

def fresh_number():
    return harness.fresh_number(1)


def fresh_call_id(tag):
    return harness.fresh_call_id(tag, "e2e.test")


hex_token = harness.hex_token


def number_query(number, name="mobileNumber"):
    return "/v1/callable-devices?%s=%s" % (
        name, urllib.parse.quote(number, safe=""))


def new_ios_device():
    """A callable iOS device of a new patient: (id, VoIP token, push token)."""
    voip, push = hex_token(), hex_token()
    device = STACK.seeder.device(STACK.seeder.patient(fresh_number()), "ios",
                                 voip, push)
    return device, voip, push


def call_while_in_flight(address):
    """Two identical calls, the second sent while the first one's push is
    held by the sandbox: (first answer, second answer, device, VoIP token,
    call id)."""
    device, token, _ = new_ios_device()
    STACK.sandbox.put_rules([{"token": token, "delay_ms": 1000, "times": 1}])
    call_id = fresh_call_id("inflight")
    body = {"deviceId": device, "callId": call_id, "callerName": "A"}
    first = []
    thread = threading.Thread(target=lambda: first.append(
        request(address, "POST", "/v1/call", body)))
    thread.start()
    try:
        STACK.sandbox.await_delivery(token)  # the push is in flight
        second = request(address, "POST", "/v1/call", body)
    finally:
        thread.join()
    return first[0], second, device, token, call_id


def padded_call_body(size, device_id):
    """A JSON call body of exactly `size` bytes."""
    body = {"deviceId": device_id, "callId": "size", "callerName": "",
            "padding": ""}
    base = len(json.dumps(body).encode())
    body["padding"] = "p" * (size - base)
    data = json.dumps(body).encode()
    assert len(data) == size, (len(data), size)
    return data


class Data:
    """Patients and devices every test may use (seeded once)."""

    def __init__(self):
        seed = STACK.seeder
        p = seed.patient(MAIN_NUMBER)
        self.ios_voip, self.ios_push = hex_token(), hex_token()
        self.ios = seed.device(p, "ios", self.ios_voip, self.ios_push)
        self.android_token = "fcm-" + uuid.uuid4().hex
        self.android = seed.device(p, "android", self.android_token,
                                   self.android_token)
        self.refusing_voip, self.refusing_push = hex_token(), hex_token()
        self.refusing = seed.device(p, "ios", self.refusing_voip,
                                    self.refusing_push,
                                    inbound_calls_allowed=False)
        # iOS without a PushKit token: valid for update/cancel, not for call.
        self.push_only_token = hex_token()
        self.push_only = seed.device(p, "ios", None, self.push_only_token)

        inactive = seed.patient(INACTIVE_NUMBER, active=False)
        self.inactive_voip = hex_token()
        self.inactive = seed.device(inactive, "ios", self.inactive_voip,
                                    hex_token())
        self.inactive_android = seed.device(inactive, "android", "fcm-in",
                                            "fcm-in")

        no_tokens = seed.patient(NO_TOKENS_NUMBER)
        self.no_tokens_ios = seed.device(no_tokens, "ios")
        self.no_tokens_android = seed.device(no_tokens, "android")

        self.unknown = str(uuid.uuid4())  # a valid UUID no device has
        self.callable = sorted([self.ios, self.android])


_data = []


def data():
    if not _data:
        _data.append(Data())
    return _data[0]


class GatewayTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.d = data()
        STACK.sandbox.clear()

    # --- HTTP ------------------------------------------------------------

    def http(self, address, method, target, body=None, **kw):
        resp = request(address, method, target, body, **kw)
        self.assertTrue(resp.header("x-request-id"),
                        "no x-request-id on %s %s: %r" % (method, target, resp))
        return resp

    def get(self, address, target, **kw):
        return self.http(address, "GET", target, **kw)

    def post(self, address, path, body, **kw):
        return self.http(address, "POST", path, body, **kw)

    def call(self, address, device_id, call_id, caller_name="Riverside Surgery",
             **kw):
        return self.post(address, "/v1/call", {
            "deviceId": device_id, "callId": call_id,
            "callerName": caller_name}, **kw)

    def update(self, address, device_id, call_id, caller_name="Riverside "
               "Surgery", **kw):
        return self.post(address, "/v1/update-call", {
            "deviceId": device_id, "callId": call_id,
            "callerName": caller_name}, **kw)

    def cancel(self, address, device_id, call_id, reason="cancelled", **kw):
        return self.post(address, "/v1/cancel-call", {
            "deviceId": device_id, "callId": call_id, "reason": reason}, **kw)

    # --- assertions ------------------------------------------------------

    def assertEmptyAnswer(self, resp, status):
        self.assertEqual((resp.status, resp.body), (status, b""), resp)

    def assertErrorAnswer(self, resp, status, mentions=None, exact=None):
        self.assertEqual(resp.status, status, resp)
        self.assertTrue(
            (resp.header("content-type") or "").startswith("application/json"),
            resp)
        try:
            body = resp.json()
        except ValueError as e:  # includes UnicodeDecodeError
            self.fail("error body is not UTF-8 JSON (%s): %r" % (e, resp))
        self.assertIsInstance(body, dict, resp)
        self.assertEqual(list(body.keys()), ["error"], resp)
        self.assertIsInstance(body["error"], str, resp)
        self.assertNotEqual(body["error"], "", resp)
        if mentions is not None:
            self.assertIn(mentions, body["error"], resp)
        if exact is not None:
            self.assertEqual(body, exact, resp)

    def assertDevices(self, resp, device_ids):
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(
            (resp.header("content-type") or "").startswith("application/json"),
            resp)
        body = resp.json()
        self.assertIsInstance(body, list, resp)
        self.assertEqual(sorted(body, key=lambda d: d.get("id", "")),
                         [{"id": i} for i in sorted(device_ids)], resp)

    def assertOnePush(self, token, call_id):
        """The sandbox received exactly one push for `token`, answered 200;
        answers it."""
        pushes = STACK.sandbox.deliveries(token)
        self.assertEqual(len(pushes), 1, pushes)
        push = pushes[0]
        self.assertEqual(push["status"], 200, push)
        data = push["payload"]
        if push["provider"] == "fcm":
            self.assertEqual(push["payload"]["message"]["token"], token)
            data = push["payload"]["message"]["data"]
        self.assertEqual(data["callId"], call_id, push)
        return push, data

    def assertNoPush(self, *tokens):
        for token in tokens:
            self.assertEqual(STACK.sandbox.deliveries(token), [])


# ======================================================================
# DESIGN section 2, row by row, through the in-process gateway.
# ======================================================================


class InProcessCallableDevicesTest(GatewayTestCase):
    """GET /v1/callable-devices."""

    def test_lists_callable_devices_as_bare_array(self):
        resp = self.get(STACK.main.http, number_query(MAIN_NUMBER))
        # Not the refusing device, not the one without a VoIP token.
        self.assertDevices(resp, self.d.callable)

    def test_literal_plus_in_query_as_in_the_document(self):
        # The document's own URI: ?mobileNumber=+447777123456, '+' unencoded.
        resp = self.get(STACK.main.http,
                        "/v1/callable-devices?mobileNumber=" + MAIN_NUMBER)
        self.assertDevices(resp, self.d.callable)

    def test_proto_field_name_binds_too(self):
        resp = self.get(STACK.main.http,
                        number_query(MAIN_NUMBER, name="mobile_number"))
        self.assertDevices(resp, self.d.callable)

    def test_unknown_number_is_empty_array(self):
        resp = self.get(STACK.main.http, number_query(UNKNOWN_NUMBER))
        self.assertDevices(resp, [])
        self.assertEqual(resp.body.strip(), b"[]")

    def test_inactive_patient_has_no_callable_device(self):
        self.assertDevices(
            self.get(STACK.main.http, number_query(INACTIVE_NUMBER)), [])

    def test_devices_without_tokens_are_not_callable(self):
        self.assertDevices(
            self.get(STACK.main.http, number_query(NO_TOKENS_NUMBER)), [])

    def test_bad_numbers_are_400_naming_mobile_number(self):
        for number in ["07777123456", "+44 7777 123456", "447777123456",
                       "+44(0)7777123456", "+447777123456x", "+", "0",
                       "+4477771234567890123", "+00447777123456",
                       "\u0661\u0662\u0663"]:
            with self.subTest(number=number):
                self.assertErrorAnswer(
                    self.get(STACK.main.http, number_query(number)), 400,
                    mentions="mobileNumber")

    def test_missing_or_empty_number_is_400(self):
        for target in ["/v1/callable-devices",
                       "/v1/callable-devices?mobileNumber=",
                       "/v1/callable-devices?other=%2B447777123456"]:
            with self.subTest(target=target):
                self.assertErrorAnswer(self.get(STACK.main.http, target), 400,
                                       mentions="mobileNumber")

    def test_two_different_numbers_are_400_not_a_guess(self):
        # Picking one would answer for a number the proxy may not have meant
        # (and a wrong [] sends the call to PSTN).
        a = urllib.parse.quote(MAIN_NUMBER, safe="")
        b = urllib.parse.quote(INACTIVE_NUMBER, safe="")
        for query in ["mobileNumber=%s&mobileNumber=%s" % (a, b),
                      "mobileNumber=%s&mobileNumber=%s" % (b, a),
                      "mobileNumber=%s&mobile_number=%s" % (a, b)]:
            with self.subTest(query=query):
                self.assertErrorAnswer(
                    self.get(STACK.main.http,
                             "/v1/callable-devices?" + query), 400,
                    mentions="mobileNumber")

    def test_unknown_query_parameters_are_ignored(self):
        resp = self.get(STACK.main.http,
                        number_query(MAIN_NUMBER) + "&source=kamailio")
        self.assertDevices(resp, self.d.callable)


class InProcessCallTest(GatewayTestCase):
    """POST /v1/call."""

    def test_ios_call_is_202_with_a_voip_push(self):
        call_id = fresh_call_id("ios")
        resp = self.call(STACK.main.http, self.d.ios, call_id, "Dr. Who")
        self.assertEmptyAnswer(resp, 202)
        push, payload = self.assertOnePush(self.d.ios_voip, call_id)
        self.assertEqual(push["provider"], "apns")
        self.assertEqual(push["headers"]["apns-push-type"], "voip")
        self.assertEqual(push["headers"]["apns-topic"],
                         harness.BUNDLE_ID + ".voip")
        self.assertEqual(push["headers"]["apns-priority"], "10")
        self.assertEqual(payload["type"], "call")
        self.assertEqual(payload["deviceId"], self.d.ios)
        self.assertEqual(payload["callerName"], "Dr. Who")
        self.assertNoPush(self.d.ios_push)

    def test_android_call_is_202_with_a_high_priority_data_message(self):
        call_id = fresh_call_id("android")
        resp = self.call(STACK.main.http, self.d.android, call_id, "Ward 7")
        self.assertEmptyAnswer(resp, 202)
        push, payload = self.assertOnePush(self.d.android_token, call_id)
        self.assertEqual(push["provider"], "fcm")
        self.assertEqual(push["payload"]["message"]["android"]["priority"],
                         "HIGH")
        self.assertEqual(payload["type"], "call")
        self.assertEqual(payload["deviceId"], self.d.android)
        self.assertEqual(payload["callerName"], "Ward 7")

    def test_uppercase_device_id_is_the_same_device(self):
        call_id = fresh_call_id("upper")
        self.assertEmptyAnswer(
            self.call(STACK.main.http, self.d.ios.upper(), call_id), 202)
        _, payload = self.assertOnePush(self.d.ios_voip, call_id)
        self.assertEqual(payload["deviceId"], self.d.ios)

    def test_empty_caller_name_still_rings(self):
        call_id = fresh_call_id("anon")
        self.assertEmptyAnswer(
            self.call(STACK.main.http, self.d.ios, call_id, ""), 202)
        _, payload = self.assertOnePush(self.d.ios_voip, call_id)
        self.assertEqual(payload["callerName"], "")

    def test_utf8_caller_names_in_any_script(self):
        names = ["José Müller-Łukasiewicz", "李小龍", "Зоя Иванова",
                 "محمد الأحمد", "דוד כהן", "Ελένη", "प्रिया शर्मा",
                 "김민준", "สมชาย", "👩‍⚕️ Dr Ada 🏥", "Zoë “Quotes” \\ /"]
        for name in names:
            with self.subTest(name=name):
                STACK.sandbox.clear()
                call_id = fresh_call_id("utf8")
                self.assertEmptyAnswer(
                    self.call(STACK.main.http, self.d.ios, call_id, name), 202)
                _, payload = self.assertOnePush(self.d.ios_voip, call_id)
                self.assertEqual(payload["callerName"], name)

    def test_form_encoded_body(self):
        call_id = fresh_call_id("form")
        resp = self.post(STACK.main.http, "/v1/call", {
            "deviceId": self.d.ios, "callId": call_id,
            "callerName": "Dr José Ñúñez +1", "source": "kamailio"},
            content_type="application/x-www-form-urlencoded")
        self.assertEmptyAnswer(resp, 202)
        _, payload = self.assertOnePush(self.d.ios_voip, call_id)
        self.assertEqual(payload["callerName"], "Dr José Ñúñez +1")

    def test_form_encoded_plus_is_a_space(self):
        call_id = fresh_call_id("formplus")
        body = "deviceId=%s&callId=%s&callerName=Dr+Ada+Lovelace" % (
            self.d.ios, urllib.parse.quote(call_id, safe=""))
        resp = self.post(STACK.main.http, "/v1/call", body,
                         content_type="application/x-www-form-urlencoded")
        self.assertEmptyAnswer(resp, 202)
        _, payload = self.assertOnePush(self.d.ios_voip, call_id)
        self.assertEqual(payload["callerName"], "Dr Ada Lovelace")

    def test_form_encoded_empty_caller_name(self):
        call_id = fresh_call_id("formanon")
        body = "deviceId=%s&callId=%s&callerName=" % (
            self.d.ios, urllib.parse.quote(call_id, safe=""))
        resp = self.post(STACK.main.http, "/v1/call", body,
                         content_type="application/x-www-form-urlencoded")
        self.assertEmptyAnswer(resp, 202)
        _, payload = self.assertOnePush(self.d.ios_voip, call_id)
        self.assertEqual(payload["callerName"], "")

    def test_json_with_charset_parameter(self):
        call_id = fresh_call_id("charset")
        resp = self.call(STACK.main.http, self.d.ios, call_id,
                         content_type="application/json; charset=utf-8")
        self.assertEmptyAnswer(resp, 202)
        self.assertOnePush(self.d.ios_voip, call_id)

    def test_unknown_fields_are_ignored(self):
        call_id = fresh_call_id("unknown")
        resp = self.post(STACK.main.http, "/v1/call", {
            "deviceId": self.d.ios, "callId": call_id, "callerName": "X",
            "sipFrom": "sip:+441234@example.com", "priority": 5,
            "nested": {"a": [1, 2, {"b": None}]}, "flag": True})
        self.assertEmptyAnswer(resp, 202)
        self.assertOnePush(self.d.ios_voip, call_id)

    def test_refusing_device_is_403(self):
        resp = self.call(STACK.main.http, self.d.refusing, fresh_call_id("no"))
        self.assertErrorAnswer(resp, 403, exact=REJECTED)
        self.assertNoPush(self.d.refusing_voip, self.d.refusing_push)

    def test_no_valid_device_is_404_with_empty_body(self):
        cases = {
            "unknown device": self.d.unknown,
            "inactive patient": self.d.inactive,
            "inactive patient (android)": self.d.inactive_android,
            "no VoIP push token": self.d.push_only,
            "no tokens at all": self.d.no_tokens_ios,
        }
        for why, device in cases.items():
            with self.subTest(why=why):
                self.assertEmptyAnswer(
                    self.call(STACK.main.http, device, fresh_call_id("404")),
                    404)
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_repeated_call_is_202_without_a_second_push(self):
        call_id = fresh_call_id("repeat")
        for _ in range(3):
            self.assertEmptyAnswer(
                self.call(STACK.main.http, self.d.ios, call_id), 202)
        self.assertOnePush(self.d.ios_voip, call_id)
        # The same call to another device is another push; so is another
        # call to the same device.
        self.assertEmptyAnswer(
            self.call(STACK.main.http, self.d.android, call_id), 202)
        self.assertOnePush(self.d.android_token, call_id)
        other = fresh_call_id("repeat2")
        self.assertEmptyAnswer(
            self.call(STACK.main.http, self.d.ios, other), 202)
        self.assertEqual(
            [p["payload"]["callId"]
             for p in STACK.sandbox.deliveries(self.d.ios_voip)],
            [call_id, other])

    def test_call_in_flight_is_409_then_202_without_a_second_push(self):
        first, second, device, token, call_id = call_while_in_flight(
            STACK.main.http)
        self.assertErrorAnswer(second, 409)
        self.assertEmptyAnswer(first, 202)
        self.assertEmptyAnswer(self.call(STACK.main.http, device, call_id,
                                         "A"), 202)
        self.assertOnePush(token, call_id)

    def test_dead_apns_token_is_404_and_the_device_is_no_longer_listed(self):
        number = fresh_number()
        seed = STACK.seeder
        patient = seed.patient(number)
        live, dead = hex_token(), hex_token()
        live_id = seed.device(patient, "ios", live, hex_token())
        dead_id = seed.device(patient, "ios", dead, hex_token())
        self.assertDevices(self.get(STACK.main.http, number_query(number)),
                           [live_id, dead_id])
        STACK.sandbox.put_rules([{"token": dead, "status": 410,
                                  "reason": "Unregistered"}])
        call_id = fresh_call_id("dead")
        self.assertEmptyAnswer(self.call(STACK.main.http, dead_id, call_id),
                               404)
        pushes = STACK.sandbox.deliveries(dead)
        self.assertEqual([p["status"] for p in pushes], [410])
        self.assertIsNone(seed.voip_token(dead_id))
        self.assertDevices(self.get(STACK.main.http, number_query(number)),
                           [live_id])
        # Asked again, it is simply not a valid device: no second push.
        self.assertEmptyAnswer(
            self.call(STACK.main.http, dead_id, fresh_call_id("dead2")), 404)
        self.assertEqual(len(STACK.sandbox.deliveries(dead)), 1)
        self.assertEmptyAnswer(self.call(STACK.main.http, live_id, call_id),
                               202)
        self.assertOnePush(live, call_id)

    def test_dead_fcm_token_is_404_and_the_device_is_no_longer_listed(self):
        number = fresh_number()
        seed = STACK.seeder
        patient = seed.patient(number)
        dead = "fcm-dead-" + uuid.uuid4().hex
        dead_id = seed.device(patient, "android", dead, dead)
        self.assertDevices(self.get(STACK.main.http, number_query(number)),
                           [dead_id])
        STACK.sandbox.put_rules([{"token": dead, "status": 404}])
        self.assertEmptyAnswer(
            self.call(STACK.main.http, dead_id, fresh_call_id("fcmdead")), 404)
        self.assertEqual(
            [p["status"] for p in STACK.sandbox.deliveries(dead)], [404])
        self.assertDevices(self.get(STACK.main.http, number_query(number)), [])


class InProcessUpdateCallTest(GatewayTestCase):
    """POST /v1/update-call."""

    def test_ios_update_is_202_with_a_background_push(self):
        call_id = fresh_call_id("upd")
        resp = self.update(STACK.main.http, self.d.ios, call_id, "Dr Müller")
        self.assertEmptyAnswer(resp, 202)
        push, payload = self.assertOnePush(self.d.ios_push, call_id)
        self.assertEqual(push["provider"], "apns")
        self.assertEqual(push["headers"]["apns-push-type"], "background")
        self.assertEqual(push["headers"]["apns-topic"], harness.BUNDLE_ID)
        self.assertEqual(payload["type"], "update")
        self.assertEqual(payload["callerName"], "Dr Müller")
        self.assertEqual(payload["deviceId"], self.d.ios)
        self.assertNoPush(self.d.ios_voip)

    def test_android_update_is_202_with_a_data_message(self):
        call_id = fresh_call_id("updandroid")
        self.assertEmptyAnswer(
            self.update(STACK.main.http, self.d.android, call_id), 202)
        push, payload = self.assertOnePush(self.d.android_token, call_id)
        self.assertEqual(push["provider"], "fcm")
        self.assertEqual(payload["type"], "update")

    def test_updates_are_not_deduplicated(self):
        call_id = fresh_call_id("updtwice")
        for _ in range(2):
            self.assertEmptyAnswer(
                self.update(STACK.main.http, self.d.ios, call_id), 202)
        self.assertEqual(len(STACK.sandbox.deliveries(self.d.ios_push)), 2)

    def test_a_device_refusing_new_calls_is_still_valid_for_updates(self):
        call_id = fresh_call_id("updrefusing")
        self.assertEmptyAnswer(
            self.update(STACK.main.http, self.d.refusing, call_id), 202)
        self.assertOnePush(self.d.refusing_push, call_id)

    def test_form_encoded_update(self):
        call_id = fresh_call_id("updform")
        resp = self.post(STACK.main.http, "/v1/update-call", {
            "deviceId": self.d.ios, "callId": call_id, "callerName": "Ναι"},
            content_type="application/x-www-form-urlencoded")
        self.assertEmptyAnswer(resp, 202)
        _, payload = self.assertOnePush(self.d.ios_push, call_id)
        self.assertEqual(payload["callerName"], "Ναι")

    def test_empty_caller_name_is_accepted(self):
        call_id = fresh_call_id("updanon")
        self.assertEmptyAnswer(
            self.update(STACK.main.http, self.d.ios, call_id, ""), 202)
        self.assertOnePush(self.d.ios_push, call_id)

    def test_no_valid_device_is_404_with_empty_body(self):
        for why, device in {"unknown": self.d.unknown,
                            "inactive patient": self.d.inactive,
                            "no push token (ios)": self.d.no_tokens_ios,
                            "no push token (android)":
                                self.d.no_tokens_android}.items():
            with self.subTest(why=why):
                self.assertEmptyAnswer(
                    self.update(STACK.main.http, device, fresh_call_id("u4")),
                    404)
        self.assertEqual(STACK.sandbox.deliveries(), [])


class InProcessCancelCallTest(GatewayTestCase):
    """POST /v1/cancel-call."""

    def test_cancelled_is_202_with_a_missed_call_alert(self):
        call_id = fresh_call_id("cancel")
        self.assertEmptyAnswer(
            self.cancel(STACK.main.http, self.d.ios, call_id, "cancelled"),
            202)
        push, payload = self.assertOnePush(self.d.ios_push, call_id)
        self.assertEqual(push["headers"]["apns-push-type"], "alert")
        self.assertEqual(push["headers"]["apns-collapse-id"], call_id)
        self.assertEqual(payload["type"], "cancel")
        self.assertEqual(payload["reason"], "cancelled")

    def test_answered_elsewhere_is_202_with_a_background_push(self):
        call_id = fresh_call_id("elsewhere")
        self.assertEmptyAnswer(
            self.cancel(STACK.main.http, self.d.ios, call_id,
                        "answered_elsewhere"), 202)
        push, payload = self.assertOnePush(self.d.ios_push, call_id)
        self.assertEqual(push["headers"]["apns-push-type"], "background")
        self.assertEqual(payload["reason"], "answered_elsewhere")

    def test_android_cancel(self):
        call_id = fresh_call_id("cancelandroid")
        self.assertEmptyAnswer(
            self.cancel(STACK.main.http, self.d.android, call_id,
                        "answered_elsewhere"), 202)
        push, payload = self.assertOnePush(self.d.android_token, call_id)
        self.assertEqual(push["provider"], "fcm")
        self.assertEqual(payload["type"], "cancel")
        self.assertEqual(payload["reason"], "answered_elsewhere")

    def test_form_encoded_cancel(self):
        call_id = fresh_call_id("cancelform")
        resp = self.post(STACK.main.http, "/v1/cancel-call", {
            "deviceId": self.d.ios, "callId": call_id,
            "reason": "answered_elsewhere"},
            content_type="application/x-www-form-urlencoded")
        self.assertEmptyAnswer(resp, 202)
        self.assertOnePush(self.d.ios_push, call_id)

    def test_unknown_or_missing_reason_is_400_naming_reason(self):
        for body in [{"reason": "hung_up"}, {"reason": "CANCELLED"},
                     {"reason": ""}, {}]:
            body = dict(body, deviceId=self.d.ios,
                        callId=fresh_call_id("reason"))
            with self.subTest(body=body):
                self.assertErrorAnswer(
                    self.post(STACK.main.http, "/v1/cancel-call", body), 400,
                    mentions="reason")
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_no_valid_device_is_404_with_empty_body(self):
        for why, device in {"unknown": self.d.unknown,
                            "inactive patient": self.d.inactive,
                            "no push token": self.d.no_tokens_android}.items():
            with self.subTest(why=why):
                self.assertEmptyAnswer(
                    self.cancel(STACK.main.http, device, fresh_call_id("c4")),
                    404)
        self.assertEqual(STACK.sandbox.deliveries(), [])


class InProcessBadRequestTest(GatewayTestCase):
    """400 {"error"} naming the parameter: malformed JSON, wrong types,
    bad UUIDs, bad call ids, missing fields."""

    POSTS = ["/v1/call", "/v1/update-call", "/v1/cancel-call"]

    def valid_body(self, path):
        body = {"deviceId": self.d.ios, "callId": fresh_call_id("bad")}
        if path == "/v1/cancel-call":
            body["reason"] = "cancelled"
        else:
            body["callerName"] = "X"
        return body

    def assertBad(self, path, body, mentions=None, **kw):
        self.assertErrorAnswer(self.post(STACK.main.http, path, body, **kw),
                               400, mentions=mentions)

    def tearDown(self):
        # Nothing that was refused may have reached a provider.
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_body_that_is_not_json(self):
        for path in self.POSTS:
            for raw in [b'{"deviceId": "', b"deviceId=abc", b"not json",
                        b"{'deviceId': 'x'}", b'{"deviceId": "x",}',
                        b"\xff\xfe{}", b'{"a":1}{"b":2}']:
                with self.subTest(path=path, raw=raw):
                    self.assertBad(path, raw)

    def test_json_that_is_not_an_object(self):
        for path in self.POSTS:
            for raw in [b"[]", b'"text"', b"42", b"true", b"null",
                        json.dumps([self.valid_body(path)]).encode()]:
                with self.subTest(path=path, raw=raw):
                    self.assertBad(path, raw)

    def test_wrong_json_types_name_the_field(self):
        for path in self.POSTS:
            field3 = "reason" if path == "/v1/cancel-call" else "callerName"
            for field, value in [("deviceId", 5), ("deviceId", True),
                                 ("deviceId", ["x"]), ("callId", 12345),
                                 ("callId", {"id": "x"}), (field3, 7),
                                 (field3, ["a"])]:
                body = dict(self.valid_body(path), **{field: value})
                with self.subTest(path=path, field=field, value=value):
                    self.assertBad(path, body, mentions=field)

    def test_bad_device_ids(self):
        good = self.d.ios
        for path in self.POSTS:
            for device in ["", "not-a-uuid", good.replace("-", ""),
                           "{%s}" % good, good + "0", good[:-1],
                           good.replace("-", "_"), "urn:uuid:" + good,
                           " " + good, good[:-1] + "g", "12345"]:
                body = dict(self.valid_body(path), deviceId=device)
                with self.subTest(path=path, device=device):
                    self.assertBad(path, body, mentions="deviceId")

    def test_missing_fields(self):
        for path in self.POSTS:
            third = "reason" if path == "/v1/cancel-call" else "callerName"
            for field in ["deviceId", "callId", third]:
                body = self.valid_body(path)
                del body[field]
                with self.subTest(path=path, missing=field):
                    self.assertBad(path, body, mentions=field)

    def test_null_is_missing(self):
        for path in self.POSTS:
            body = dict(self.valid_body(path), deviceId=None)
            with self.subTest(path=path):
                self.assertBad(path, body, mentions="deviceId")

    def test_bad_call_ids(self):
        for path in self.POSTS:
            for call_id in ["", "a" * 513, "line\nbreak", "nul\x00"]:
                body = dict(self.valid_body(path), callId=call_id)
                with self.subTest(path=path, call_id=call_id[:20]):
                    self.assertBad(path, body, mentions="callId")

    def test_caller_name_too_long_or_with_control_characters(self):
        for path in ["/v1/call", "/v1/update-call"]:
            for name in ["x" * 513, "é" * 257, "bell\x07", "tab\tname"]:
                body = dict(self.valid_body(path), callerName=name)
                with self.subTest(path=path, name=name[:20]):
                    self.assertBad(path, body, mentions="callerName")

    def test_empty_body_reads_as_empty_object(self):
        for path in self.POSTS:
            for content_type in ["application/json", None]:
                with self.subTest(path=path, content_type=content_type):
                    self.assertBad(path, b"", mentions="deviceId",
                                   content_type=content_type)

    def test_invalid_utf8_in_a_string(self):
        for path in self.POSTS:
            raw = ('{"deviceId":"%s","callId":"c-\xff","callerName":"x",'
                   '"reason":"cancelled"}' % self.d.ios).encode("latin-1")
            with self.subTest(path=path):
                self.assertBad(path, raw)

    def test_bad_form_bodies(self):
        for path in self.POSTS:
            body = "deviceId=%s&callId=%%zz&callerName=x&reason=cancelled" % (
                self.d.ios)
            with self.subTest(path=path):
                self.assertBad(path, body,
                               content_type="application/x-www-form-urlencoded")
            body = "deviceId=not-a-uuid&callId=c&callerName=x&reason=cancelled"
            with self.subTest(path=path, form="bad uuid"):
                self.assertBad(path, body, mentions="deviceId",
                               content_type="application/x-www-form-urlencoded")


class InProcessHttpTest(GatewayTestCase):
    """The HTTP extensions: unknown paths, methods, media types, sizes,
    keep-alive, request ids."""

    def test_unknown_paths_are_404_with_an_error(self):
        for method, target in [("GET", "/"), ("GET", "/v1"),
                               ("GET", "/v1/devices"), ("POST", "/v1/calls"),
                               ("POST", "/v1/call/extra"),
                               ("GET", "/v2/callable-devices"),
                               ("GET", "/V1/CALLABLE-DEVICES"),
                               ("POST", "/v1/cancel_call"),
                               ("GET", "/callpush.v1.CallService/Call")]:
            with self.subTest(method=method, target=target):
                body = {} if method == "POST" else None
                self.assertErrorAnswer(
                    self.http(STACK.main.http, method, target, body), 404)

    def test_wrong_methods_are_405_with_allow(self):
        cases = [("POST", "/v1/callable-devices", "GET"),
                 ("PUT", "/v1/callable-devices", "GET"),
                 ("DELETE", "/v1/callable-devices", "GET"),
                 ("GET", "/v1/call", "POST"), ("PUT", "/v1/call", "POST"),
                 ("DELETE", "/v1/call", "POST"),
                 ("PATCH", "/v1/update-call", "POST"),
                 ("GET", "/v1/cancel-call", "POST")]
        for method, path, allowed in cases:
            with self.subTest(method=method, path=path):
                body = {} if method in ("POST", "PUT", "PATCH") else None
                resp = self.http(STACK.main.http, method,
                                 path + ("?mobileNumber=%2B447777123456"
                                         if "callable" in path else ""), body)
                self.assertErrorAnswer(resp, 405)
                allow = {m.strip() for m in
                         (resp.header("allow") or "").split(",")}
                self.assertIn(allowed, allow, resp)
                self.assertNotIn(method, allow, resp)

    def test_unsupported_content_types_are_415(self):
        body = json.dumps({"deviceId": self.d.ios, "callId": "c",
                           "callerName": "x"})
        for content_type in ["text/plain", "application/xml",
                             "multipart/form-data; boundary=x",
                             "application/octet-stream", "text/json"]:
            for path in ["/v1/call", "/v1/update-call", "/v1/cancel-call"]:
                with self.subTest(content_type=content_type, path=path):
                    self.assertErrorAnswer(
                        self.post(STACK.main.http, path, body,
                                  content_type=content_type), 415)
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_media_type_is_case_insensitive(self):
        call_id = fresh_call_id("case")
        self.assertEmptyAnswer(
            self.call(STACK.main.http, self.d.ios, call_id,
                      content_type="Application/JSON; Charset=UTF-8"), 202)
        self.assertOnePush(self.d.ios_voip, call_id)

    def padded_body(self, size):
        # An unknown device: an accepted body answers 404 and pushes nothing.
        return padded_call_body(size, self.d.unknown)

    def test_body_limit_is_64_kib(self):
        self.assertEmptyAnswer(
            self.post(STACK.main.http, "/v1/call", self.padded_body(65536)),
            404)
        for size in [65537, 70 * 1024, 1024 * 1024]:
            with self.subTest(size=size):
                self.assertErrorAnswer(
                    self.post(STACK.main.http, "/v1/call",
                              self.padded_body(size)), 413)

    def test_huge_content_length_is_413_before_the_body_arrives(self):
        host, port = harness.split_address(STACK.main.http)
        with socket.create_connection((host, port), timeout=4) as s:
            s.sendall(b"POST /v1/call HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n"
                      b"Content-Length: 104857600\r\n\r\n{")
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                pass
        self.assertTrue(data.startswith(b"HTTP/1.1 413 "), data)

    def test_chunked_body_over_the_limit_is_413(self):
        host, port = harness.split_address(STACK.main.http)
        conn = http.client.HTTPConnection(host, port, timeout=15)
        try:
            chunks = iter([b'{"deviceId":"' + self.d.unknown.encode() +
                           b'","callId":"c","callerName":"",'
                           b'"padding":"'] + [b"p" * 8192] * 10 + [b'"}'])
            conn.request("POST", "/v1/call", body=chunks,
                         headers={"Content-Type": "application/json"},
                         encode_chunked=True)
            resp = conn.getresponse()
            self.assertEqual(resp.status, 413)
            self.assertEqual(list(json.loads(resp.read()).keys()), ["error"])
        finally:
            conn.close()

    def test_chunked_body_within_the_limit_is_accepted(self):
        host, port = harness.split_address(STACK.main.http)
        call_id = fresh_call_id("chunked")
        body = json.dumps({"deviceId": self.d.ios, "callId": call_id,
                           "callerName": "Chunky"}).encode()
        conn = http.client.HTTPConnection(host, port, timeout=15)
        try:
            conn.request("POST", "/v1/call",
                         body=iter([body[:10], body[10:]]),
                         headers={"Content-Type": "application/json"},
                         encode_chunked=True)
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (202, b""))
        finally:
            conn.close()
        self.assertOnePush(self.d.ios_voip, call_id)

    def test_oversized_headers_are_431(self):
        for headers in [{"X-Big": "a" * 9000},
                        {"X-H%d" % i: "v" * 100 for i in range(100)}]:
            with self.subTest(count=len(headers)):
                resp = request(STACK.main.http, "GET",
                               number_query(MAIN_NUMBER), headers=headers)
                self.assertErrorAnswer(resp, 431)

    def test_headers_within_the_limit_are_fine(self):
        resp = self.get(STACK.main.http, number_query(MAIN_NUMBER),
                        headers={"X-Big": "a" * 4000})
        self.assertDevices(resp, self.d.callable)

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        host, port = harness.split_address(STACK.main.http)
        conn = http.client.HTTPConnection(host, port, timeout=15)
        call_id = fresh_call_id("keepalive")
        try:
            steps = [
                ("GET", number_query(MAIN_NUMBER), None, 200),
                ("POST", "/v1/call", {"deviceId": self.d.ios,
                                      "callId": call_id,
                                      "callerName": "K"}, 202),
                ("POST", "/v1/call", {"deviceId": self.d.unknown,
                                      "callId": call_id,
                                      "callerName": "K"}, 404),
                ("POST", "/v1/call", {"deviceId": self.d.refusing,
                                      "callId": call_id,
                                      "callerName": "K"}, 403),
                ("GET", number_query("07777123456"), None, 400),
                ("POST", "/v1/call", b"{", 400),
                ("GET", "/nowhere", None, 404),
                ("GET", "/v1/call", None, 405),
                ("POST", "/v1/update-call", {"deviceId": self.d.ios,
                                             "callId": call_id,
                                             "callerName": "K"}, 202),
                ("GET", number_query(MAIN_NUMBER), None, 200),
            ]
            local = None
            for method, target, body, status in steps:
                resp = self.http(None, method, target, body, conn=conn)
                self.assertEqual(resp.status, status, (method, target, resp))
                self.assertIsNotNone(conn.sock, "closed after %s %s" % (
                    method, target))
                if local is None:
                    local = conn.sock.getsockname()
                self.assertEqual(conn.sock.getsockname(), local)
        finally:
            conn.close()
        self.assertOnePush(self.d.ios_voip, call_id)
        self.assertOnePush(self.d.ios_push, call_id)

    def test_pipelined_requests_are_answered_in_order(self):
        q = number_query(MAIN_NUMBER).encode()
        data = (b"GET " + q + b" HTTP/1.1\r\nHost: x\r\n"
                b"x-request-id: p1\r\n\r\n"
                b"GET /v1/callable-devices?mobileNumber=0 HTTP/1.1\r\n"
                b"Host: x\r\nx-request-id: p2\r\n\r\n"
                b"GET /nowhere HTTP/1.1\r\nHost: x\r\nx-request-id: p3\r\n"
                b"Connection: close\r\n\r\n")
        raw, closed = harness.raw_exchange(STACK.main.http, data)
        self.assertTrue(closed, "Connection: close was not honoured")
        answers = harness.parse_responses(raw)
        self.assertEqual([(s, h.get("x-request-id")) for s, h, _ in answers],
                         [(200, "p1"), (400, "p2"), (404, "p3")])
        self.assertEqual(sorted(d["id"] for d in json.loads(answers[0][2])),
                         self.d.callable)

    def test_request_id_is_echoed(self):
        rid = "e2e-" + uuid.uuid4().hex
        for method, target, body in [
                ("GET", number_query(MAIN_NUMBER), None),
                ("GET", "/nowhere", None),
                ("POST", "/v1/call", b"{"),
                ("POST", "/v1/call", {"deviceId": self.d.unknown,
                                      "callId": "r", "callerName": ""}),
                ("GET", "/healthz", None)]:
            with self.subTest(method=method, target=target):
                resp = self.http(STACK.main.http, method, target, body,
                                 headers={"X-Request-Id": rid})
                self.assertEqual(resp.header("x-request-id"), rid, resp)

    def test_request_id_is_generated_when_absent(self):
        ids = set()
        for _ in range(5):
            resp = self.get(STACK.main.http, number_query(MAIN_NUMBER))
            ids.add(resp.header("x-request-id"))
        self.assertEqual(len(ids), 5, ids)
        resp = self.post(STACK.main.http, "/v1/call", b"{")
        self.assertNotIn(resp.header("x-request-id"), ids)


class InProcessDependencyFailureTest(GatewayTestCase):
    """503 and 504: a dependency that cannot answer is never 404 or []."""

    def test_provider_503_or_500_is_503(self):
        for status in [503, 500]:
            with self.subTest(provider_status=status):
                device, voip, push = new_ios_device()
                STACK.sandbox.put_rules([{"token": voip, "status": status},
                                         {"token": push, "status": status}])
                call_id = fresh_call_id("p%d" % status)
                started = time.monotonic()
                self.assertErrorAnswer(
                    self.call(STACK.main.http, device, call_id), 503)
                self.assertLess(time.monotonic() - started, 3.0)
                self.assertErrorAnswer(
                    self.update(STACK.main.http, device, call_id), 503)
                self.assertErrorAnswer(
                    self.cancel(STACK.main.http, device, call_id), 503)
                pushes = STACK.sandbox.deliveries(voip)
                # The first send, plus at most one fast resend of a 5xx
                # within the deadline (DESIGN section 5).
                self.assertIn(len(pushes), (1, 2))
                self.assertEqual({p["status"] for p in pushes}, {status})
                # A failed push is not remembered as a ringing phone: once
                # the provider recovers, the same call pushes again.
                STACK.sandbox.put_rules([])
                self.assertEmptyAnswer(
                    self.call(STACK.main.http, device, call_id), 202)
                self.assertEqual(STACK.sandbox.deliveries(voip)[-1]["status"],
                                 200)

    def test_provider_too_slow_is_504(self):
        device, voip, push = new_ios_device()
        STACK.sandbox.put_rules([{"token": voip, "delay_ms": 4000},
                                 {"token": push, "delay_ms": 4000}])
        for name, send in [("call", self.call), ("update", self.update),
                           ("cancel", self.cancel)]:
            with self.subTest(op=name):
                started = time.monotonic()
                self.assertErrorAnswer(
                    send(STACK.main.http, device, fresh_call_id("slow")), 504)
                elapsed = time.monotonic() - started
                self.assertGreater(elapsed, 1.5)
                self.assertLess(elapsed, 3.5)

    def test_database_too_slow_is_504(self):
        # Another session holds the tables: the lookup cannot finish before
        # the deadline.
        with harness.tables_locked(STACK.db.url):
            started = time.monotonic()
            self.assertErrorAnswer(
                self.get(STACK.main.http, number_query(fresh_number())), 504)
            self.assertLess(time.monotonic() - started, 3.5)
        self.assertDevices(self.get(STACK.main.http,
                                    number_query(MAIN_NUMBER)),
                           self.d.callable)

    def test_database_unreachable_is_503_fast(self):
        server = STACK.nodb
        cases = [
            ("GET", number_query(MAIN_NUMBER), None),
            ("GET", number_query(UNKNOWN_NUMBER), None),
            ("POST", "/v1/call", {"deviceId": self.d.ios, "callId": "db",
                                  "callerName": "x"}),
            ("POST", "/v1/update-call", {"deviceId": self.d.ios,
                                         "callId": "db", "callerName": "x"}),
            ("POST", "/v1/cancel-call", {"deviceId": self.d.unknown,
                                         "callId": "db",
                                         "reason": "cancelled"}),
        ]
        for method, target, body in cases:
            with self.subTest(method=method, target=target):
                started = time.monotonic()
                self.assertErrorAnswer(
                    self.http(server.http, method, target, body), 503)
                self.assertLess(time.monotonic() - started, 2.5)
        # Validation still comes first.
        self.assertErrorAnswer(self.get(server.http, number_query("0")), 400,
                               mentions="mobileNumber")
        self.assertEqual(self.get(server.http, "/healthz").status, 200)
        self.assertEqual(self.get(server.http, "/readyz").status, 503)
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_no_push_credentials_is_503_and_not_ready(self):
        server = STACK.nopush
        self.assertErrorAnswer(
            self.call(server.http, self.d.ios, fresh_call_id("nopush")), 503)
        # The database answers, so listing works.
        self.assertDevices(self.get(server.http, number_query(MAIN_NUMBER)),
                           self.d.callable)
        self.assertEqual(self.get(server.http, "/healthz").status, 200)
        self.assertEqual(self.get(server.http, "/readyz").status, 503)


class InProcessAuthTest(GatewayTestCase):
    """401 {"error"} without a valid bearer token when auth is on."""

    def test_missing_or_wrong_token_is_401(self):
        good = harness.Stack.AUTH_TOKENS[0]
        for auth in [None, "", "Bearer", "Bearer ", "Bearer wrong",
                     "Bearer " + good + "x", "Bearer " + good[:-1],
                     "Basic YWxwaGEtdG9rZW4tMTo=", good, "Token " + good]:
            with self.subTest(authorization=auth):
                headers = {} if auth is None else {"Authorization": auth}
                resp = self.get(STACK.auth.http, number_query(MAIN_NUMBER),
                                headers=headers)
                self.assertErrorAnswer(resp, 401)
                self.assertTrue((resp.header("www-authenticate") or "")
                                .lower().startswith("bearer"), resp)

    def test_every_listed_token_is_accepted(self):
        for token in harness.Stack.AUTH_TOKENS:
            for scheme in ["Bearer", "bearer"]:
                with self.subTest(token=token, scheme=scheme):
                    resp = self.get(
                        STACK.auth.http, number_query(MAIN_NUMBER),
                        headers={"Authorization": scheme + " " + token})
                    self.assertDevices(resp, self.d.callable)

    def test_posts_need_the_token_and_nothing_is_pushed_without_it(self):
        call_id = fresh_call_id("auth")
        for path in ["/v1/call", "/v1/update-call", "/v1/cancel-call"]:
            with self.subTest(path=path):
                self.assertErrorAnswer(
                    self.post(STACK.auth.http, path, {
                        "deviceId": self.d.ios, "callId": call_id,
                        "callerName": "x", "reason": "cancelled"},
                        headers={"Authorization": "Bearer nope"}), 401)
        self.assertEqual(STACK.sandbox.deliveries(), [])
        good = {"Authorization": "Bearer " + harness.Stack.AUTH_TOKENS[1]}
        self.assertEmptyAnswer(
            self.call(STACK.auth.http, self.d.ios, call_id, headers=good), 202)
        self.assertOnePush(self.d.ios_voip, call_id)

    def test_unknown_paths_and_bad_bodies_need_the_token_too(self):
        self.assertErrorAnswer(self.get(STACK.auth.http, "/nowhere"), 401)
        self.assertErrorAnswer(
            self.post(STACK.auth.http, "/v1/call", b"{"), 401)

    def test_probes_need_no_token(self):
        self.assertEqual(self.get(STACK.auth.http, "/healthz").status, 200)
        self.assertEqual(self.get(STACK.auth.http, "/readyz").status, 200)


class InProcessLimitsTest(GatewayTestCase):
    """Header and read timeouts (slow clients) and the connection cap, on a
    server started with 1 s timeouts and 3 connections."""

    TIMEOUT = harness.Stack.LIMIT_TIMEOUT_S

    def await_close(self, sock, started, trickle=None, limit=8.0):
        """Reads (sending `trickle` bytes one at a time, every 0.2 s, if
        given) until the peer closes; the bytes read and the seconds since
        `started`."""
        received = b""
        pending = list(trickle or b"")
        while time.monotonic() - started < limit:
            readable, _, _ = select.select([sock], [], [], 0.2)
            if readable:
                try:
                    chunk = sock.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                if not chunk:
                    return received, time.monotonic() - started
                received += chunk
            elif pending:
                try:
                    sock.send(bytes([pending.pop(0)]))
                except (BrokenPipeError, ConnectionResetError):
                    return received, time.monotonic() - started
        self.fail("connection still open after %.1fs (read %r)" % (
            limit, received))

    def assertCutOff(self, received, elapsed):
        # Disconnected without an answer, once the timeout has passed.
        self.assertEqual(received, b"")
        self.assertGreaterEqual(elapsed, self.TIMEOUT * 0.8)
        self.assertLess(elapsed, self.TIMEOUT + 2.0)

    def connect(self):
        host, port = harness.split_address(STACK.limits.http)
        sock = socket.create_connection((host, port), timeout=10)
        return sock

    def test_requests_within_the_limits_are_served(self):
        self.assertDevices(self.get(STACK.limits.http,
                                    number_query(MAIN_NUMBER)),
                           self.d.callable)

    def test_body_limit_flag(self):
        limit = harness.Stack.LIMIT_BODY_BYTES
        self.assertEmptyAnswer(
            self.post(STACK.limits.http, "/v1/call",
                      padded_call_body(limit, self.d.unknown)), 404)
        self.assertErrorAnswer(
            self.post(STACK.limits.http, "/v1/call",
                      padded_call_body(limit + 1, self.d.unknown)), 413)

    def test_header_limit_flag(self):
        limit = harness.Stack.LIMIT_HEADER_BYTES
        self.assertDevices(
            self.get(STACK.limits.http, number_query(MAIN_NUMBER),
                     headers={"X-Pad": "p" * (limit // 2)}), self.d.callable)
        for headers in [{"X-Pad": "p" * (limit + 100)},
                        {"X-Pad-%d" % i: "p" * 90 for i in range(
                            limit // 90 + 5)}]:
            with self.subTest(fields=len(headers)):
                self.assertErrorAnswer(
                    self.get(STACK.limits.http, number_query(MAIN_NUMBER),
                             headers=headers), 431)

    def test_deadline_flag(self):
        device, voip, _ = new_ios_device()
        STACK.sandbox.put_rules([{"token": voip, "delay_ms": 3000}])
        started = time.monotonic()
        self.assertErrorAnswer(
            self.call(STACK.limits.http, device, fresh_call_id("deadline")),
            504)
        elapsed = time.monotonic() - started
        self.assertGreater(elapsed, harness.Stack.LIMIT_DEADLINE_S * 0.8)
        self.assertLess(elapsed, harness.Stack.LIMIT_DEADLINE_S + 1.0)

    def test_half_sent_headers_are_cut_off_after_the_header_timeout(self):
        with self.connect() as sock:
            started = time.monotonic()
            sock.sendall(b"GET " + number_query(MAIN_NUMBER).encode() +
                         b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slo")
            received, elapsed = self.await_close(sock, started)
        self.assertCutOff(received, elapsed)

    def test_trickled_headers_are_cut_off_after_the_header_timeout(self):
        # Slowloris: a byte every 0.2 s keeps the socket busy but the headers
        # never complete in time.
        head = (b"GET " + number_query(MAIN_NUMBER).encode() +
                b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " +
                b"z" * 200 + b"\r\n\r\n")
        with self.connect() as sock:
            started = time.monotonic()
            sock.sendall(head[:10])
            received, elapsed = self.await_close(sock, started,
                                                 trickle=head[10:])
        self.assertCutOff(received, elapsed)

    def test_a_stalled_body_is_cut_off_after_the_read_timeout(self):
        with self.connect() as sock:
            sock.sendall(b"POST /v1/call HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: 200\r\n\r\n{\"deviceId\":")
            started = time.monotonic()
            received, elapsed = self.await_close(sock, started)
        self.assertCutOff(received, elapsed)
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_connections_beyond_the_cap_are_503_and_closed(self):
        held = [self.connect() for _ in
                range(harness.Stack.LIMIT_MAX_CONNECTIONS)]
        try:
            # Each held connection is accepted and served (and kept open).
            for sock in held:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertTrue(sock.recv(65536).startswith(
                    b"HTTP/1.1 200 "))
            with self.connect() as extra:
                started = time.monotonic()
                received, _ = self.await_close(extra, started, limit=5)
            answers = harness.parse_responses(received)
            self.assertEqual(len(answers), 1, received)
            status, headers, body = answers[0]
            self.assertEqual(status, 503, received)
            self.assertEqual(list(json.loads(body)), ["error"])
            self.assertTrue(headers.get("x-request-id"), received)
        finally:
            for sock in held:
                sock.close()
        # With the held ones gone, new connections are served again.
        harness.await_status(STACK.limits.http, "/healthz", 200, timeout=5)


class InProcessOperationsTest(GatewayTestCase):
    """/healthz, /readyz, /metrics."""

    def test_health_and_readiness(self):
        resp = self.get(STACK.main.http, "/healthz")
        self.assertEqual(resp.status, 200, resp)
        resp = self.get(STACK.main.http, "/readyz")
        self.assertEqual(resp.status, 200, resp)

    SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')
    LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')

    def metrics(self):
        resp = self.get(STACK.main.http, "/metrics")
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("content-type").startswith("text/plain"),
                        resp)
        samples = []
        for line in resp.body.decode("utf-8").splitlines():
            if not line or line.startswith("#"):
                continue
            m = self.SAMPLE.match(line)
            self.assertIsNotNone(m, "bad metrics line: %r" % line)
            labels = dict(self.LABEL.findall(m.group(2) or ""))
            samples.append((m.group(1), labels, float(m.group(3))))
        return samples, resp.body.decode("utf-8")

    @staticmethod
    def total(samples, name, **labels):
        return sum(v for n, l, v in samples if n == name and all(
            (want(l.get(k, "")) if callable(want) else l.get(k) == want)
            for k, want in labels.items()))

    def test_metrics_count_requests_by_route_and_status(self):
        def callable_route(route):
            return "callable-devices" in route

        def counts(samples):
            return (
                self.total(samples, "callpush_http_requests_total",
                           route=callable_route, status="200"),
                self.total(samples, "callpush_http_requests_total",
                           route=callable_route, status="400"),
                self.total(samples,
                           "callpush_http_request_duration_seconds_count",
                           route=callable_route))

        before, text = self.metrics()
        self.assertIn("# TYPE callpush_http_requests_total counter", text)
        self.assertIn("# TYPE callpush_http_request_duration_seconds "
                      "histogram", text)
        start = counts(before)
        for _ in range(2):
            self.get(STACK.main.http, number_query(MAIN_NUMBER))
        self.get(STACK.main.http, number_query("0"))
        want = (start[0] + 2, start[1] + 1, start[2] + 3)
        deadline = time.monotonic() + 5
        while True:  # recorded once the answer is written: await it
            after, _ = self.metrics()
            if counts(after) == want or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(counts(after), want)
        buckets = [(l["le"], v) for n, l, v in after
                   if n == "callpush_http_request_duration_seconds_bucket"
                   and callable_route(l.get("route", ""))
                   and l.get("status", "200") == "200"]
        self.assertIn("+Inf", [le for le, _ in buckets])
        for name, labels, _ in after:
            if name == "callpush_http_requests_total":
                self.assertEqual(set(labels) >= {"route", "status"}, True,
                                 labels)


# ======================================================================
# The separate callpush-gateway process: a representative set.
# ======================================================================


class SeparateGatewayTest(GatewayTestCase):

    def test_lists_callable_devices(self):
        self.assertDevices(
            self.get(STACK.gateway.http, number_query(MAIN_NUMBER)),
            self.d.callable)
        self.assertDevices(
            self.get(STACK.gateway.http, number_query(UNKNOWN_NUMBER)), [])

    def test_call_is_202_with_the_push_delivered(self):
        call_id = fresh_call_id("sep")
        self.assertEmptyAnswer(
            self.call(STACK.gateway.http, self.d.android, call_id, "Ärztin"),
            202)
        push, payload = self.assertOnePush(self.d.android_token, call_id)
        self.assertEqual(push["provider"], "fcm")
        self.assertEqual(payload["callerName"], "Ärztin")
        self.assertEqual(payload["type"], "call")
        call_id = fresh_call_id("sepform")
        self.assertEmptyAnswer(self.post(
            STACK.gateway.http, "/v1/cancel-call",
            {"deviceId": self.d.ios, "callId": call_id,
             "reason": "answered_elsewhere"},
            content_type="application/x-www-form-urlencoded"), 202)
        self.assertOnePush(self.d.ios_push, call_id)

    def test_errors(self):
        self.assertEmptyAnswer(
            self.call(STACK.gateway.http, self.d.unknown, fresh_call_id("s")),
            404)
        self.assertErrorAnswer(
            self.call(STACK.gateway.http, self.d.refusing, fresh_call_id("s")),
            403, exact=REJECTED)
        self.assertErrorAnswer(
            self.call(STACK.gateway.http, "nope", fresh_call_id("s")), 400,
            mentions="deviceId")
        self.assertErrorAnswer(
            self.get(STACK.gateway.http, number_query("07777123456")), 400,
            mentions="mobileNumber")
        self.assertErrorAnswer(self.get(STACK.gateway.http, "/nowhere"), 404)
        self.assertErrorAnswer(self.get(STACK.gateway.http, "/v1/call"), 405)
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_keep_alive_and_request_ids(self):
        host, port = harness.split_address(STACK.gateway.http)
        conn = http.client.HTTPConnection(host, port, timeout=15)
        try:
            local = None
            for i in range(5):
                resp = self.http(None, "GET", number_query(MAIN_NUMBER),
                                 conn=conn, headers={"x-request-id": "s%d" % i})
                self.assertDevices(resp, self.d.callable)
                self.assertEqual(resp.header("x-request-id"), "s%d" % i)
                if local is None:
                    local = conn.sock.getsockname()
                self.assertEqual(conn.sock.getsockname(), local)
        finally:
            conn.close()

    def test_auth(self):
        gw = STACK.gateway_auth
        for auth in [None, "Bearer wrong"]:
            with self.subTest(authorization=auth):
                headers = {} if auth is None else {"Authorization": auth}
                self.assertErrorAnswer(
                    self.get(gw.http, number_query(MAIN_NUMBER),
                             headers=headers), 401)
                self.assertErrorAnswer(
                    self.call(gw.http, self.d.ios, fresh_call_id("sa"),
                              headers=headers), 401)
        self.assertEqual(STACK.sandbox.deliveries(), [])
        good = {"Authorization": "Bearer " + harness.Stack.AUTH_TOKENS[0]}
        self.assertDevices(
            self.get(gw.http, number_query(MAIN_NUMBER), headers=good),
            self.d.callable)

    def test_backend_down_is_503(self):
        gw = STACK.gateway_dead
        started = time.monotonic()
        self.assertErrorAnswer(
            self.get(gw.http, number_query(MAIN_NUMBER)), 503)
        self.assertErrorAnswer(
            self.call(gw.http, self.d.ios, fresh_call_id("down")), 503)
        self.assertLess(time.monotonic() - started, 5.0)
        self.assertEqual(self.get(gw.http, "/healthz").status, 200)
        self.assertEqual(self.get(gw.http, "/readyz").status, 503)

    def test_refuses_to_listen_beyond_loopback_without_auth(self):
        proc = harness.Process(
            [harness.GATEWAY, "--grpc_target=" + harness.DEAD_ADDRESS,
             "--http_address=0.0.0.0:0"],
            os.path.join(STACK.workdir.path, "gateway-public.log"))
        try:
            code = proc.wait_exit(15)
        finally:
            proc.stop()
        self.assertIsNotNone(code, "callpush-gateway kept running")
        self.assertNotEqual(code, 0)
        self.assertNotIn("listening", proc.output())


def _check_class_names():
    for name, value in list(globals().items()):
        if (isinstance(value, type) and issubclass(value, unittest.TestCase)
                and name.endswith("Test")):
            assert name.startswith(("InProcess", "SeparateGateway")), name


_check_class_names()


def main():
    program = unittest.main(exit=False, verbosity=2)
    ok = program.result.wasSuccessful()
    harness.close_and_exit(STACK, ok)


if __name__ == "__main__":
    main()
