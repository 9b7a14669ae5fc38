"""PgBouncer, gRPC DeviceService and pg_stat_activity helpers for the
scale-out end-to-end test (scale_out_test.py).

The rest (callpush-server, callpush-sandbox, scratch databases on the `pg`
fixture's Postgres) comes from tests/e2e/gateway/harness.py.

PgBouncer refuses to run as root ("FATAL PgBouncer should not run as root");
like tests/pg/pg_instance.sh does for Postgres, a root test runs it as the
`postgres` account (setpriv, so that it stays our child: its PID is ours to
signal and it gets SIGTERM when the test dies).
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "gateway"))
import harness  # noqa: E402

STARTUP_TIMEOUT = harness.STARTUP_TIMEOUT
RPC_TIMEOUT = 20.0


# ----------------------------------------------------------------------
# PgBouncer
# ----------------------------------------------------------------------


def _listening_port(pid):
    """The TCP port process `pid` listens on (it has exactly one listening
    socket), or None while it has none."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            m = re.match(r"socket:\[(\d+)\]$", target)
            if m:
                inodes.add(m.group(1))
        with open("/proc/%d/net/tcp" % pid, encoding="ascii") as f:
            rows = f.read().splitlines()[1:]
    except OSError:
        return None
    ports = []
    for row in rows:
        fields = row.split()
        # local_address rem_address st ... inode (field 9); 0A = LISTEN.
        if fields[3] == "0A" and fields[9] in inodes:
            ports.append(int(fields[1].split(":")[1], 16))
    if len(ports) > 1:
        raise harness.HarnessError("pgbouncer listens on %r" % ports)
    return ports[0] if ports else None


class PgBouncer:
    """pgbouncer in front of one database of the test Postgres, listening on
    a loopback port the kernel picks, `auth_type = trust` (the test Postgres
    trusts every loopback connection: tests/pg/pg_instance.sh) with
    `postgres` in its userlist, which is also its admin user."""

    def __init__(self, workdir, name, admin_url, database, pool_mode,
                 default_pool_size, extra_settings=None):
        parts = urllib.parse.urlsplit(admin_url)
        self.database = database
        self.pool_mode = pool_mode
        # Readable by the postgres account when we are root.
        self.dir = tempfile.mkdtemp(prefix="callpush-pgbouncer-")
        os.chmod(self.dir, 0o755)
        settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": "0",
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": os.path.join(self.dir, "userlist.txt"),
            "admin_users": "postgres",
            "pool_mode": pool_mode,
            "default_pool_size": str(default_pool_size),
            "max_client_conn": "100",
        }
        settings.update(extra_settings or {})
        ini = ["[databases]",
               "%s = host=%s port=%d dbname=%s" % (
                   database, parts.hostname, parts.port, database),
               "", "[pgbouncer]"]
        ini += ["%s = %s" % kv for kv in settings.items()]
        self._write("pgbouncer.ini", "\n".join(ini) + "\n")
        self._write("userlist.txt", '"postgres" ""\n')

        binary = shutil.which("pgbouncer", path=os.environ.get(
            "PATH", "") + ":/usr/sbin")
        if binary is None:
            raise harness.HarnessError(
                "pgbouncer not found (deploy/install-deps.sh installs it)")
        argv = [binary, os.path.join(self.dir, "pgbouncer.ini")]
        if os.geteuid() == 0:
            argv = ["setpriv", "--reuid=postgres", "--regid=postgres",
                    "--init-groups", "--pdeathsig=TERM"] + argv
        self.log_path = os.path.join(workdir, name + ".log")
        self._log = open(self.log_path, "w", encoding="utf-8")
        self._lines = []
        self._cond = threading.Condition()
        self._eof = False
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            preexec_fn=harness._die_with_parent)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_for_log("LOG process up: ")
        self.port = _listening_port(self.proc.pid)
        if self.port is None:
            raise harness.HarnessError("pgbouncer is up but not listening")

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def _read(self):
        for line in self.proc.stderr:
            self._log.write(line)
            self._log.flush()
            with self._cond:
                self._lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_for_log(self, text, timeout=STARTUP_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(text in line for line in self._lines):
                if self._eof:
                    raise harness.HarnessError(
                        "pgbouncer exited (%s) before logging %r: %s" % (
                            self.proc.wait(), text, self.log()))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise harness.HarnessError(
                        "pgbouncer did not log %r: %s" % (text, self.log()))
                self._cond.wait(left)

    def log(self):
        with self._cond:
            return "\n".join(self._lines)

    def url(self):
        """What callpush-server's --database_url points at."""
        return "postgresql://postgres@127.0.0.1:%d/%s" % (self.port,
                                                           self.database)

    def show(self, what):
        """SHOW `what` on the admin console: a list of {column: value}."""
        out = harness._run([
            "psql", "postgresql://postgres@127.0.0.1:%d/pgbouncer" % self.port,
            "-X", "-q", "-A", "-F", "\t", "-P", "footer=off", "-c",
            "SHOW " + what])
        lines = out.splitlines()
        header = lines[0].split("\t")
        return [dict(zip(header, line.split("\t"))) for line in lines[1:]]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._reader.join(5)
        self.proc.stderr.close()
        self._log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


# ----------------------------------------------------------------------
# gRPC: DeviceService (stubs made from proto/ by protoc and
# grpc_python_plugin at test time) and the health service
# ----------------------------------------------------------------------

_stubs = {}


def _generated():
    """(device_service_pb2, device_service_pb2_grpc), generated once per
    process into a temporary directory."""
    if not _stubs:
        plugin = shutil.which("grpc_python_plugin")
        if plugin is None:
            raise harness.HarnessError(
                "grpc_python_plugin not found (deploy/install-deps.sh)")
        out = tempfile.mkdtemp(prefix="callpush-scale-pb2-")
        harness._run([
            "protoc", "-I", os.path.join(harness.SOURCE_DIR, "proto"),
            "--python_out=" + out, "--grpc_python_out=" + out,
            "--plugin=protoc-gen-grpc_python=" + plugin,
            "callpush/v1/device_service.proto"])
        sys.path.insert(0, out)
        from callpush.v1 import device_service_pb2  # noqa: E402
        from callpush.v1 import device_service_pb2_grpc  # noqa: E402
        _stubs["pb2"] = device_service_pb2
        _stubs["grpc"] = device_service_pb2_grpc
        _stubs["dir"] = out
    return _stubs["pb2"], _stubs["grpc"]


def cleanup_generated():
    if "dir" in _stubs:
        shutil.rmtree(_stubs["dir"], ignore_errors=True)


class GrpcClient:
    """A channel to one replica's gRPC port with the DeviceService stub and
    the standard health check (grpc.health.v1, encoded by hand: one string
    field in, one enum field out)."""

    SERVING = 1

    def __init__(self, address):
        import grpc  # Debian's python3-grpcio
        self.pb2, pb2_grpc = _generated()
        self.channel = grpc.insecure_channel(address)
        self.devices = pb2_grpc.DeviceServiceStub(self.channel)
        self._health = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=None, response_deserializer=None)

    def health(self, service):
        """The serving status of `service` ("" = the server); names under
        128 bytes (one-byte length)."""
        name = service.encode()
        request = (b"\x0a" + bytes([len(name)]) + name) if name else b""
        answer = self._health(request, timeout=RPC_TIMEOUT)
        # HealthCheckResponse{status = 1 (enum)}: b"" means UNKNOWN (0).
        if answer == b"":
            return 0
        if len(answer) != 2 or answer[0] != 0x08:
            raise harness.HarnessError("odd health answer %r" % answer)
        return answer[1]

    def register_ios(self, mobile_number, voip_token, push_token):
        pb2 = self.pb2
        return self.devices.RegisterDevice(pb2.RegisterDeviceRequest(
            mobile_number=mobile_number, platform=pb2.PLATFORM_IOS,
            app=harness.APP, voip_token=voip_token, push_token=push_token),
            timeout=RPC_TIMEOUT)

    def list_devices(self, mobile_number):
        return list(self.devices.ListDevices(
            self.pb2.ListDevicesRequest(mobile_number=mobile_number),
            timeout=RPC_TIMEOUT).devices)

    def get_device_future(self, device_id, timeout=RPC_TIMEOUT):
        return self.devices.GetDevice.future(
            self.pb2.GetDeviceRequest(device_id=device_id), timeout=timeout)

    def list_call_pushes(self, call_id):
        return list(self.devices.ListCallPushes(
            self.pb2.ListCallPushesRequest(call_id=call_id),
            timeout=RPC_TIMEOUT).pushes)

    def close(self):
        self.channel.close()


# ----------------------------------------------------------------------
# What Postgres sees
# ----------------------------------------------------------------------


def client_backends(db):
    """The client backends connected to `db`, sorted
    [(application_name, client_port, state)], except the test's own psql
    sessions (this query's and any that is still exiting): every other
    connection, the servers' and PgBouncer's."""
    out = db.psql(
        "SELECT application_name, client_port, coalesce(state, '') "
        "FROM pg_stat_activity WHERE datname = current_database() "
        "AND backend_type = 'client backend' AND application_name <> 'psql' "
        "ORDER BY 1, 2;")
    rows = []
    for line in out.splitlines():
        app, port, state = line.split("|")
        rows.append((app, int(port), state))
    return rows


def await_value(fetch, predicate, what, timeout=STARTUP_TIMEOUT):
    """Polls fetch() until predicate(value) holds; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if predicate(value):
            return value
        if time.monotonic() >= deadline:
            raise harness.HarnessError("never %s; last: %r" % (what, value))
        time.sleep(0.05)


def await_backends(db, predicate, what, timeout=STARTUP_TIMEOUT):
    """Polls client_backends(db) until predicate(rows) holds; the rows."""
    return await_value(lambda: client_backends(db), predicate, what, timeout)


def all_idle(rows):
    """await_backends predicate: no backend is running a statement (a
    readiness ping takes well under a millisecond)."""
    return all(state == "idle" for _, _, state in rows)


def lock_waiters(db):
    return int(db.psql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = "
        "current_database() AND wait_event_type = 'Lock';").strip())


def hold_every_worker(db, clients, workers, device_id):
    """Makes every database worker of every replica in `clients` connect:
    with the tables locked, sends each replica `workers` GetDevice calls and
    waits until Postgres shows replicas x workers backends waiting for the
    lock (a worker only connects on first use, and one that waits holds its
    connection). Then releases the lock; returns the answers (Device)."""
    expected = len(clients) * workers
    with harness.tables_locked(db.url):
        futures = [c.get_device_future(device_id)
                   for c in clients for _ in range(workers)]
        await_value(lambda: lock_waiters(db), lambda n: n == expected,
                    "%d workers waiting for the lock" % expected)
    return [f.result() for f in futures]

