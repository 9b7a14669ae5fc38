"""The patient's app, as the push sandbox's --on_push command runs it.

For each push the sandbox accepted it gets CALLPUSH_PUSH_TOKEN,
CALLPUSH_PUSH_PAYLOAD and CALLPUSH_PUSH_PROVIDER. What a token's app does is
written by the test beforehand in $CALLPUSH_SIP_DIR/devices/<token>.json:
  {"number": "+447700900123", "mode": "answer"|"ring"|"silent",
   "answerAfterMs": 300}
A call push makes an "answer" or "ring" device run SIPp (scenarios/device.xml):
REGISTER with pn-prid=<deviceId> at the proxy ($CALLPUSH_SIP_PROXY), take the
INVITE, then answer or ring until CANCEL. "silent" is a phone that never
wakes. Every push is appended to $CALLPUSH_SIP_DIR/pushes.log (one JSON line)
SIPp's pid goes to results/<callId>.<deviceId>.pid and its exit code to
.rc, for the test to read (and to stop a device still running at the end).
"""

import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))


def find_fields(payload):
    """The push's data fields: APNs puts them at the top level beside
    `aps`, FCM under message.data."""
    doc = json.loads(payload)
    if isinstance(doc, dict) and isinstance(doc.get("message"), dict):
        data = doc["message"].get("data")
        if isinstance(data, dict):
            return data
    return doc


def append_line(path, record):
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(record) + "\n")


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reregister(work, results, tag, device, device_id):
    """An update push woke the app in a call: REGISTER again, with the
    Contact of the SIPp process that holds the dialog, so the proxy relays
    the waiting request. `reregisterOnUpdate: false` plays an app that
    does not."""
    if not device.get("reregisterOnUpdate", True):
        return 0
    try:
        with open(os.path.join(results, tag + ".port"),
                  encoding="utf-8") as f:
            port = int(f.read())
    except FileNotFoundError:
        return 0
    host, proxy_port = os.environ["CALLPUSH_SIP_PROXY"].rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        me = s.getsockname()[1]
        aor = "sip:%s@%s" % (device["number"], os.environ["CALLPUSH_SIP_PROXY"])
        msg = ("REGISTER sip:%s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s\r\n"
               "From: <%s>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\n"
               "CSeq: 1 REGISTER\r\n"
               "Contact: <sip:%s@127.0.0.1:%d;pn-provider=xon;pn-prid=%s>\r\n"
               "Expires: 60\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n"
               "\r\n") % (os.environ["CALLPUSH_SIP_PROXY"], me,
                          uuid.uuid4().hex, aor, uuid.uuid4().hex[:8], aor,
                          uuid.uuid4().hex, device["number"], port, device_id)
        sent = time.time()
        s.sendto(msg.encode(), (host, int(proxy_port)))
        answer = s.recv(65536).split(b"\r\n", 1)[0].decode()
    append_line(os.path.join(work, "pushes.log"), {
        "at": sent, "reregistered": tag, "answer": answer})
    return 0 if answer.startswith("SIP/2.0 200") else 1


def main():
    work = os.environ["CALLPUSH_SIP_DIR"]
    token = os.environ["CALLPUSH_PUSH_TOKEN"]
    fields = find_fields(os.environ["CALLPUSH_PUSH_PAYLOAD"])
    kind = fields.get("type", "")
    call_id = fields.get("callId", "")
    device_id = fields.get("deviceId", "")
    append_line(os.path.join(work, "pushes.log"), {
        "at": time.time(), "token": token, "type": kind, "callId": call_id,
        "deviceId": device_id, "reason": fields.get("reason", ""),
        "callerName": fields.get("callerName", "")})
    try:
        with open(os.path.join(work, "devices", token + ".json"),
                  encoding="utf-8") as f:
            device = json.load(f)
    except FileNotFoundError:
        return 0
    if device["mode"] == "silent":
        return 0
    tag = "%s.%s" % (call_id, device_id)
    results = os.path.join(work, "results")
    if kind == "update":
        return reregister(work, results, tag, device, device_id)
    if kind != "call":
        return 0
    port = free_udp_port()
    with open(os.path.join(results, tag + ".port"), "w",
              encoding="utf-8") as f:
        f.write("%d\n" % port)
    argv = [os.environ.get("CALLPUSH_SIPP", "sipp"),
            os.environ["CALLPUSH_SIP_PROXY"],
            "-sf", os.path.join(HERE, "scenarios", "device.xml"),
            "-i", "127.0.0.1", "-p", str(port),
            "-s", device["number"], "-m", "1",
            "-cid_str", call_id, "-set", "PRID", device_id,
            "-set", "ANSWER", "1" if device["mode"] == "answer" else "0",
            "-d", str(device.get("answerAfterMs", 0)),
            "-timeout", "30s", "-timeout_error", "-nostdin",
            "-trace_msg", "-message_file",
            os.path.join(results, tag + ".msg"),
            "-trace_err", "-error_file", os.path.join(results, tag + ".err")]
    with open(os.path.join(results, tag + ".out"), "wb") as out:
        sipp = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        # The test stops devices still running when it ends (by this pid).
        with open(os.path.join(results, tag + ".pid"), "w",
                  encoding="utf-8") as f:
            f.write("%d\n" % sipp.pid)
        rc = sipp.wait()
    with open(os.path.join(results, tag + ".rc"), "w",
              encoding="utf-8") as f:
        f.write("%d\n" % rc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
