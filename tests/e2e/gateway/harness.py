"""Processes and HTTP plumbing for the gateway end-to-end tests.

Everything here is real: the callpush-sandbox, callpush-server and
callpush-gateway binaries run as child processes on loopback ports the kernel
picks, against a database of their own on the Postgres that ctest's `pg`
fixture started (tests/pg/fixture.sh), and the tests speak HTTP/1.1 to them
over sockets. Python 3 standard library only (plus PyYAML for the OpenAPI
test).

Environment (set by tests/e2e/CMakeLists.txt):
  CALLPUSH_BINARY_DIR   the build directory holding the binaries
  CALLPUSH_SOURCE_DIR   the source tree (for gateway/openapi.yaml)
  CALLPUSH_TEST_PG_ENV  the fixture's env file (URL=...), or
  CALLPUSH_TEST_DATABASE_URL  an admin URL to use instead
"""

import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BINARY_DIR = os.environ.get("CALLPUSH_BINARY_DIR", "")
SOURCE_DIR = os.environ.get(
    "CALLPUSH_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")))

SERVER = os.path.join(BINARY_DIR, "server", "callpush-server")
GATEWAY = os.path.join(BINARY_DIR, "gateway", "callpush-gateway")
SANDBOX = os.path.join(BINARY_DIR, "tests", "sandbox", "callpush-sandbox")

STARTUP_TIMEOUT = 30.0
HTTP_TIMEOUT = 15.0
# A port nothing listens on: connecting is refused at once.
DEAD_ADDRESS = "127.0.0.1:1"

APP = "demo"
BUNDLE_ID = "com.example.patient"


class HarnessError(Exception):
    pass


_number_counter = [0]


def fresh_number(series):
    """A valid UK mobile number (E.164) no other test of this process uses;
    `series` (0-9) keeps the suites' numbers apart in shared logs."""
    _number_counter[0] += 1
    return "+447777%d%05d" % (series, _number_counter[0])


def fresh_call_id(tag, domain="e2e.test"):
    return "%s-%s@%s" % (tag, uuid.uuid4().hex[:12], domain)


def hex_token():
    return uuid.uuid4().hex + uuid.uuid4().hex  # 64 hex digits, like APNs


_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Runs in the child before exec: SIGTERM it when the test process dies
    (ctest's timeout kills only the test), so no server outlives a run."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _run(argv, input_text=None, timeout=60):
    done = subprocess.run(argv, input=input_text, capture_output=True,
                          text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise HarnessError("%s exited %d: %s%s" % (
            argv[0], done.returncode, done.stdout, done.stderr))
    return done.stdout


def admin_database_url():
    url = os.environ.get("CALLPUSH_TEST_DATABASE_URL", "")
    if url:
        return url
    env_file = os.environ.get("CALLPUSH_TEST_PG_ENV", "")
    if env_file:
        with open(env_file, encoding="utf-8") as f:
            for line in f:
                if line.startswith("URL="):
                    return line[len("URL="):].strip()
    raise HarnessError(
        "no test Postgres: run through ctest (the pg fixture starts one) or "
        "set CALLPUSH_TEST_DATABASE_URL")


def with_database(url, name):
    """`url` (postgresql://user@host:port/db[?params]) with db = name."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


class ScratchDatabase:
    """A new, empty database on the shared test server; dropped by close()."""

    _counter = 0

    def __init__(self):
        self.admin_url = admin_database_url()
        ScratchDatabase._counter += 1
        self.name = "callpush_e2e_%d_%d" % (os.getpid(),
                                            ScratchDatabase._counter)
        self.psql_admin("DROP DATABASE IF EXISTS %s" % self.name)
        self.psql_admin("CREATE DATABASE %s" % self.name)
        self.url = with_database(self.admin_url, self.name)

    def psql_admin(self, sql):
        return _run(["psql", self.admin_url, "-X", "-q", "-v",
                     "ON_ERROR_STOP=1", "-c", sql])

    def psql(self, sql):
        """Runs `sql` in this database; the unaligned, tuples-only output."""
        return _run(["psql", self.url, "-X", "-q", "-A", "-t", "-v",
                     "ON_ERROR_STOP=1"], input_text=sql)

    def close(self):
        try:
            self.psql_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" %
                            self.name)
        except HarnessError:
            pass


def sql_literal(value):
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return "'" + str(value).replace("'", "''") + "'"


class Seeder:
    """Patients and devices written straight into the schema of migration
    0001 (the server registers devices the same way)."""

    def __init__(self, db):
        self.db = db

    def patient(self, mobile_number, active=True):
        return self.db.psql(
            "INSERT INTO patients (mobile_number, active) VALUES (%s, %s) "
            "RETURNING id;" % (sql_literal(mobile_number),
                               sql_literal(active))).strip()

    def device(self, patient_id, platform, voip_token=None, push_token=None,
               inbound_calls_allowed=True, app=APP):
        device_id = str(uuid.uuid4())
        self.db.psql(
            "INSERT INTO devices (id, patient_id, platform, app, voip_token, "
            "push_token, inbound_calls_allowed) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s);" % (
                sql_literal(device_id), sql_literal(patient_id),
                sql_literal(platform), sql_literal(app),
                sql_literal(voip_token), sql_literal(push_token),
                sql_literal(inbound_calls_allowed)))
        return device_id

    def voip_token(self, device_id):
        out = self.db.psql("SELECT coalesce(voip_token, '<null>') FROM devices "
                           "WHERE id = %s;" % sql_literal(device_id)).strip()
        return None if out == "<null>" else out


@contextlib.contextmanager
def tables_locked(database_url, tables="patients, devices"):
    """Holds ACCESS EXCLUSIVE locks on `tables` in another session for the
    duration of the block: every query on them waits."""
    locker = subprocess.Popen(
        ["psql", database_url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        preexec_fn=_die_with_parent)
    try:
        locker.stdin.write("BEGIN;\nLOCK TABLE %s IN ACCESS EXCLUSIVE MODE;\n"
                           "SELECT 'locked';\n" % tables)
        locker.stdin.flush()
        line = locker.stdout.readline().strip()
        if line != "locked":
            raise HarnessError("could not lock %s: %r" % (tables, line))
        yield
    finally:
        try:
            locker.stdin.write("ROLLBACK;\n")
            locker.stdin.close()
        except OSError:
            pass
        locker.wait(10)
        locker.stdout.close()


class Process:
    """A child process whose stdout is read line by line (tests wait for its
    'listening' line) and whose stderr (JSON logs) goes to a file."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._log, env=env, preexec_fn=_die_with_parent)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for_line(self, prefix, timeout=STARTUP_TIMEOUT):
        """The rest of the first stdout line that starts with `prefix`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._lines:
                    if line.startswith(prefix):
                        return line[len(prefix):]
                if self._eof:
                    raise HarnessError("%s exited (%s) before printing %r: %s"
                                       % (os.path.basename(self.argv[0]),
                                          self.proc.wait(), prefix,
                                          self.log_tail()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise HarnessError("%s did not print %r within %ss: %s" % (
                        os.path.basename(self.argv[0]), prefix, timeout,
                        self.log_tail()))
                self._cond.wait(left)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def output(self):
        with self._cond:
            return "\n".join(self._lines)

    def log_tail(self, max_bytes=4000):
        self._log.flush()
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-max_bytes:].decode("utf-8", "replace")

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; only this process."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self.proc.stdout.close()
        self._log.close()


class Sandbox:
    """callpush-sandbox with credentials it makes itself (as
    tests/testing/sandbox_process.cc does) and its admin API."""

    def __init__(self, workdir, extra_flags=(), env=None):
        self.dir = os.path.join(workdir, "sandbox")
        os.makedirs(self.dir)
        self.process = Process(
            [SANDBOX, "--make_certs", self.dir, "--h2_address=127.0.0.1:0",
             "--admin_address=127.0.0.1:0"] + list(extra_flags),
            os.path.join(workdir, "sandbox.log"), env=env)
        line = self.process.wait_for_line("callpush-sandbox listening ")
        fields = dict(part.split("=", 1) for part in line.split())
        self.h2 = fields["h2"]
        self.admin = fields["admin"]

    def push_config(self):
        return {"apps": [{
            "name": APP,
            "apns": {
                "bundleId": BUNDLE_ID,
                "teamId": "SANDBOXTM1",
                "keyId": "SANDBOXKY1",
                "keyFile": os.path.join(self.dir, "apns-key.p8"),
                "defaultEnvironment": "production",
                "productionEndpoint": self.h2,
                "sandboxEndpoint": self.h2,
                "caFile": os.path.join(self.dir, "ca.pem"),
            },
            "fcm": {
                "projectId": "callpush-sandbox",
                "serviceAccountFile": os.path.join(
                    self.dir, "fcm-service-account.json"),
                "endpoint": self.h2,
                "caFile": os.path.join(self.dir, "ca.pem"),
            },
        }]}

    def write_push_config(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.push_config(), f)
        return path

    def _admin(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://%s%s" % (self.admin, path),
                                     data=data, method=method)
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as resp:
            text = resp.read()
        return json.loads(text) if text else None

    def deliveries(self, token=None):
        """What the sandbox received, oldest first (only `token`'s)."""
        all_ = self._admin("GET", "/deliveries")
        return [d for d in all_ if token is None or d["token"] == token]

    def clear(self):
        self._admin("DELETE", "/deliveries")
        self.put_rules([])

    def put_rules(self, rules):
        self._admin("PUT", "/rules", rules)

    def await_delivery(self, token, timeout=10.0):
        """Polls the delivery log until `token` has a push (the sandbox logs
        a push when it arrives, before any delay a rule asks for)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.deliveries(token)
            if found:
                return found
            time.sleep(0.02)
        raise HarnessError("no push for token %s within %ss" % (token, timeout))

    def stop(self):
        self.process.stop()


class Server:
    """callpush-server with its in-process gateway."""

    def __init__(self, workdir, name, database_url, push_config=None,
                 migrate=False, extra_flags=()):
        argv = [SERVER, "--grpc_address=127.0.0.1:0",
                "--http_address=127.0.0.1:0",
                "--database_url=" + database_url, "--db_workers=2",
                "--shutdown_grace=1s"]
        if migrate:
            argv.append("--migrate_on_start")
        if push_config:
            argv.append("--push_config=" + push_config)
        argv.extend(extra_flags)
        self.process = Process(argv, os.path.join(workdir, name + ".log"))
        self.grpc = self.process.wait_for_line(
            "callpush-server listening grpc=")
        self.http = self.process.wait_for_line(
            "callpush-gateway listening http=")

    def stop(self):
        self.process.stop()


class Gateway:
    """The separate callpush-gateway process."""

    def __init__(self, workdir, name, grpc_target, extra_flags=()):
        argv = [GATEWAY, "--grpc_target=" + grpc_target,
                "--http_address=127.0.0.1:0"] + list(extra_flags)
        self.process = Process(argv, os.path.join(workdir, name + ".log"))
        self.http = self.process.wait_for_line(
            "callpush-gateway listening http=")

    def stop(self):
        self.process.stop()


def split_address(address):
    host, port = address.rsplit(":", 1)
    return host, int(port)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive)
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %s %r>" % (self.status, dict(self.headers.items()),
                               self.body[:300])


def encode_body(body, content_type):
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return urllib.parse.urlencode(body).encode("ascii")
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def request(address, method, target, body=None, headers=None,
            content_type="application/json", conn=None,
            timeout=HTTP_TIMEOUT):
    """One HTTP/1.1 request with http.client; a new connection unless `conn`
    is given. A dict body is JSON (or form-encoded with that content type);
    content_type=None sends no Content-Type."""
    hdrs = dict(headers or {})
    data = encode_body(body, content_type or "")
    if data is not None and content_type is not None:
        hdrs.setdefault("Content-Type", content_type)
    own = conn is None
    if own:
        host, port = split_address(address)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, target, body=data, headers=hdrs)
        resp = conn.getresponse()
        payload = resp.read()
        return Response(resp.status, resp.headers, payload)
    finally:
        if own:
            conn.close()


def raw_exchange(address, data, timeout=HTTP_TIMEOUT):
    """Sends raw bytes, reads until the peer closes or `timeout`; returns
    (bytes read, whether the peer closed)."""
    host, port = split_address(address)
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    return b"".join(chunks), True
                chunks.append(chunk)
        except socket.timeout:
            return b"".join(chunks), False


def parse_responses(data):
    """Splits raw HTTP/1.1 bytes into [(status, {header: value}, body)]
    (Content-Length framing only)."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            raise HarnessError("incomplete response: %r" % data[:200])
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:length]))
        data = rest[length:]
    return out


class Workdir:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="callpush-e2e-gateway-")

    def file(self, name, text):
        path = os.path.join(self.path, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def remove(self):
        shutil.rmtree(self.path, ignore_errors=True)


def await_status(address, target, status, timeout=20.0, headers=None):
    """Polls GET `target` until it answers `status` (readiness flips once the
    first database ping answers); the last response otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = request(address, "GET", target, headers=headers)
            if last.status == status:
                return last
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise HarnessError("GET %s on %s never answered %d; last: %r" % (
        target, address, status, last))


class Stack:
    """The processes the tests talk to, each started on first use and all
    stopped by close(). Every server shares one scratch database (the first,
    `main`, migrates it) and one push sandbox."""

    AUTH_TOKENS = ("alpha-token-1", "beta-token-2")
    # Short limits for the slow-client tests (server `limits`).
    LIMIT_TIMEOUT_S = 1
    LIMIT_MAX_CONNECTIONS = 3
    LIMIT_BODY_BYTES = 1024
    LIMIT_HEADER_BYTES = 2048
    LIMIT_DEADLINE_S = 1

    def __init__(self):
        self.workdir = Workdir()
        self._parts = {}
        self._order = []
        self.db = None

    def _get(self, name, make):
        if name not in self._parts:
            self._parts[name] = make()
            self._order.append(name)
        return self._parts[name]

    @property
    def sandbox(self):
        return self._get("sandbox", lambda: Sandbox(self.workdir.path))

    @property
    def push_config(self):
        return self._get("push_config", lambda: self.sandbox.write_push_config(
            os.path.join(self.workdir.path, "push-config.json")))

    @property
    def tokens_file(self):
        return self._get("tokens_file", lambda: self.workdir.file(
            "http-tokens", "".join(t + "\n" for t in self.AUTH_TOKENS)))

    def _server(self, name, database_url=None, push=True, migrate=False,
                flags=(), ready=True):
        if database_url is None:
            self.main  # noqa: B018 -- migrates the shared database first
            database_url = self.db.url
        server = Server(self.workdir.path, name, database_url,
                        push_config=self.push_config if push else None,
                        migrate=migrate, extra_flags=flags)
        if ready:
            try:
                await_status(server.http, "/readyz", 200, headers=(
                    {"Authorization": "Bearer " + self.AUTH_TOKENS[0]}))
            except HarnessError:
                server.stop()
                raise
        return server

    @property
    def main(self):
        """In-process gateway, defaults, no auth (loopback)."""
        def make():
            self.db = ScratchDatabase()
            self._parts["db"] = self.db
            self._order.append("db")
            return self._server("server-main", self.db.url, migrate=True)
        return self._get("main", make)

    @property
    def seeder(self):
        self.main  # noqa: B018
        return Seeder(self.db)

    @property
    def auth(self):
        """In-process gateway with bearer tokens."""
        return self._get("auth", lambda: self._server(
            "server-auth",
            flags=["--http_auth_tokens_file=" + self.tokens_file]))

    @property
    def limits(self):
        """In-process gateway with every limit flag set low: 1 s header and
        read timeouts, 3 connections, 1 KiB bodies, 2 KiB headers, a 1 s
        deadline."""
        return self._get("limits", lambda: self._server(
            "server-limits", flags=[
                "--http_header_timeout=%ds" % self.LIMIT_TIMEOUT_S,
                "--http_read_timeout=%ds" % self.LIMIT_TIMEOUT_S,
                "--http_max_connections=%d" % self.LIMIT_MAX_CONNECTIONS,
                "--http_max_body_bytes=%d" % self.LIMIT_BODY_BYTES,
                "--http_max_header_bytes=%d" % self.LIMIT_HEADER_BYTES,
                "--http_deadline=%ds" % self.LIMIT_DEADLINE_S]))

    @property
    def nodb(self):
        """In-process gateway whose Postgres is unreachable."""
        return self._get("nodb", lambda: self._server(
            "server-nodb", database_url="postgresql://postgres@%s/callpush"
            % DEAD_ADDRESS, ready=False))

    @property
    def nopush(self):
        """In-process gateway on the shared database without push
        credentials."""
        return self._get("nopush", lambda: self._server(
            "server-nopush", push=False, ready=False))

    @property
    def gateway(self):
        """Separate callpush-gateway in front of `main`, no auth."""
        def make():
            gw = Gateway(self.workdir.path, "gateway", self.main.grpc)
            await_status(gw.http, "/readyz", 200)
            return gw
        return self._get("gateway", make)

    @property
    def gateway_auth(self):
        """Separate callpush-gateway in front of `main`, with tokens."""
        return self._get("gateway_auth", lambda: Gateway(
            self.workdir.path, "gateway-auth", self.main.grpc,
            ["--http_auth_tokens_file=" + self.tokens_file]))

    @property
    def gateway_dead(self):
        """Separate callpush-gateway whose gRPC backend is down."""
        return self._get("gateway_dead", lambda: Gateway(
            self.workdir.path, "gateway-dead", DEAD_ADDRESS))

    def close(self, keep_workdir=False):
        """Stops everything this stack started; the work directory (logs)
        stays when `keep_workdir`."""
        for name in reversed(self._order):
            part = self._parts[name]
            if hasattr(part, "stop"):
                part.stop()
            elif hasattr(part, "close"):
                part.close()
        self._parts.clear()
        self._order.clear()
        if not keep_workdir:
            self.workdir.remove()


def close_and_exit(stack, ok):
    """Ends an e2e test program: stops the stack's processes, keeps its work
    directory (logs) when a test failed or CALLPUSH_E2E_KEEP=1, and exits
    0 or 1."""
    keep = not ok or os.environ.get("CALLPUSH_E2E_KEEP") == "1"
    stack.close(keep_workdir=keep)
    if keep:
        print("logs kept in", stack.workdir.path, file=sys.stderr)
    sys.exit(0 if ok else 1)
