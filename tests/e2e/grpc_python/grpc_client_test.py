#!/usr/bin/env python3
"""End-to-end test of the gRPC API (DESIGN.md section 3) as an internal
caller sees it: Debian's python3-grpcio with stubs that protoc and
grpc_python_plugin generated from proto/ at build time
(tests/e2e/CMakeLists.txt writes them into the build directory and names it
in CALLPUSH_GRPC_PYTHON_DIR).

The processes are the gateway tests' (tests/e2e/gateway/harness.py):
callpush-server on a database of its own on ctest's `pg` Postgres, and
callpush-sandbox standing in for APNs and FCM. Every CallService and
DeviceService method is called, with its answer, the error statuses it gives
and, for Call, UpdateCall and CancelCall, the push the sandbox received.

Health (grpc.health.v1) and reflection (grpc.reflection.v1alpha, the only
version gRPC 1.51 serves) are spoken in raw protobuf bytes, as
tests/testing/grpc_probe.cc does: Debian packages neither
grpcio-health-checking nor grpcio-reflection.
"""

import datetime
import os
import sys
import time
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import harness  # noqa: E402

GEN_DIR = os.environ.get("CALLPUSH_GRPC_PYTHON_DIR", "")
if not os.path.isfile(os.path.join(GEN_DIR, "callpush", "v1",
                                   "call_service_pb2_grpc.py")):
    sys.exit("CALLPUSH_GRPC_PYTHON_DIR (%r) holds no generated stubs: "
             "build the e2e_grpc_python_stubs target and run through ctest"
             % GEN_DIR)
sys.path.insert(0, GEN_DIR)

import grpc  # noqa: E402
from google.protobuf import descriptor_pb2  # noqa: E402

from callpush.v1 import call_service_pb2 as calls_pb  # noqa: E402
from callpush.v1 import call_service_pb2_grpc as calls_grpc  # noqa: E402
from callpush.v1 import device_service_pb2 as devices_pb  # noqa: E402
from callpush.v1 import device_service_pb2_grpc as devices_grpc  # noqa: E402

STACK = harness.Stack()

RPC_TIMEOUT = 10.0  # seconds; every RPC here has a deadline
IOS = devices_pb.PLATFORM_IOS
ANDROID = devices_pb.PLATFORM_ANDROID
CALL_SERVICE = "callpush.v1.CallService"
DEVICE_SERVICE = "callpush.v1.DeviceService"
E164_ERROR = ("mobileNumber: must be a phone number in E.164 format, for "
              "example +447777123456")
UUID_ERROR = ("deviceId: must be a UUID such as "
              "cbc16ed8-0422-456f-9e15-f269b8a25811")

# The methods of the two services, each called by the tests below
# (EveryMethodTest fails when the protos gain one).
CALL_SERVICE_METHODS = {"ListCallableDevices", "Call", "UpdateCall",
                        "CancelCall"}
DEVICE_SERVICE_METHODS = {"RegisterDevice", "SetInboundCallsAllowed",
                          "SetPatientActive", "RemoveDevice", "GetDevice",
                          "ListDevices", "ListCallPushes"}

def fresh_number():
    return harness.fresh_number(2)


def fresh_call_id(tag):
    return harness.fresh_call_id(tag, "grpc.e2e.test")


hex_token = harness.hex_token


def fcm_token():
    return "fcm-" + uuid.uuid4().hex


_channels = {}


def channel(server):
    """One channel per server address, closed by main()."""
    if server.grpc not in _channels:
        _channels[server.grpc] = grpc.insecure_channel(server.grpc)
    return _channels[server.grpc]


# --- protobuf wire format, for the health and reflection messages -----------


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def pb_field(number, payload):
    """A length-delimited field."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def pb_fields(data):
    """[(field number, int or bytes)] of a message with varint and
    length-delimited fields only (all that health and reflection use)."""
    out, i = [], 0

    def varint():
        nonlocal i
        value, shift = 0, 0
        while True:
            b = data[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(data):
        key = varint()
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            out.append((number, varint()))
        elif wire_type == 2:
            n = varint()
            out.append((number, bytes(data[i:i + n])))
            i += n
        else:
            raise ValueError("wire type %d in %r" % (wire_type, data))
    return out


def pb_values(data, number):
    return [v for n, v in pb_fields(data) if n == number]


# grpc.health.v1.HealthCheckResponse.ServingStatus
UNKNOWN, SERVING, NOT_SERVING = 0, 1, 2


def health_check(server, service):
    """Health/Check: the ServingStatus of `service`."""
    check = channel(server).unary_unary("/grpc.health.v1.Health/Check")
    answer = check(pb_field(1, service), timeout=RPC_TIMEOUT)
    statuses = pb_values(answer, 1)
    return statuses[-1] if statuses else UNKNOWN


def health_watch_until(server, service, wanted, timeout=30.0):
    """Health/Watch on `service` until it reports `wanted`: every status it
    reported, in order."""
    watch = channel(server).unary_stream("/grpc.health.v1.Health/Watch")
    stream = watch(pb_field(1, service), timeout=timeout)
    seen = []
    try:
        for answer in stream:
            statuses = pb_values(answer, 1)
            seen.append(statuses[-1] if statuses else UNKNOWN)
            if seen[-1] == wanted:
                return seen
    finally:
        stream.cancel()
    raise AssertionError("Watch(%r) ended without %d: %r" % (service, wanted,
                                                             seen))


def reflection(server, *requests):
    """ServerReflectionInfo: one ServerReflectionResponse per request."""
    info = channel(server).stream_stream(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    return list(info(iter(requests), timeout=RPC_TIMEOUT))


# ServerReflectionRequest / ServerReflectionResponse field numbers.
REFLECT_FILE_CONTAINING_SYMBOL = 4
REFLECT_LIST_SERVICES = 7
REFLECT_FILE_DESCRIPTOR_RESPONSE = 4
REFLECT_LIST_SERVICES_RESPONSE = 6


# --- tests -------------------------------------------------------------------


class GrpcTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        STACK.sandbox.clear()
        self.calls = calls_grpc.CallServiceStub(channel(STACK.main))
        self.devices = devices_grpc.DeviceServiceStub(channel(STACK.main))

    def register(self, number=None, platform=IOS, **fields):
        fields.setdefault("app", harness.APP)
        return self.devices.RegisterDevice(
            devices_pb.RegisterDeviceRequest(
                mobile_number=number or fresh_number(), platform=platform,
                **fields),
            timeout=RPC_TIMEOUT)

    def ios_device(self, number=None, **fields):
        """A callable iOS device: (Device, VoIP token, push token)."""
        voip, push = hex_token(), hex_token()
        return (self.register(number, IOS, voip_token=voip, push_token=push,
                              **fields), voip, push)

    def android_device(self, number=None, **fields):
        """A callable Android device: (Device, FCM token)."""
        token = fcm_token()
        return (self.register(number, ANDROID, voip_token=token,
                              push_token=token, **fields), token)

    def assertRpcError(self, code, details, method, request,
                       timeout=RPC_TIMEOUT):
        with self.assertRaises(grpc.RpcError) as raised:
            method(request, timeout=timeout)
        self.assertEqual((raised.exception.code(), raised.exception.details()),
                         (code, details), request)

    def get_device(self, device_id):
        return self.devices.GetDevice(
            devices_pb.GetDeviceRequest(device_id=device_id),
            timeout=RPC_TIMEOUT)

    def list_devices(self, number):
        return list(self.devices.ListDevices(
            devices_pb.ListDevicesRequest(mobile_number=number),
            timeout=RPC_TIMEOUT).devices)

    def callable_ids(self, number):
        answer = self.calls.ListCallableDevices(
            calls_pb.ListCallableDevicesRequest(mobile_number=number),
            timeout=RPC_TIMEOUT)
        return sorted(d.id for d in answer.devices)

    def call_pushes(self, call_id):
        return list(self.devices.ListCallPushes(
            devices_pb.ListCallPushesRequest(call_id=call_id),
            timeout=RPC_TIMEOUT).pushes)

    def call(self, device_id, call_id, caller_name="Riverside Surgery",
             **kw):
        kw.setdefault("timeout", RPC_TIMEOUT)
        return self.calls.Call(calls_pb.CallRequest(
            device_id=device_id, call_id=call_id, caller_name=caller_name),
            **kw)

    def update(self, device_id, call_id, caller_name="Riverside Surgery"):
        return self.calls.UpdateCall(calls_pb.UpdateCallRequest(
            device_id=device_id, call_id=call_id, caller_name=caller_name),
            timeout=RPC_TIMEOUT)

    def cancel(self, device_id, call_id, reason="cancelled"):
        return self.calls.CancelCall(calls_pb.CancelCallRequest(
            device_id=device_id, call_id=call_id, reason=reason),
            timeout=RPC_TIMEOUT)

    def assertRecent(self, timestamp):
        """A google.protobuf.Timestamp within a minute of now."""
        when = timestamp.ToDatetime(tzinfo=datetime.timezone.utc)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - when).total_seconds()), 60, timestamp)

    def assertOnePush(self, token, call_id, kind):
        """The sandbox received exactly one push for `token`, answered 200:
        (delivery, its callpush payload)."""
        pushes = STACK.sandbox.deliveries(token)
        self.assertEqual(len(pushes), 1, pushes)
        push = pushes[0]
        self.assertEqual(push["status"], 200, push)
        data = push["payload"]
        if push["provider"] == "fcm":
            self.assertEqual(data["message"]["token"], token, push)
            data = data["message"]["data"]
        self.assertEqual((data["type"], data["callId"]), (kind, call_id), push)
        return push, data

    def assertAccepted(self, attempt, call_id, device_id, kind, provider,
                       reason=""):
        """A CallPush row for a push the provider accepted."""
        self.assertEqual(
            (attempt.call_id, attempt.device_id, attempt.kind, attempt.reason,
             attempt.provider, attempt.outcome, attempt.provider_status,
             attempt.provider_reason, attempt.token_invalidated),
            (call_id, device_id, kind, reason, provider, "accepted", 200, "",
             False), attempt)
        self.assertNotEqual(attempt.provider_id, "", attempt)
        self.assertGreaterEqual(attempt.latency_ms, 0, attempt)
        self.assertRecent(attempt.created_at)


class DeviceServiceTest(GrpcTestCase):

    def test_register_device_chooses_an_id_and_stores_e164(self):
        number = fresh_number()
        national = "0" + number[3:]  # 07777 2nnnnn
        voip, push = hex_token(), hex_token()
        device = self.devices.RegisterDevice(devices_pb.RegisterDeviceRequest(
            mobile_number=national[:5] + " " + national[5:],
            default_region="gb", platform=IOS, app=harness.APP,
            voip_token=voip, push_token=push), timeout=RPC_TIMEOUT)
        self.assertEqual(str(uuid.UUID(device.id)), device.id)
        self.assertEqual(
            (device.mobile_number, device.patient_active, device.platform,
             device.app, device.environment, device.has_voip_token,
             device.has_push_token, device.inbound_calls_allowed),
            (number, True, IOS, harness.APP,
             devices_pb.PUSH_ENVIRONMENT_UNSPECIFIED, True, True, True))
        self.assertRecent(device.created_at)
        self.assertEqual(device.updated_at, device.created_at)
        self.assertEqual(device.token_updated_at, device.created_at)
        # Tokens are write-only: no answer carries them.
        wire = device.SerializeToString()
        self.assertNotIn(voip.encode(), wire)
        self.assertNotIn(push.encode(), wire)
        self.assertEqual(self.get_device(device.id), device)
        self.assertEqual(self.list_devices(number), [device])

    def test_register_device_with_its_own_id_creates_then_replaces(self):
        own_id = str(uuid.uuid4())
        first_number, second_number = fresh_number(), fresh_number()
        first, _, _ = self.ios_device(first_number, device_id=own_id.upper())
        self.assertEqual(first.id, own_id)
        self.assertEqual(self.list_devices(first_number), [first])

        # Replace: another number, platform and environment; the push token
        # cleared (empty), the VoIP token kept (absent).
        second = self.register(
            second_number, ANDROID, device_id=own_id,
            environment=devices_pb.PUSH_ENVIRONMENT_SANDBOX, push_token="",
            inbound_calls_allowed=False)
        self.assertEqual(
            (second.id, second.mobile_number, second.platform,
             second.environment, second.has_voip_token, second.has_push_token,
             second.inbound_calls_allowed, second.created_at),
            (own_id, second_number, ANDROID,
             devices_pb.PUSH_ENVIRONMENT_SANDBOX, True, False, False,
             first.created_at))
        self.assertGreater(second.updated_at.ToNanoseconds(),
                           first.updated_at.ToNanoseconds())
        self.assertEqual(second.token_updated_at, second.updated_at)
        self.assertEqual(self.list_devices(first_number), [])
        self.assertEqual(self.list_devices(second_number), [second])

        # inbound_calls_allowed absent on update: unchanged.
        third = self.register(second_number, ANDROID, device_id=own_id,
                              environment=devices_pb.PUSH_ENVIRONMENT_SANDBOX)
        self.assertEqual(
            (third.inbound_calls_allowed, third.has_voip_token,
             third.has_push_token), (False, True, False))
        self.assertEqual(self.get_device(own_id), third)

    def test_register_device_names_the_bad_field(self):
        cases = [
            ({"device_id": "not-a-uuid"}, UUID_ERROR),
            ({"mobile_number": ""}, "mobileNumber: is required"),
            ({"mobile_number": "07777 123456"},
             "mobileNumber: is not a phone number (use E.164, or give "
             "defaultRegion)"),
            ({"mobile_number": "+441234567890"},
             "mobileNumber: is not a mobile number"),
            ({"platform": devices_pb.PLATFORM_UNSPECIFIED},
             "platform: must be PLATFORM_IOS or PLATFORM_ANDROID"),
            ({"app": ""}, "app: is required"),
            ({"app": "demo app"}, "app: must be 1 to 64 of A-Z a-z 0-9 . _ -"),
            ({"environment": 99}, "environment: unknown value"),
            ({"voip_token": "xyz"},
             "voipToken: must be a hex APNs device token"),
            ({"push_token": "abc"},
             "pushToken: must be a hex APNs device token"),
            ({"platform": ANDROID, "push_token": "fcm token"},
             "pushToken: must be an FCM registration token"),
        ]
        for fields, details in cases:
            with self.subTest(fields=fields):
                number = fresh_number()
                request = {"mobile_number": number, "platform": IOS,
                           "app": harness.APP}
                request.update(fields)
                self.assertRpcError(
                    grpc.StatusCode.INVALID_ARGUMENT, details,
                    self.devices.RegisterDevice,
                    devices_pb.RegisterDeviceRequest(**request))
                self.assertEqual(self.list_devices(number), [])

    def test_get_device(self):
        device, _, _ = self.ios_device()
        self.assertEqual(self.get_device(device.id.upper()), device)
        for device_id, code, details in [
                (str(uuid.uuid4()), grpc.StatusCode.NOT_FOUND,
                 "device not found"),
                ("", grpc.StatusCode.INVALID_ARGUMENT,
                 "deviceId: is required"),
                ("1234", grpc.StatusCode.INVALID_ARGUMENT, UUID_ERROR)]:
            with self.subTest(device_id=device_id):
                self.assertRpcError(
                    code, details, self.devices.GetDevice,
                    devices_pb.GetDeviceRequest(device_id=device_id))

    def test_set_inbound_calls_allowed(self):
        number = fresh_number()
        device, _, _ = self.ios_device(number)
        refused = self.devices.SetInboundCallsAllowed(
            devices_pb.SetInboundCallsAllowedRequest(device_id=device.id,
                                                     allowed=False),
            timeout=RPC_TIMEOUT)
        expected = devices_pb.Device()
        expected.CopyFrom(device)
        expected.inbound_calls_allowed = False
        expected.updated_at.CopyFrom(refused.updated_at)
        self.assertEqual(refused, expected)
        self.assertEqual(self.get_device(device.id), refused)
        self.assertEqual(self.callable_ids(number), [])

        allowed = self.devices.SetInboundCallsAllowed(
            devices_pb.SetInboundCallsAllowedRequest(device_id=device.id,
                                                     allowed=True),
            timeout=RPC_TIMEOUT)
        self.assertTrue(allowed.inbound_calls_allowed)
        self.assertEqual(self.callable_ids(number), [device.id])

        for device_id, code, details in [
                (str(uuid.uuid4()), grpc.StatusCode.NOT_FOUND,
                 "device not found"),
                ("x", grpc.StatusCode.INVALID_ARGUMENT, UUID_ERROR)]:
            with self.subTest(device_id=device_id):
                self.assertRpcError(
                    code, details, self.devices.SetInboundCallsAllowed,
                    devices_pb.SetInboundCallsAllowedRequest(
                        device_id=device_id, allowed=False))

    def test_set_patient_active(self):
        number = fresh_number()
        ios, voip, _ = self.ios_device(number)
        android, _ = self.android_device(number)

        patient = self.devices.SetPatientActive(
            devices_pb.SetPatientActiveRequest(mobile_number=number,
                                               active=False),
            timeout=RPC_TIMEOUT)
        self.assertEqual(str(uuid.UUID(patient.id)), patient.id)
        self.assertEqual((patient.mobile_number, patient.active),
                         (number, False))
        self.assertRecent(patient.created_at)
        self.assertGreater(patient.updated_at.ToNanoseconds(),
                           patient.created_at.ToNanoseconds())
        self.assertEqual(
            [d.patient_active for d in self.list_devices(number)],
            [False, False])
        self.assertEqual(self.callable_ids(number), [])
        call_id = fresh_call_id("inactive")
        self.assertRpcError(
            grpc.StatusCode.NOT_FOUND,
            "no valid device: patient is not active",
            self.calls.Call, calls_pb.CallRequest(
                device_id=ios.id, call_id=call_id, caller_name="A"))
        self.assertEqual(STACK.sandbox.deliveries(voip), [])

        again = self.devices.SetPatientActive(
            devices_pb.SetPatientActiveRequest(mobile_number=number,
                                               active=True),
            timeout=RPC_TIMEOUT)
        self.assertEqual((again.id, again.active, again.created_at),
                         (patient.id, True, patient.created_at))
        self.assertEqual(self.callable_ids(number),
                         sorted([ios.id, android.id]))

        for mobile_number, code, details in [
                (fresh_number(), grpc.StatusCode.NOT_FOUND,
                 "patient not found"),
                ("", grpc.StatusCode.INVALID_ARGUMENT,
                 "mobileNumber: is required"),
                ("07777123456", grpc.StatusCode.INVALID_ARGUMENT, E164_ERROR)]:
            with self.subTest(mobile_number=mobile_number):
                self.assertRpcError(
                    code, details, self.devices.SetPatientActive,
                    devices_pb.SetPatientActiveRequest(
                        mobile_number=mobile_number, active=False))

    def test_remove_device(self):
        number = fresh_number()
        gone, voip, _ = self.ios_device(number)
        kept, _, _ = self.ios_device(number)
        self.assertEqual(
            self.devices.RemoveDevice(
                devices_pb.RemoveDeviceRequest(device_id=gone.id),
                timeout=RPC_TIMEOUT),
            devices_pb.RemoveDeviceResponse())
        self.assertEqual(self.list_devices(number), [kept])
        self.assertRpcError(grpc.StatusCode.NOT_FOUND, "device not found",
                            self.devices.GetDevice,
                            devices_pb.GetDeviceRequest(device_id=gone.id))
        self.assertRpcError(grpc.StatusCode.NOT_FOUND,
                            "no valid device: unknown device", self.calls.Call,
                            calls_pb.CallRequest(device_id=gone.id,
                                                 call_id=fresh_call_id("gone"),
                                                 caller_name="A"))
        self.assertEqual(STACK.sandbox.deliveries(voip), [])
        for device_id, code, details in [
                (gone.id, grpc.StatusCode.NOT_FOUND, "device not found"),
                ("", grpc.StatusCode.INVALID_ARGUMENT,
                 "deviceId: is required")]:
            with self.subTest(device_id=device_id):
                self.assertRpcError(
                    code, details, self.devices.RemoveDevice,
                    devices_pb.RemoveDeviceRequest(device_id=device_id))

    def test_list_devices_lists_every_device_callable_or_not(self):
        number = fresh_number()
        registered = [
            self.ios_device(number)[0],
            self.android_device(number)[0],
            self.ios_device(number, inbound_calls_allowed=False)[0],
            self.register(number, IOS),  # no tokens at all
        ]
        self.assertEqual(sorted(self.list_devices(number), key=lambda d: d.id),
                         sorted(registered, key=lambda d: d.id))
        self.assertEqual(self.list_devices(fresh_number()), [])
        for mobile_number, details in [
                ("", "mobileNumber: is required"),
                ("+44 7777 123456", E164_ERROR)]:
            with self.subTest(mobile_number=mobile_number):
                self.assertRpcError(
                    grpc.StatusCode.INVALID_ARGUMENT, details,
                    self.devices.ListDevices,
                    devices_pb.ListDevicesRequest(mobile_number=mobile_number))

    def test_list_call_pushes_of_an_unknown_or_bad_call_id(self):
        self.assertEqual(self.call_pushes(fresh_call_id("never")), [])
        for call_id, details in [
                ("", "callId: is required"),
                ("a\nb", "callId: must not contain control characters")]:
            with self.subTest(call_id=call_id):
                self.assertRpcError(
                    grpc.StatusCode.INVALID_ARGUMENT, details,
                    self.devices.ListCallPushes,
                    devices_pb.ListCallPushesRequest(call_id=call_id))

    def test_a_blocked_database_answers_at_the_client_deadline(self):
        number = fresh_number()
        device, _, _ = self.ios_device(number)
        with harness.tables_locked(STACK.db.url):
            started = time.monotonic()
            with self.assertRaises(grpc.RpcError) as raised:
                self.devices.ListDevices(
                    devices_pb.ListDevicesRequest(mobile_number=number),
                    timeout=0.5)
            elapsed = time.monotonic() - started
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertLess(elapsed, 1.5)
        # Once the lock is gone the same request answers.
        self.assertEqual(self.list_devices(number), [device])


class CallServiceTest(GrpcTestCase):

    def test_list_callable_devices(self):
        number = fresh_number()
        ios, _, _ = self.ios_device(number)
        android, _ = self.android_device(number)
        self.ios_device(number, inbound_calls_allowed=False)  # refuses calls
        self.register(number, IOS, push_token=hex_token())  # no VoIP token
        answer = self.calls.ListCallableDevices(
            calls_pb.ListCallableDevicesRequest(mobile_number=number),
            timeout=RPC_TIMEOUT)
        self.assertEqual(
            sorted(answer.devices, key=lambda d: d.id),
            [calls_pb.CallableDevice(id=i)
             for i in sorted([ios.id, android.id])])
        self.assertEqual(
            self.calls.ListCallableDevices(
                calls_pb.ListCallableDevicesRequest(
                    mobile_number=fresh_number()), timeout=RPC_TIMEOUT),
            calls_pb.ListCallableDevicesResponse())

    def test_list_callable_devices_names_the_bad_field(self):
        for number, details in [
                ("", "mobileNumber: is required"),
                ("07777123456", E164_ERROR),
                ("+4477771234567777", E164_ERROR),
                ("+12", E164_ERROR)]:
            with self.subTest(number=number):
                self.assertRpcError(
                    grpc.StatusCode.INVALID_ARGUMENT, details,
                    self.calls.ListCallableDevices,
                    calls_pb.ListCallableDevicesRequest(mobile_number=number))

    def test_call_rings_an_ios_device_once(self):
        device, voip, push_token = self.ios_device()
        call_id = fresh_call_id("ios")
        self.assertEqual(self.call(device.id, call_id),
                         calls_pb.CallResponse())
        push, data = self.assertOnePush(voip, call_id, "call")
        self.assertEqual(push["provider"], "apns")
        self.assertEqual(
            (push["headers"]["apns-push-type"], push["headers"]["apns-topic"]),
            ("voip", harness.BUNDLE_ID + ".voip"))
        self.assertEqual((data["deviceId"], data["callerName"]),
                         (device.id, "Riverside Surgery"))
        self.assertEqual(STACK.sandbox.deliveries(push_token), [])
        # Idempotent within the ring window: OK again, no second push.
        for _ in range(2):
            self.assertEqual(self.call(device.id, call_id),
                             calls_pb.CallResponse())
        self.assertEqual(len(STACK.sandbox.deliveries(voip)), 1)
        attempts = self.call_pushes(call_id)
        self.assertEqual(len(attempts), 1, attempts)
        self.assertAccepted(attempts[0], call_id, device.id,
                            devices_pb.PUSH_KIND_CALL, "apns")

    def test_call_rings_an_android_device_for_an_anonymous_caller(self):
        device, token = self.android_device()
        call_id = fresh_call_id("android")
        self.assertEqual(self.call(device.id, call_id, caller_name=""),
                         calls_pb.CallResponse())
        push, data = self.assertOnePush(token, call_id, "call")
        self.assertEqual(push["provider"], "fcm")
        self.assertEqual(push["payload"]["message"]["android"]["priority"],
                         "HIGH")
        self.assertEqual((data["deviceId"], data["callerName"]),
                         (device.id, ""))
        attempts = self.call_pushes(call_id)
        self.assertEqual(len(attempts), 1, attempts)
        self.assertAccepted(attempts[0], call_id, device.id,
                            devices_pb.PUSH_KIND_CALL, "fcm")

    def test_update_then_cancel_push_and_are_listed_oldest_first(self):
        device, voip, push_token = self.ios_device()
        call_id = fresh_call_id("flow")
        self.assertEqual(self.call(device.id, call_id),
                         calls_pb.CallResponse())
        self.assertEqual(self.update(device.id, call_id, "Ward 7"),
                         calls_pb.UpdateCallResponse())
        pushes = STACK.sandbox.deliveries(push_token)
        self.assertEqual(len(pushes), 1, pushes)
        self.assertEqual(pushes[0]["headers"]["apns-push-type"], "background")
        self.assertEqual(
            (pushes[0]["payload"]["type"], pushes[0]["payload"]["callId"],
             pushes[0]["payload"]["callerName"]),
            ("update", call_id, "Ward 7"))

        self.assertEqual(self.cancel(device.id, call_id, "answered_elsewhere"),
                         calls_pb.CancelCallResponse())
        pushes = STACK.sandbox.deliveries(push_token)
        self.assertEqual(len(pushes), 2, pushes)
        cancel = pushes[1]
        self.assertEqual(cancel["status"], 200, cancel)
        # Answered elsewhere: silent (a "cancelled" call leaves an alert).
        self.assertEqual(cancel["headers"]["apns-push-type"], "background")
        self.assertEqual(
            (cancel["payload"]["type"], cancel["payload"]["callId"],
             cancel["payload"]["reason"]),
            ("cancel", call_id, "answered_elsewhere"))
        self.assertEqual(len(STACK.sandbox.deliveries(voip)), 1)

        attempts = self.call_pushes(call_id)
        self.assertEqual([a.kind for a in attempts],
                         [devices_pb.PUSH_KIND_CALL,
                          devices_pb.PUSH_KIND_UPDATE,
                          devices_pb.PUSH_KIND_CANCEL], attempts)
        self.assertAccepted(attempts[1], call_id, device.id,
                            devices_pb.PUSH_KIND_UPDATE, "apns")
        self.assertAccepted(attempts[2], call_id, device.id,
                            devices_pb.PUSH_KIND_CANCEL, "apns",
                            reason="answered_elsewhere")
        self.assertLessEqual(attempts[0].created_at.ToNanoseconds(),
                             attempts[1].created_at.ToNanoseconds())
        self.assertLessEqual(attempts[1].created_at.ToNanoseconds(),
                             attempts[2].created_at.ToNanoseconds())

    def test_a_cancelled_call_leaves_a_missed_call_alert(self):
        device, voip, push_token = self.ios_device()
        call_id = fresh_call_id("missed")
        self.assertEqual(self.call(device.id, call_id),
                         calls_pb.CallResponse())
        self.assertEqual(self.cancel(device.id, call_id, "cancelled"),
                         calls_pb.CancelCallResponse())
        push, data = self.assertOnePush(push_token, call_id, "cancel")
        self.assertEqual(
            (push["headers"]["apns-push-type"],
             push["headers"]["apns-collapse-id"]), ("alert", call_id))
        self.assertEqual((data["reason"], data["aps"]["alert"]["title"]),
                         ("cancelled", "Missed call"))
        attempts = self.call_pushes(call_id)
        self.assertEqual(len(attempts), 2, attempts)
        self.assertAccepted(attempts[1], call_id, device.id,
                            devices_pb.PUSH_KIND_CANCEL, "apns",
                            reason="cancelled")

    def test_call_update_and_cancel_name_the_bad_field(self):
        device, _, _ = self.ios_device()
        good = {"device_id": device.id, "call_id": fresh_call_id("bad")}
        common = [
            ({"device_id": ""}, "deviceId: is required"),
            ({"device_id": "nope"}, UUID_ERROR),
            ({"call_id": ""}, "callId: is required"),
            ({"call_id": "a\x01b"},
             "callId: must not contain control characters"),
        ]
        caller_name = [({"caller_name": None},
                        "callerName: is required (it may be empty for an "
                        "anonymous caller)")]
        reason = [({"reason": ""}, "reason: is required"),
                  ({"reason": "hung_up"},
                   'reason: must be "cancelled" or "answered_elsewhere"')]
        methods = [
            (self.calls.Call, calls_pb.CallRequest, {"caller_name": "A"},
             common + caller_name),
            (self.calls.UpdateCall, calls_pb.UpdateCallRequest,
             {"caller_name": "A"}, common + caller_name),
            (self.calls.CancelCall, calls_pb.CancelCallRequest,
             {"reason": "cancelled"}, common + reason),
        ]
        for method, message, extra, cases in methods:
            for fields, details in cases:
                with self.subTest(method=message.__name__, fields=fields):
                    request = dict(good, **extra)
                    request.update(fields)
                    request = {k: v for k, v in request.items()
                               if v is not None}
                    self.assertRpcError(grpc.StatusCode.INVALID_ARGUMENT,
                                        details, method, message(**request))
        self.assertEqual(STACK.sandbox.deliveries(), [])

    def test_no_valid_device_is_not_found(self):
        unknown = str(uuid.uuid4())
        no_voip = self.register(push_token=hex_token())
        no_tokens = self.register()
        inactive_number = fresh_number()
        inactive, _, _ = self.ios_device(inactive_number)
        self.devices.SetPatientActive(
            devices_pb.SetPatientActiveRequest(mobile_number=inactive_number,
                                               active=False),
            timeout=RPC_TIMEOUT)
        call_id = fresh_call_id("invalid")
        cases = [
            (self.calls.Call, calls_pb.CallRequest, {"caller_name": "A"}, [
                (unknown, "unknown device"),
                (inactive.id, "patient is not active"),
                (no_voip.id, "device has no VoIP push token"),
                (no_tokens.id, "device has no VoIP push token")]),
            (self.calls.UpdateCall, calls_pb.UpdateCallRequest,
             {"caller_name": "A"}, [
                 (unknown, "unknown device"),
                 (inactive.id, "patient is not active"),
                 (no_tokens.id, "device has no push token")]),
            (self.calls.CancelCall, calls_pb.CancelCallRequest,
             {"reason": "cancelled"}, [
                 (unknown, "unknown device"),
                 (inactive.id, "patient is not active"),
                 (no_tokens.id, "device has no push token")]),
        ]
        for method, message, extra, devices in cases:
            for device_id, why in devices:
                with self.subTest(method=message.__name__, why=why):
                    self.assertRpcError(
                        grpc.StatusCode.NOT_FOUND, "no valid device: " + why,
                        method, message(device_id=device_id, call_id=call_id,
                                        **extra))
        self.assertEqual(STACK.sandbox.deliveries(), [])
        self.assertEqual(self.call_pushes(call_id), [])

    def test_a_device_refusing_calls_is_permission_denied_for_call_only(self):
        device, voip, push_token = self.ios_device(
            inbound_calls_allowed=False)
        call_id = fresh_call_id("refused")
        self.assertRpcError(grpc.StatusCode.PERMISSION_DENIED,
                            "device rejected inbound call", self.calls.Call,
                            calls_pb.CallRequest(device_id=device.id,
                                                 call_id=call_id,
                                                 caller_name="A"))
        self.assertEqual(STACK.sandbox.deliveries(voip), [])
        self.assertEqual(self.call_pushes(call_id), [])
        # Updates and cancels of a call it already has still reach it.
        self.assertEqual(self.update(device.id, call_id),
                         calls_pb.UpdateCallResponse())
        self.assertEqual(self.cancel(device.id, call_id),
                         calls_pb.CancelCallResponse())
        self.assertEqual([p["payload"]["type"]
                          for p in STACK.sandbox.deliveries(push_token)],
                         ["update", "cancel"])

    def test_a_second_call_while_the_first_is_in_flight_is_aborted(self):
        device, voip, _ = self.ios_device()
        STACK.sandbox.put_rules([{"token": voip, "delay_ms": 1000,
                                  "times": 1}])
        call_id = fresh_call_id("inflight")
        request = calls_pb.CallRequest(device_id=device.id, call_id=call_id,
                                       caller_name="A")
        first = self.calls.Call.future(request, timeout=RPC_TIMEOUT)
        try:
            STACK.sandbox.await_delivery(voip)  # the push is held
            self.assertRpcError(
                grpc.StatusCode.ABORTED,
                "a push for this callId and deviceId is in flight",
                self.calls.Call, request)
        finally:
            answer = first.result()
        self.assertEqual(answer, calls_pb.CallResponse())
        self.assertEqual(self.calls.Call(request, timeout=RPC_TIMEOUT),
                         calls_pb.CallResponse())
        self.assertOnePush(voip, call_id, "call")

    def test_a_dead_token_is_not_found_and_cleared(self):
        number = fresh_number()
        device, voip, _ = self.ios_device(number)
        STACK.sandbox.put_rules([{"token": voip, "status": 410,
                                  "reason": "Unregistered"}])
        call_id = fresh_call_id("dead")
        self.assertRpcError(grpc.StatusCode.NOT_FOUND,
                            "no valid device: push token rejected by provider",
                            self.calls.Call,
                            calls_pb.CallRequest(device_id=device.id,
                                                 call_id=call_id,
                                                 caller_name="A"))
        self.assertEqual([p["status"] for p in STACK.sandbox.deliveries(voip)],
                         [410])
        after = self.get_device(device.id)
        self.assertEqual((after.has_voip_token, after.has_push_token),
                         (False, True))
        self.assertEqual(self.callable_ids(number), [])
        attempts = self.call_pushes(call_id)
        self.assertEqual(len(attempts), 1, attempts)
        self.assertEqual(
            (attempts[0].kind, attempts[0].provider, attempts[0].outcome,
             attempts[0].provider_status, attempts[0].provider_reason,
             attempts[0].token_invalidated),
            (devices_pb.PUSH_KIND_CALL, "apns", "rejected", 410,
             "Unregistered", True))

    def test_the_client_deadline_bounds_the_push(self):
        device, voip, _ = self.ios_device()
        # The sandbox holds the push 3 s; the server's own default deadline
        # (--request_deadline) is 2 s; the client gives 0.5 s.
        STACK.sandbox.put_rules([{"token": voip, "delay_ms": 3000,
                                  "times": 1}])
        call_id = fresh_call_id("deadline")
        started = time.monotonic()
        with self.assertRaises(grpc.RpcError) as raised:
            self.call(device.id, call_id, timeout=0.5)
        elapsed = time.monotonic() - started
        # Either side may notice first: the client's timer ("Deadline
        # Exceeded") or the server giving up on the provider.
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.DEADLINE_EXCEEDED)
        self.assertIn(raised.exception.details(),
                      ["Deadline Exceeded",
                       "push provider did not answer before the deadline"])
        self.assertLess(elapsed, 1.5)
        STACK.sandbox.await_delivery(voip)
        # The server stopped waiting at the client's deadline, not its own.
        attempt = self.await_attempt_outcome(call_id)
        self.assertEqual(
            (attempt.kind, attempt.provider, attempt.outcome,
             attempt.provider_status, attempt.provider_reason),
            (devices_pb.PUSH_KIND_CALL, "apns", "failed", 0,
             "deadline_exceeded"))
        self.assertLess(attempt.latency_ms, 1500, attempt)

    def await_attempt_outcome(self, call_id, timeout=10.0):
        """The call's one push attempt once it is no longer pending (it is
        recorded after the client has its answer)."""
        deadline = time.monotonic() + timeout
        while True:
            attempts = self.call_pushes(call_id)
            self.assertEqual(len(attempts), 1, attempts)
            if attempts[0].outcome != "pending":
                return attempts[0]
            if time.monotonic() > deadline:
                self.fail("still pending after %ss: %s" % (timeout, attempts))
            time.sleep(0.02)


class HealthTest(GrpcTestCase):

    def test_every_service_serves_once_the_database_answers(self):
        for service in ["", CALL_SERVICE, DEVICE_SERVICE]:
            with self.subTest(service=service):
                self.assertEqual(health_check(STACK.main, service), SERVING)

    def test_an_unknown_service_is_not_found(self):
        with self.assertRaises(grpc.RpcError) as raised:
            health_check(STACK.main, "callpush.v1.NoSuchService")
        self.assertEqual(
            (raised.exception.code(), raised.exception.details()),
            (grpc.StatusCode.NOT_FOUND, "service name unknown"))

    def test_without_push_credentials_call_service_is_not_serving(self):
        device, _, _ = self.ios_device()
        nopush = STACK.nopush
        # Serving once its first database ping answers: Watch waits for it.
        health_watch_until(nopush, DEVICE_SERVICE, SERVING)
        self.assertEqual(health_check(nopush, ""), SERVING)
        self.assertEqual(health_check(nopush, CALL_SERVICE), NOT_SERVING)
        calls = calls_grpc.CallServiceStub(channel(nopush))
        devices = devices_grpc.DeviceServiceStub(channel(nopush))
        call_id = fresh_call_id("nopush")
        self.assertRpcError(grpc.StatusCode.UNAVAILABLE,
                            "push not delivered: no push provider configured",
                            calls.Call,
                            calls_pb.CallRequest(device_id=device.id,
                                                 call_id=call_id,
                                                 caller_name="A"))
        self.assertEqual(STACK.sandbox.deliveries(), [])
        # DeviceService works there as anywhere.
        self.assertEqual(devices.GetDevice(
            devices_pb.GetDeviceRequest(device_id=device.id),
            timeout=RPC_TIMEOUT), device)


class ReflectionTest(GrpcTestCase):

    def test_lists_the_services(self):
        [answer] = reflection(STACK.main,
                              pb_field(REFLECT_LIST_SERVICES, "*"))
        [listing] = pb_values(answer, REFLECT_LIST_SERVICES_RESPONSE)
        names = [pb_values(service, 1)[0].decode()
                 for service in pb_values(listing, 1)]
        self.assertEqual(sorted(names), [
            CALL_SERVICE, DEVICE_SERVICE, "grpc.health.v1.Health",
            "grpc.reflection.v1alpha.ServerReflection"])

    def test_the_server_descriptors_are_the_generated_ones(self):
        for symbol, module in [(CALL_SERVICE, calls_pb),
                               (DEVICE_SERVICE, devices_pb)]:
            with self.subTest(symbol=symbol):
                [answer] = reflection(
                    STACK.main,
                    pb_field(REFLECT_FILE_CONTAINING_SYMBOL, symbol))
                [files] = pb_values(answer, REFLECT_FILE_DESCRIPTOR_RESPONSE)
                by_name = {}
                for raw in pb_values(files, 1):
                    proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
                    by_name[proto.name] = proto
                ours = descriptor_pb2.FileDescriptorProto.FromString(
                    module.DESCRIPTOR.serialized_pb)
                self.assertIn(ours.name, by_name)
                self.assertEqual(by_name[ours.name], ours)


class EveryMethodTest(unittest.TestCase):

    def test_the_tests_know_every_method_of_the_protos(self):
        self.assertEqual(
            set(calls_pb.DESCRIPTOR.services_by_name["CallService"]
                .methods_by_name), CALL_SERVICE_METHODS)
        self.assertEqual(
            set(devices_pb.DESCRIPTOR.services_by_name["DeviceService"]
                .methods_by_name), DEVICE_SERVICE_METHODS)


def main():
    program = unittest.main(exit=False, verbosity=2)
    ok = program.result.wasSuccessful()
    for ch in _channels.values():
        ch.close()
    harness.close_and_exit(STACK, ok)


if __name__ == "__main__":
    main()
