#!/usr/bin/env python3
"""Checks deploy/monitoring (issue 5, item 8) against the real server.

PromqlTest         the PromQL reader below (metric names, label matchers,
                   grouping labels) on expressions with a known answer.
DashboardTest      grafana-dashboard.json: its structure (schema, data source
                   variable, job/instance variables on every selector, units,
                   layout), and every panel query parsed by promtool.
AlertRulesTest     alerts.yaml: its structure, `promtool check rules`, and
                   `promtool test rules alerts_test.yaml` (input series ->
                   the alerts that must and must not fire).
ExpositionTest     starts callpush-sandbox and callpush-server (on its own
                   database of the ctest `pg` Postgres, push config pointing
                   at the sandbox, --metrics_address=127.0.0.1:0), drives
                   lists, calls and provider faults through the JSON gateway,
                   scrapes /metrics on the metrics address (what deploy/k8s
                   scrapes; the gateway's /metrics must serve the same), and
                   checks that every metric family the dashboard and the
                   rules name is exported (# TYPE line, the histogram type
                   behind _bucket/_sum/_count), that the label names they use
                   exist on its series, that the dashboard and rules show
                   every callpush_* family exported, and a few exact counts.

Environment (tests/deploy/CMakeLists.txt sets it):
  CALLPUSH_SOURCE_DIR   the repository (default: two levels up)
  CALLPUSH_BINARY_DIR   the build directory (server, sandbox)
  CALLPUSH_TEST_PG_ENV  the pg fixture's env file
  CALLPUSH_PROMTOOL     promtool (Debian package prometheus)

Standard library, python3-yaml, and tests/e2e/gateway/harness.py.
"""

import calendar
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import uuid

import yaml

SOURCE_DIR = os.environ.get("CALLPUSH_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
MONITORING_DIR = os.path.join(SOURCE_DIR, "deploy", "monitoring")
DASHBOARD = os.path.join(MONITORING_DIR, "grafana-dashboard.json")
ALERTS = os.path.join(MONITORING_DIR, "alerts.yaml")
ALERTS_TEST = os.path.join(MONITORING_DIR, "alerts_test.yaml")
PROMTOOL = os.environ.get("CALLPUSH_PROMTOOL", "promtool")

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "e2e", "gateway"))
import harness  # noqa: E402

# ---------------------------------------------------------------------------
# PromQL reader: enough of the grammar to tell metric names from functions,
# keywords, label names, strings, numbers, durations and Grafana variables.

# Functions of Prometheus 2.42 (promql/parser/functions.go), plus those
# newer releases added that a rule might use.
FUNCTIONS = frozenset("""
abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time
ceil changes clamp clamp_max clamp_min cos cosh count_over_time day_of_month
day_of_week day_of_year days_in_month deg delta deriv end exp floor
histogram_avg histogram_count histogram_fraction histogram_quantile
histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta
increase irate label_join label_replace last_over_time ln log10 log2
mad_over_time max_over_time min_over_time minute month pi
predict_linear present_over_time quantile_over_time rad rate resets round
scalar sgn sin sinh sort sort_by_label sort_by_label_desc sort_desc sqrt
start stddev_over_time stdvar_over_time sum_over_time tan tanh time
timestamp vector year
""".split())
# Keywords are case-insensitive in PromQL; function names are not.
AGGREGATIONS = frozenset("""
avg bottomk count count_values group limit_ratio limitk max min quantile
stddev stdvar sum topk
""".split())
GROUPING_KEYWORDS = frozenset(
    "by without on ignoring group_left group_right".split())
OTHER_KEYWORDS = frozenset("and or unless bool offset atan2 inf nan".split())
# Series Prometheus makes itself for every target.
SCRAPE_SERIES = frozenset(["up", "scrape_duration_seconds",
                           "scrape_samples_scraped"])
# Labels a scrape adds to every series.
TARGET_LABELS = frozenset(["job", "instance"])
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")

_TOKEN = re.compile(r"""
    (?P<space>\s+|\#[^\n]*)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<variable>\$\{[^}]*\}|\$[A-Za-z_]\w*|\[\[\w+\]\])
  | (?P<number>(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)
               (?:[a-zA-Z]+[0-9]*)*)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|==|!=|<=|>=|[-+*/%^<>=,(){}\[\]@:])
""", re.VERBOSE)


class PromqlError(ValueError):
    pass


_CLOSING = {"(": ")", "[": "]", "{": "}"}


def tokenize(expr):
    """[(kind, text)] without spaces and comments; kind is string,
    variable, number, ident or op. Brackets must balance."""
    tokens = []
    open_ = []
    pos = 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m:
            raise PromqlError("cannot read %r at %d in %r" % (
                expr[pos:pos + 10], pos, expr))
        kind, text = m.lastgroup, m.group()
        if kind != "space":
            tokens.append((kind, text))
        if kind == "op" and text in _CLOSING:
            open_.append(_CLOSING[text])
        elif kind == "op" and text in _CLOSING.values():
            if not open_ or open_.pop() != text:
                raise PromqlError("unbalanced %s at %d in %r" % (text, pos,
                                                                 expr))
        pos = m.end()
    if open_:
        raise PromqlError("%s missing in %r" % (open_[-1], expr))
    return tokens


class Selector:
    """A vector selector: metric name (None for {__name__=...}) and its
    matchers [(label, op, value)]."""

    def __init__(self, name, matchers):
        self.name = name
        self.matchers = matchers

    def names(self):
        """The metric names it selects: its own, or those a __name__
        matcher spells out (a|b)."""
        if self.name is not None:
            return [self.name]
        out = []
        for label, op, value in self.matchers:
            if label == "__name__" and op in ("=", "=~"):
                if not re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*"
                                    r"(\|[A-Za-z_:][A-Za-z0-9_:]*)*", value):
                    raise PromqlError("__name__ matcher %r is not a list of "
                                      "names" % value)
                out.extend(value.split("|"))
        return out

    def labels(self):
        return [label for label, _, _ in self.matchers if label != "__name__"]


def _unquote(text):
    if text.startswith("`"):
        return text[1:-1]
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _skip_balanced(tokens, i, open_, close):
    """Index after the token closing the `open_` at tokens[i]."""
    depth = 0
    for j in range(i, len(tokens)):
        if tokens[j] == ("op", open_):
            depth += 1
        elif tokens[j] == ("op", close):
            depth -= 1
            if depth == 0:
                return j + 1
    raise PromqlError("unbalanced %s" % open_)


def _label_list(tokens, i):
    """(label names, index after) of the '(' a, b ')' at tokens[i]."""
    if tokens[i] != ("op", "("):
        raise PromqlError("expected a label list")
    labels = []
    i += 1
    while tokens[i] != ("op", ")"):
        kind, text = tokens[i]
        if kind not in ("ident", "string"):
            raise PromqlError("bad label list item %r" % text)
        labels.append(text if kind == "ident" else _unquote(text))
        i += 1
        if tokens[i] == ("op", ","):
            i += 1
        elif tokens[i] != ("op", ")"):
            raise PromqlError("expected , or ) in a label list")
    return labels, i + 1


def _matchers(tokens, i):
    """(matchers, index after) of the '{' ... '}' at tokens[i]."""
    matchers = []
    i += 1
    while tokens[i] != ("op", "}"):
        kind, label = tokens[i]
        if kind == "string":
            label = _unquote(label)
        elif kind != "ident":
            raise PromqlError("bad label name %r" % label)
        op_kind, op = tokens[i + 1]
        if op_kind != "op" or op not in ("=", "!=", "=~", "!~"):
            raise PromqlError("bad matcher operator %r" % op)
        value_kind, value = tokens[i + 2]
        if value_kind != "string":
            raise PromqlError("matcher value %r is not a string" % value)
        matchers.append((label, op, _unquote(value)))
        i += 3
        if tokens[i] == ("op", ","):
            i += 1
        elif tokens[i] != ("op", "}"):
            raise PromqlError("expected , or } after a matcher")
    return matchers, i + 1


class Query:
    """What one PromQL expression refers to."""

    def __init__(self, expr):
        self.expr = expr
        self.selectors = []       # [Selector]
        self.grouping_labels = set()  # by/without/on/ignoring/group_x lists
        tokens = tokenize(expr) + [("end", "")]
        i = 0
        while tokens[i][0] != "end":
            kind, text = tokens[i]
            following = tokens[i + 1]
            if (kind, text) == ("op", "["):
                # Range or subquery: durations and variables only.
                i = _skip_balanced(tokens, i, "[", "]")
            elif (kind, text) == ("op", "{"):
                matchers, i = _matchers(tokens, i)
                self.selectors.append(Selector(None, matchers))
            elif kind != "ident":
                i += 1
            elif text.lower() in GROUPING_KEYWORDS:
                i += 1
                if following == ("op", "("):
                    labels, i = _label_list(tokens, i)
                    self.grouping_labels.update(labels)
                elif text.lower() not in ("group_left", "group_right"):
                    raise PromqlError("%s without a label list" % text)
            elif text.lower() in AGGREGATIONS or text in FUNCTIONS:
                if (following != ("op", "(") and
                        following[1].lower() not in ("by", "without")):
                    raise PromqlError("%s is not called" % text)
                i += 1
            elif text.lower() in OTHER_KEYWORDS:
                i += 1
            elif following == ("op", "("):
                raise PromqlError("unknown function %s" % text)
            else:
                matchers = []
                i += 1
                if following == ("op", "{"):
                    matchers, i = _matchers(tokens, i)
                self.selectors.append(Selector(text, matchers))

    def metric_names(self):
        return sorted({n for s in self.selectors for n in s.names()})


def family_of(name):
    """(family, suffix): callpush_x_bucket -> (callpush_x, "_bucket")."""
    for suffix in HISTOGRAM_SUFFIXES:
        if name.endswith(suffix):
            return name[:-len(suffix)], suffix
    return name, ""


# ---------------------------------------------------------------------------
# The files.

def load_dashboard():
    with open(DASHBOARD, encoding="utf-8") as f:
        return json.load(f)


def load_alerts():
    with open(ALERTS, encoding="utf-8") as f:
        return yaml.safe_load(f)


def panels_of(dashboard):
    """Every panel, rows' collapsed panels included."""
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def dashboard_queries(dashboard):
    """[(where, expr)] of every panel target and query variable."""
    out = []
    for panel in panels_of(dashboard):
        for target in panel.get("targets", []):
            out.append(("panel %r target %s" % (panel["title"],
                                                target["refId"]),
                        target["expr"]))
    for var in dashboard["templating"]["list"]:
        if var["type"] == "query":
            m = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", var["query"])
            if not m:
                raise AssertionError("variable %s: %r is not label_values()"
                                     % (var["name"], var["query"]))
            out.append(("variable " + var["name"], m.group(1)))
    return out


def alert_rules(alerts):
    return [rule for group in alerts["groups"] for rule in group["rules"]]


def rule_queries(alerts):
    return [("rule " + rule.get("alert", rule.get("record", "?")),
             rule["expr"]) for rule in alert_rules(alerts)]


def grafana_to_promql(expr):
    """The query Prometheus gets: Grafana variables replaced."""
    return (expr.replace("$__rate_interval", "1m")
            .replace("$__interval", "1m")
            .replace("$job", ".*").replace("$instance", ".*"))


def run_promtool(*args, cwd=None):
    done = subprocess.run([PROMTOOL] + list(args), capture_output=True,
                          text=True, timeout=120, cwd=cwd, check=False)
    return done.returncode, done.stdout + done.stderr


# ---------------------------------------------------------------------------

class PromqlTest(unittest.TestCase):

    def test_histogram_quantile_with_variables(self):
        q = Query('histogram_quantile(0.99, sum by (method, le) (rate('
                  'callpush_grpc_request_duration_seconds_bucket{job=~"$job",'
                  ' instance=~"$instance", code!="OK"}[$__rate_interval])))')
        self.assertEqual(q.metric_names(),
                         ["callpush_grpc_request_duration_seconds_bucket"])
        self.assertEqual(q.selectors[0].matchers, [
            ("job", "=~", "$job"), ("instance", "=~", "$instance"),
            ("code", "!=", "OK")])
        self.assertEqual(q.grouping_labels, {"method", "le"})

    def test_binary_operators_and_vector_matching(self):
        q = Query('(time() - max by (job, provider) (a_seconds)) > 3300\n'
                  '  and on (job, provider)\n'
                  'sum without (kind) (increase(b_total[5m])) > 0 '
                  'or c / ignoring (x) group_left (y, z) d * 60')
        self.assertEqual(q.metric_names(), ["a_seconds", "b_total", "c", "d"])
        self.assertEqual(q.grouping_labels,
                         {"job", "provider", "kind", "x", "y", "z"})

    def test_aggregation_clause_after_the_argument(self):
        q = Query("SUM(rate(x_total[5m])) BY (code) / Count(y)")
        self.assertEqual(q.metric_names(), ["x_total", "y"])
        self.assertEqual(q.grouping_labels, {"code"})

    def test_strings_comments_numbers_durations_are_not_names(self):
        q = Query('label_replace(up{job="callpush_fake"}, "dst", "other_name",'
                  ' "src", "(.*)") # not_a_metric{a="b"}\n'
                  '+ 1e-3 + 0x1F + rate(z[1h30m:15s] offset 5m) + Inf '
                  '+ (w @ start())')
        self.assertEqual(q.metric_names(), ["up", "w", "z"])

    def test_name_matcher(self):
        q = Query('{__name__=~"callpush_ready|callpush_x", job=~"$job"}')
        self.assertEqual(q.metric_names(), ["callpush_ready", "callpush_x"])
        self.assertEqual(q.selectors[0].labels(), ["job"])
        with self.assertRaises(PromqlError):
            Query('{__name__=~"callpush_.*"}').metric_names()

    def test_errors(self):
        for bad in ["foo(bar)", "sum by a (b)", 'x{a="b"', "x{a=1}",
                    "rate(x[5m]", "sum(x))", "x[5m", 'x{a~"b"}', "rate"]:
            with self.subTest(bad=bad), self.assertRaises(PromqlError):
                Query(bad)

    def test_family_of(self):
        self.assertEqual(family_of("a_seconds_bucket"), ("a_seconds",
                                                         "_bucket"))
        self.assertEqual(family_of("a_seconds_count"), ("a_seconds",
                                                        "_count"))
        self.assertEqual(family_of("a_total"), ("a_total", ""))


class DashboardTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dashboard = load_dashboard()
        cls.panels = [p for p in panels_of(cls.dashboard)
                      if p["type"] != "row"]

    def test_schema_and_identity(self):
        d = self.dashboard
        self.assertEqual(d["schemaVersion"], 38)
        self.assertEqual(d["uid"], "callpush-overview")
        self.assertIsNone(d["id"])
        ids = [p["id"] for p in panels_of(d)]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")

    def test_variables(self):
        variables = {v["name"]: v
                     for v in self.dashboard["templating"]["list"]}
        self.assertEqual(set(variables), {"DS_PROMETHEUS", "job", "instance"})
        self.assertEqual(variables["DS_PROMETHEUS"]["type"], "datasource")
        self.assertEqual(variables["DS_PROMETHEUS"]["query"], "prometheus")
        for name in ("job", "instance"):
            v = variables[name]
            self.assertEqual(v["type"], "query")
            self.assertTrue(v["multi"] and v["includeAll"], name)
            self.assertEqual(v["allValue"], ".*")
            self.assertEqual(v["datasource"]["uid"], "${DS_PROMETHEUS}")
        self.assertIn('job=~"$job"', variables["instance"]["query"])

    def test_every_query_uses_the_data_source_variable(self):
        for panel in self.panels:
            self.assertEqual(panel["datasource"],
                             {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
                             panel["title"])
            self.assertTrue(panel["targets"], panel["title"])
            for target in panel["targets"]:
                self.assertEqual(target["datasource"], panel["datasource"])

    def test_every_selector_follows_job_and_instance(self):
        for panel in self.panels:
            for target in panel["targets"]:
                for selector in Query(target["expr"]).selectors:
                    with self.subTest(panel=panel["title"],
                                      metric=selector.name):
                        self.assertIn(("job", "=~", "$job"),
                                      selector.matchers)
                        self.assertIn(("instance", "=~", "$instance"),
                                      selector.matchers)

    def test_rates_use_the_rate_interval(self):
        for panel in self.panels:
            for target in panel["targets"]:
                tokens = tokenize(target["expr"])
                for i, token in enumerate(tokens):
                    if token == ("op", "["):
                        self.assertEqual(
                            tokens[i + 1:i + 3],
                            [("variable", "$__rate_interval"), ("op", "]")],
                            panel["title"])

    def test_units_descriptions_and_layout(self):
        cells = set()
        for panel in panels_of(self.dashboard):
            grid = panel["gridPos"]
            self.assertLessEqual(grid["x"] + grid["w"], 24, panel["title"])
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    self.assertNotIn((x, y), cells,
                                     "%s overlaps" % panel["title"])
                    cells.add((x, y))
            if panel["type"] == "row":
                continue
            self.assertTrue(panel["description"], panel["title"])
            self.assertTrue(panel["fieldConfig"]["defaults"].get("unit"),
                            "%s has no unit" % panel["title"])
            steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
            self.assertIsNone(steps[0]["value"], panel["title"])
            values = [s["value"] for s in steps[1:]]
            self.assertEqual(values, sorted(values), panel["title"])

    def test_queries_parse_in_prometheus(self):
        """promtool parses every panel query (as a recording rule, Grafana's
        variables replaced by what Prometheus would receive)."""
        rules = []
        for n, (where, expr) in enumerate(dashboard_queries(self.dashboard)):
            if where.startswith("variable"):
                continue
            rules.append({"record": "dashboard:query_%d" % n,
                          "expr": grafana_to_promql(expr)})
        self.assertGreater(len(rules), 30)
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            yaml.safe_dump({"groups": [{"name": "dashboard",
                                        "rules": rules}]}, f)
            f.flush()
            code, out = run_promtool("check", "rules", f.name)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS: %d rules found" % len(rules), out)


class AlertRulesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.alerts = load_alerts()
        cls.rules = alert_rules(cls.alerts)

    def test_every_rule_is_complete(self):
        names = [r["alert"] for r in self.rules]
        self.assertEqual(len(names), len(set(names)), "alert names repeat")
        for rule in self.rules:
            with self.subTest(alert=rule["alert"]):
                self.assertRegex(rule["alert"], r"^Callpush[A-Z]\w+$")
                self.assertRegex(rule["for"], r"^\d+[mh]$")
                self.assertIn(rule["labels"]["severity"],
                              ("warning", "critical"))
                self.assertEqual(set(rule["annotations"]),
                                 {"summary", "description", "runbook"})
                Query(rule["expr"])  # parses

    def test_the_alerts_the_design_asks_for(self):
        self.assertEqual({r["alert"] for r in self.rules}, {
            "CallpushTargetDown", "CallpushServerTargetsAbsent",
            "CallpushInstanceNotReady", "CallpushNoReadyInstance",
            "CallpushGrpcServerErrorRatioHigh",
            "CallpushHttpServerErrorRatioHigh",
            "CallpushPushFailureRatioHigh", "CallpushPushRejectionRatioHigh",
            "CallpushProviderLatencyHigh", "CallpushApnsCertificateExpiring",
            "CallpushApnsCertificateExpiryCritical",
            "CallpushTokenRefreshFailing", "CallpushTokenStale",
            "CallpushDatabaseErrors", "CallpushDatabasePoolSaturated"})

    def test_promtool_check_rules(self):
        code, out = run_promtool("check", "rules", ALERTS)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS: %d rules found" % len(self.rules), out)

    def test_promtool_test_rules(self):
        code, out = run_promtool("test", "rules", ALERTS_TEST,
                                 cwd=MONITORING_DIR)
        self.assertEqual(code, 0, out)
        self.assertIn("SUCCESS", out)

    def test_rule_tests_cover_every_alert_firing(self):
        with open(ALERTS_TEST, encoding="utf-8") as f:
            tests = yaml.safe_load(f)
        fired = {case["alertname"] for group in tests["tests"]
                 for case in group["alert_rule_test"] if case["exp_alerts"]}
        self.assertEqual(fired, {r["alert"] for r in self.rules})


# ---------------------------------------------------------------------------
# The real server.

class Exposition:
    """Prometheus text: families (# TYPE), each family's label names and
    number of samples."""

    _SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
    _LABEL = re.compile(r'([A-Za-z_]\w*)="((?:[^"\\]|\\.)*)"')

    def __init__(self, text):
        self.types = {}
        self.labels = {}
        self.sample_counts = {}
        self.samples = []  # (name, {label: value}, value)
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, type_ = line.split(" ", 3)
                self.types[name] = type_
                self.labels.setdefault(name, set())
            elif line and not line.startswith("#"):
                m = self._SAMPLE.match(line)
                if not m:
                    raise AssertionError("bad exposition line %r" % line)
                labels = dict(self._LABEL.findall(m.group(2) or ""))
                self.samples.append((m.group(1), labels, float(m.group(3))))
                family, _ = family_of(m.group(1))
                if family not in self.types:
                    family = m.group(1)
                self.labels.setdefault(family, set()).update(labels)
                self.sample_counts[family] = (
                    self.sample_counts.get(family, 0) + 1)

    def value(self, name, **labels):
        """The one sample of `name` whose labels include `labels`."""
        found = [v for n, l, v in self.samples if n == name and
                 all(l.get(k) == want for k, want in labels.items())]
        if len(found) != 1:
            raise AssertionError("%d samples of %s%r" % (len(found), name,
                                                         labels))
        return found[0]


def scrape(address):
    with urllib.request.urlopen("http://%s/metrics" % address,
                                timeout=harness.HTTP_TIMEOUT) as resp:
        if resp.status != 200:
            raise AssertionError("GET /metrics: %d" % resp.status)
        return resp.read().decode("utf-8")


CALLER = "Metrics Test"


class ExpositionTest(unittest.TestCase):
    """The families the dashboard and rules name, on a real server after
    real traffic."""

    @classmethod
    def setUpClass(cls):
        cls.workdir = harness.Workdir()
        cls.db = None
        cls.sandbox = None
        cls.server = None
        try:
            cls._start()
            cls._traffic()
            # --metrics_address (what deploy/k8s scrapes) and the in-process
            # gateway's /metrics: each serves both registries.
            cls.metrics = Exposition(scrape(cls.metrics_address))
            cls.gateway_metrics = Exposition(scrape(cls.server.http))
        except BaseException:
            cls._stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop()

    @classmethod
    def _stop(cls):
        for part in (cls.server, cls.sandbox, cls.db):
            if part is None:
                continue
            if hasattr(part, "stop"):
                part.stop()
            else:
                part.close()
        cls.workdir.remove()

    @classmethod
    def _start(cls):
        cls.db = harness.ScratchDatabase()
        cls.sandbox = harness.Sandbox(cls.workdir.path)
        config = cls.sandbox.push_config()
        # A second app on APNs certificate auth (the sandbox's client
        # certificate): the certificate expiry gauge.
        apns = dict(config["apps"][0]["apns"])
        for field in ("teamId", "keyId", "keyFile"):
            del apns[field]
        apns["certificateFile"] = os.path.join(cls.sandbox.dir, "client.pem")
        apns["certificateKeyFile"] = os.path.join(cls.sandbox.dir,
                                                  "client-key.pem")
        config["apps"].append({"name": "demo-cert", "apns": apns})
        push_config = cls.workdir.file("push-config.json", json.dumps(config))
        cls.server = harness.Server(
            cls.workdir.path, "server", cls.db.url, push_config=push_config,
            migrate=True, extra_flags=["--metrics_address=127.0.0.1:0"])
        cls.metrics_address = cls.server.process.wait_for_line(
            "callpush-server listening metrics=")
        harness.await_status(cls.server.http, "/readyz", 200)

    @classmethod
    def _call(cls, device, expect):
        resp = harness.request(cls.server.http, "POST", "/v1/call", {
            "deviceId": device, "callId": "metrics-%s" % uuid.uuid4().hex,
            "callerName": CALLER})
        if resp.status != expect:
            raise AssertionError("call %s: %r, expected %d" % (device, resp,
                                                               expect))

    @classmethod
    def _traffic(cls):
        seed = harness.Seeder(cls.db)
        number = "+447777100001"
        patient = seed.patient(number)
        tokens = {}

        def ios(name):
            tokens[name] = uuid.uuid4().hex + uuid.uuid4().hex
            return seed.device(patient, "ios", tokens[name], tokens[name])

        def android(name):
            tokens[name] = "fcm-" + uuid.uuid4().hex
            return seed.device(patient, "android", tokens[name], tokens[name])

        devices = {"ios": ios("ios"), "android": android("android"),
                   "dead": ios("dead"), "refused": ios("refused"),
                   "goaway": ios("goaway"), "broken": android("broken")}
        listed = harness.request(
            cls.server.http, "GET",
            "/v1/callable-devices?mobileNumber=%2B447777100001")
        if listed.status != 200 or len(listed.json()) != len(devices):
            raise AssertionError("list: %r" % listed)
        cls.sandbox.put_rules([
            {"token": tokens["dead"], "status": 410, "reason": "Unregistered"},
            {"token": tokens["refused"], "action": "refuse_stream",
             "times": 1},
            {"token": tokens["goaway"], "action": "goaway", "times": 1},
            {"token": tokens["broken"], "status": 500}])
        cls._call(devices["ios"], 202)
        cls._call(devices["android"], 202)
        cls._call(devices["dead"], 404)      # token cleared
        cls._call(devices["refused"], 202)   # resent
        cls._call(devices["goaway"], 202)    # resent on a new connection
        cls._call(devices["broken"], 503)    # provider 5xx
        cls._call(str(uuid.uuid4()), 404)    # no such device: no push
        cls.certificate_not_after = cls._not_after(
            os.path.join(cls.sandbox.dir, "client.pem"))

    @staticmethod
    def _not_after(pem):
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-enddate", "-dateopt", "iso_8601",
             "-in", pem], capture_output=True, text=True, check=True).stdout
        # notAfter=2035-01-01 00:00:00Z
        stamp = out.strip().split("=", 1)[1]
        return calendar.timegm(time.strptime(stamp, "%Y-%m-%d %H:%M:%SZ"))

    def referenced(self):
        """{metric name: [where]} over the dashboard and the rules."""
        out = {}
        queries = (dashboard_queries(load_dashboard()) +
                   rule_queries(load_alerts()))
        for where, expr in queries:
            for name in Query(expr).metric_names():
                out.setdefault(name, []).append(where)
        return out

    def test_every_referenced_family_is_exported(self):
        referenced = self.referenced()
        self.assertGreaterEqual(len(referenced), 20)
        for name, where in sorted(referenced.items()):
            if name in SCRAPE_SERIES:
                continue
            family, suffix = family_of(name)
            with self.subTest(metric=name):
                if suffix and family in self.metrics.types:
                    self.assertEqual(self.metrics.types[family],
                                     "histogram",
                                     "%s used in %s" % (name, where))
                else:
                    self.assertTrue(name in self.metrics.types,
                                    "%s (used in %s) is not exported"
                                    % (name, where[:3]))

    def test_label_names_exist(self):
        """Matchers and grouping labels name labels the families have (the
        traffic above gives every family a series)."""
        queries = (dashboard_queries(load_dashboard()) +
                   rule_queries(load_alerts()))
        for where, expr in queries:
            q = Query(expr)
            known = set(TARGET_LABELS)
            for selector in q.selectors:
                for name in selector.names():
                    if name in SCRAPE_SERIES:
                        continue
                    family, suffix = family_of(name)
                    if family not in self.metrics.types:
                        family = name
                    have = self.metrics.labels.get(family, set())
                    if suffix == "_bucket":
                        have = have | {"le"}
                    else:
                        have = have - {"le"}
                    known |= have
                    with self.subTest(where=where, metric=name):
                        self.assertGreater(
                            self.metrics.sample_counts.get(family, 0), 0,
                            "%s has no series after the traffic" % family)
                        self.assertLessEqual(
                            set(selector.labels()) - TARGET_LABELS, have)
            with self.subTest(where=where):
                self.assertLessEqual(q.grouping_labels, known)

    def test_dashboard_shows_every_exported_family(self):
        shown = {family_of(name)[0] for name in self.referenced()}
        exported = {n for n in self.metrics.types
                    if n.startswith("callpush_")}
        self.assertEqual(exported - shown, set(),
                         "exported but on no dashboard panel or rule")

    def test_both_endpoints_serve_the_same_families(self):
        """One scrape sees the server's and the in-process gateway's
        families, on --metrics_address and on the gateway's /metrics."""
        self.assertEqual(self.gateway_metrics.types, self.metrics.types)
        self.assertEqual(self.metrics.types["callpush_http_requests_total"],
                         "counter")
        self.assertEqual(self.metrics.types["callpush_grpc_requests_total"],
                         "counter")

    def test_the_traffic_is_counted(self):
        m = self.metrics
        self.assertEqual(m.value("callpush_ready"), 1)
        self.assertEqual(m.value("callpush_token_invalidations_total",
                                 provider="apns"), 1)
        self.assertEqual(m.value("callpush_push_attempts_total",
                                 provider="apns", kind="call",
                                 outcome="rejected"), 1)
        self.assertEqual(m.value("callpush_push_attempts_total",
                                 provider="apns", kind="call",
                                 outcome="accepted"), 3)
        self.assertGreaterEqual(m.value("callpush_push_attempts_total",
                                        provider="fcm", kind="call",
                                        outcome="failed"), 1)
        self.assertEqual(m.value("callpush_certificate_expiry_timestamp_"
                                 "seconds", app="demo-cert"),
                         self.certificate_not_after)
        self.assertEqual(m.value("callpush_grpc_requests_total",
                                 method="/callpush.v1.CallService/Call",
                                 code="NOT_FOUND"), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
