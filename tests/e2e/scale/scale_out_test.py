#!/usr/bin/env python3
"""Scale-out end to end (issue 5 item 9): N callpush-server replicas on one
Postgres, directly and through PgBouncer.

Each replica's database worker pool (server/pg/pg_pool.h) holds
`--db_workers` connections, one per worker, opened on the worker's first job
and kept; every statement is a named, server-side prepared statement of that
connection (libpqxx 6.4 sends the Parse the first time the worker runs it).
Hence:

- PgBouncerSessionPoolingTest: behind `pool_mode = session` everything works
  (health, registration seen by every replica, the duplicate Call deduped in
  Postgres across replicas, a replica stopping with SIGTERM), and Postgres
  sees exactly replicas x db_workers connections from PgBouncer.
- DirectConnectionsTest: without PgBouncer, replicas x db_workers
  connections too.
- PgBouncerTransactionPoolingTest: what `pool_mode = transaction` does to
  those statements on Debian 12's PgBouncer 1.18, which does not track
  protocol-level prepared statements: a statement prepared on one server
  connection is "already exists" for the next client that prepares it there
  (SQLSTATE 42P05) and "does not exist" on another server connection
  (SQLSTATE 26000). Not supported; the test pins down how it fails.

Real processes: callpush-server (in-process gateway), callpush-sandbox,
pgbouncer, and the Postgres of ctest's `pg` fixture, each test class on a
scratch database of its own.
"""

import os
import sys
import unittest
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_harness as sh  # noqa: E402

harness = sh.harness
request = harness.request

WORKDIR = harness.Workdir()
_sandbox = []

# Queries wait for the test's table lock (scale_harness.hold_every_worker)
# for well under a second; this keeps the server from cancelling them.
STATEMENT_TIMEOUT_FLAG = "--db_statement_timeout=20s"

_numbers = [0]


def fresh_number():
    _numbers[0] += 1
    return "+4477772%05d" % _numbers[0]


def hex_token():
    return uuid.uuid4().hex + uuid.uuid4().hex


def sandbox():
    if not _sandbox:
        _sandbox.append(harness.Sandbox(WORKDIR.path))
    return _sandbox[0]


def push_config():
    path = os.path.join(WORKDIR.path, "push-config.json")
    if not os.path.exists(path):
        sandbox().write_push_config(path)
    return path


def callable_devices(address, number):
    return request(address, "GET", "/v1/callable-devices?mobileNumber=" +
                   urllib.parse.quote(number, safe=""))


def post_call(address, device_id, call_id):
    return request(address, "POST", "/v1/call", {
        "deviceId": device_id, "callId": call_id,
        "callerName": "Riverside Surgery"})


def migrate(database_url):
    harness._run([harness.SERVER, "migrate", "--database_url=" + database_url])


class PostgresLog:
    """The fixture Postgres's log (tests/pg/pg_instance.sh: stderr to
    DIR/server.log, line prefix '%m [%p] '), read from where it ended when
    this object was made."""

    def __init__(self):
        pgdir = ""
        env_file = os.environ.get("CALLPUSH_TEST_PG_ENV", "")
        if env_file:
            with open(env_file, encoding="utf-8") as f:
                for line in f:
                    if line.startswith("PGDIR="):
                        pgdir = line[len("PGDIR="):].strip()
        if not pgdir:
            raise harness.HarnessError(
                "the Postgres log is needed: run through ctest "
                "(CALLPUSH_TEST_PG_ENV names the pg fixture's directory)")
        self.path = os.path.join(pgdir, "server.log")
        self.start = os.path.getsize(self.path)

    def errors(self, pid):
        """The messages of the ERROR lines backend `pid` wrote since."""
        marker = "[%s] ERROR:  " % pid
        with open(self.path, "rb") as f:
            f.seek(self.start)
            text = f.read().decode("utf-8", "replace")
        return [line.split(marker, 1)[1] for line in text.splitlines()
                if marker in line]


class ReplicaSet:
    """Replicas of callpush-server on one database URL (direct or through
    PgBouncer), with a gRPC client each."""

    def __init__(self, database_url, workers, flags=()):
        self.database_url = database_url
        self.workers = workers
        self.flags = list(flags)
        self.servers = []
        self.clients = []

    def start(self, name, migrate_first=False, await_ready=True):
        # harness.Server passes --db_workers=2; a later flag wins.
        server = harness.Server(
            WORKDIR.path, name, self.database_url, push_config=push_config(),
            migrate=migrate_first,
            extra_flags=["--db_workers=%d" % self.workers] + self.flags)
        self.servers.append(server)
        self.clients.append(sh.GrpcClient(server.grpc))
        if await_ready:
            harness.await_status(server.http, "/readyz", 200)
        return len(self.servers) - 1

    def close(self):
        for client in self.clients:
            client.close()
        for server in self.servers:
            server.stop()


class ScaleTestCase(unittest.TestCase):
    maxDiff = None

    def register(self, replica_set, index):
        """A callable iOS device of a new patient, registered through
        replica `index`: (device, number, VoIP token)."""
        number, token = fresh_number(), hex_token()
        device = replica_set.clients[index].register_ios(number, token,
                                                         hex_token())
        self.assertEqual(device.mobile_number, number)
        self.assertTrue(device.has_voip_token)
        return device, number, token

    def assertReady(self, address, grpc_client):
        self.assertEqual(request(address, "GET", "/readyz").status, 200)
        for service in ["", "callpush.v1.CallService",
                        "callpush.v1.DeviceService"]:
            self.assertEqual(grpc_client.health(service), sh.GrpcClient.SERVING,
                             service)


class PgBouncerSessionPoolingTest(ScaleTestCase):
    """Three replicas with --db_workers=2 through PgBouncer in session mode.
    The tests run in the order of their numbers (unittest sorts by name):
    test_5 stops a replica."""

    REPLICAS = 3
    WORKERS = 2
    # 3 x 2 worker connections, plus headroom for the migration connection
    # (closed before the workers connect) and a replica being replaced.
    POOL_SIZE = REPLICAS * WORKERS + 2

    @classmethod
    def setUpClass(cls):
        cls.db = harness.ScratchDatabase()
        cls.pgbouncer = sh.PgBouncer(
            WORKDIR.path, "pgbouncer-session", cls.db.admin_url, cls.db.name,
            "session", cls.POOL_SIZE)
        cls.replicas = ReplicaSet(cls.pgbouncer.url(), cls.WORKERS,
                                  [STATEMENT_TIMEOUT_FLAG])
        # The first replica migrates through PgBouncer: the migration's
        # advisory lock is session state, which session pooling keeps.
        for i in range(cls.REPLICAS):
            cls.replicas.start("session-%d" % (i + 1), migrate_first=(i == 0))

    @classmethod
    def tearDownClass(cls):
        cls.replicas.close()
        cls.pgbouncer.stop()
        cls.db.close()

    def http(self, i):
        return self.replicas.servers[i].http

    def pool(self):
        """PgBouncer's SHOW POOLS row of the test database."""
        return next(p for p in self.pgbouncer.show("POOLS")
                    if p["database"] == self.db.name)

    def test_1_every_replica_is_ready(self):
        for i in range(self.REPLICAS):
            with self.subTest(replica=i + 1):
                self.assertReady(self.http(i), self.replicas.clients[i])

    def test_2_a_device_registered_through_one_replica_is_listed_by_all(self):
        device, number, _ = self.register(self.replicas, 0)
        for i in range(1, self.REPLICAS):
            with self.subTest(replica=i + 1):
                resp = callable_devices(self.http(i), number)
                self.assertEqual((resp.status, resp.json()),
                                 (200, [{"id": device.id}]), resp)
                listed = self.replicas.clients[i].list_devices(number)
                self.assertEqual([d.id for d in listed], [device.id])

    def test_3_the_same_call_through_two_replicas_sends_one_push(self):
        device, _, token = self.register(self.replicas, 0)
        call_id = "scale-%s@e2e.test" % uuid.uuid4().hex[:12]
        first = post_call(self.http(1), device.id, call_id)
        self.assertEqual((first.status, first.body), (202, b""), first)
        # The second replica finds the claim the first one wrote in Postgres.
        second = post_call(self.http(2), device.id, call_id)
        self.assertEqual((second.status, second.body), (202, b""), second)
        pushes = sandbox().deliveries(token)
        self.assertEqual([(p["status"], p["payload"]["callId"])
                          for p in pushes], [(200, call_id)], pushes)
        attempts = self.replicas.clients[0].list_call_pushes(call_id)
        self.assertEqual([(a.device_id, a.outcome, a.provider_status)
                          for a in attempts], [(device.id, "accepted", 200)])

    def test_4_postgres_sees_one_connection_per_worker_via_pgbouncer(self):
        device, _, _ = self.register(self.replicas, 0)
        answers = sh.hold_every_worker(self.db, self.replicas.clients,
                                       self.WORKERS, device.id)
        self.assertEqual({a.id for a in answers}, {device.id})
        expected = self.REPLICAS * self.WORKERS
        # Every worker's client connection is linked to one server
        # connection for as long as it is open (session pooling); the
        # test's own psql sessions are direct and gone once they exit.
        backends = sh.await_backends(self.db, sh.all_idle, "all idle")
        self.assertEqual([(app, state) for app, _, state in backends],
                         [("callpush", "idle")] * expected)
        servers = [s for s in self.pgbouncer.show("SERVERS")
                   if s["database"] == self.db.name]
        clients = [c for c in self.pgbouncer.show("CLIENTS")
                   if c["database"] == self.db.name]
        # Postgres's client ports are PgBouncer's server connections, all
        # of them linked to a replica's worker.
        self.assertEqual(sorted(int(s["local_port"]) for s in servers),
                         sorted(port for _, port, _ in backends))
        self.assertEqual([(s["state"], s["link"] != "") for s in servers],
                         [("active", True)] * expected)
        self.assertEqual(
            [(c["application_name"], c["state"]) for c in clients],
            [("callpush", "active")] * expected)

    def test_5_stopping_a_replica_leaves_the_others_serving(self):
        device, number, token = self.register(self.replicas, 0)
        sh.hold_every_worker(self.db, self.replicas.clients, self.WORKERS,
                             device.id)
        ports_before = sorted(p for _, p, _ in sh.client_backends(self.db))
        self.assertEqual(len(ports_before), 6)
        stopped = self.replicas.servers[2]
        stopped.stop()
        with open(stopped.process.log_path, encoding="utf-8") as f:
            log = f.read()
        self.assertEqual(stopped.process.proc.returncode, 0, log)
        for i in range(2):
            with self.subTest(replica=i + 1):
                harness.await_status(self.http(i), "/readyz", 200)
                self.assertReady(self.http(i), self.replicas.clients[i])
        self.assertEqual(callable_devices(self.http(1), number).json(),
                         [{"id": device.id}])
        resp = post_call(self.http(1), device.id, "after-stop@e2e.test")
        self.assertEqual((resp.status, resp.body), (202, b""), resp)
        self.assertEqual(len(sandbox().deliveries(token)), 1)

        # PgBouncer keeps the stopped replica's two server connections open
        # and idle (reset with DISCARD ALL, which also clears
        # application_name), so Postgres still sees six.
        backends = sh.await_backends(
            self.db, lambda rows: sorted(r[0] for r in rows) ==
            ["", ""] + ["callpush"] * 4, "two reset backends")
        self.assertEqual(sorted(p for _, p, _ in backends), ports_before)
        counts = ("cl_active", "sv_active", "sv_idle")
        sh.await_value(
            self.pool, lambda pool: {k: pool[k] for k in counts} == {
                "cl_active": "4", "sv_active": "4", "sv_idle": "2"},
            "4 clients on 4 servers, 2 servers idle")

        # A replacement replica gets those two connections: no new Postgres
        # backend, and its statements prepare cleanly on them (DISCARD ALL
        # dropped the old replica's prepared statements).
        index = self.replicas.start("session-replacement")
        sh.hold_every_worker(self.db, [self.replicas.clients[index]],
                             self.WORKERS, device.id)
        backends = sh.await_backends(
            self.db, lambda rows: sh.all_idle(rows) and all(
                r[0] == "callpush" for r in rows), "only callpush backends")
        self.assertEqual(sorted(p for _, p, _ in backends), ports_before)
        self.assertEqual(callable_devices(
            self.replicas.servers[index].http, number).json(),
            [{"id": device.id}])


class DirectConnectionsTest(ScaleTestCase):
    """Two replicas with --db_workers=3 straight to Postgres."""

    REPLICAS = 2
    WORKERS = 3

    @classmethod
    def setUpClass(cls):
        cls.db = harness.ScratchDatabase()
        cls.replicas = ReplicaSet(cls.db.url, cls.WORKERS,
                                  [STATEMENT_TIMEOUT_FLAG])
        for i in range(cls.REPLICAS):
            cls.replicas.start("direct-%d" % (i + 1), migrate_first=(i == 0))

    @classmethod
    def tearDownClass(cls):
        cls.replicas.close()
        cls.db.close()

    def test_postgres_sees_replicas_times_workers_connections(self):
        device, number, _ = self.register(self.replicas, 0)
        self.assertEqual(callable_devices(
            self.replicas.servers[1].http, number).json(), [{"id": device.id}])
        answers = sh.hold_every_worker(self.db, self.replicas.clients,
                                       self.WORKERS, device.id)
        self.assertEqual({a.id for a in answers}, {device.id})
        # The migration's connection closed before the pools started; the
        # readiness probe and every request use the pool's connections.
        backends = sh.await_backends(self.db, sh.all_idle, "all idle")
        self.assertEqual([(app, state) for app, _, state in backends],
                         [("callpush", "idle")] * 6)


class PgBouncerTransactionPoolingTest(ScaleTestCase):
    """Transaction pooling (PgBouncer 1.18): unsupported, and this is how it
    fails. Each test has its own PgBouncer; the schema is migrated
    directly."""

    @classmethod
    def setUpClass(cls):
        cls.db = harness.ScratchDatabase()
        migrate(cls.db.url)

    @classmethod
    def tearDownClass(cls):
        cls.db.close()

    def setUp(self):
        self.pgbouncer = None
        self.replicas = None
        self.postgres_log = PostgresLog()

    def tearDown(self):
        if self.replicas is not None:
            self.replicas.close()
        if self.pgbouncer is not None:
            self.pgbouncer.stop()

    def start_pgbouncer(self, name, pool_size, settings=None):
        self.pgbouncer = sh.PgBouncer(WORKDIR.path, name, self.db.admin_url,
                                      self.db.name, "transaction", pool_size,
                                      settings)
        self.replicas = ReplicaSet(self.pgbouncer.url(), 1)

    def server_pids(self):
        return sorted(s["remote_pid"] for s in self.pgbouncer.show("SERVERS")
                      if s["database"] == self.db.name)

    def test_a_second_replica_finds_the_statements_already_prepared(self):
        # One server connection: what replica A prepared there stays there
        # (transaction pooling resets nothing), and replica B's connection,
        # never having prepared it, prepares it again.
        self.start_pgbouncer("pgbouncer-transaction-shared", 1)
        self.replicas.start("transaction-a")
        self.replicas.start("transaction-b", await_ready=False)
        a, b = (s.http for s in self.replicas.servers)
        number = fresh_number()
        resp = callable_devices(a, number)
        self.assertEqual((resp.status, resp.json()), (200, []), resp)
        resp = callable_devices(b, number)
        self.assertEqual((resp.status, resp.json()), (
            500, {"error": "database error (SQLSTATE 42P05)"}), resp)
        # B's readiness ping ("ping", prepared by A first) fails the same
        # way every second: B never becomes ready; A stays ready.
        self.assertEqual(request(b, "GET", "/readyz").status, 503)
        self.assertEqual(request(a, "GET", "/readyz").status, 200)
        [pid] = self.server_pids()
        errors = set(self.postgres_log.errors(pid))
        self.assertIn(
            'prepared statement "list_callable_devices" already exists', errors)
        self.assertIn('prepared statement "ping" already exists', errors)

    def test_a_statement_prepared_on_one_server_is_missing_on_another(self):
        # One replica, one worker, two server connections taken in turn
        # (server_round_robin): the Parse goes to one, the Bind to the other.
        self.start_pgbouncer("pgbouncer-transaction-rr", 2, {
            "min_pool_size": "2", "server_round_robin": "1"})
        self.replicas.start("transaction-rr", await_ready=False)
        server = self.replicas.servers[0].http

        def both_idle():
            pool = next(p for p in self.pgbouncer.show("POOLS")
                        if p["database"] == self.db.name)
            return pool["sv_idle"] == "2"

        # The worker's first job opened one; min_pool_size opens the other.
        sh.await_value(both_idle, bool, "two idle server connections")
        resp = callable_devices(server, fresh_number())
        self.assertEqual((resp.status, resp.json()), (
            500, {"error": "database error (SQLSTATE 26000)"}), resp)
        errors = [e for pid in self.server_pids()
                  for e in self.postgres_log.errors(pid)]
        self.assertIn(
            'prepared statement "list_callable_devices" does not exist', errors)


def main():
    program = unittest.main(exit=False, verbosity=2)
    ok = program.result.wasSuccessful()
    for box in _sandbox:
        box.stop()
    sh.cleanup_generated()
    keep = not ok or os.environ.get("CALLPUSH_E2E_KEEP") == "1"
    if keep:
        print("logs kept in", WORKDIR.path, file=sys.stderr)
    else:
        WORKDIR.remove()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
