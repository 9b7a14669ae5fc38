#!/usr/bin/env python3
"""Checks deploy/k8s and deploy/Dockerfile (issue 5, item 5).

K8sManifestsTest renders the kustomize base and overlays with
`kubectl kustomize` and checks the rendered objects: kinds, probes,
securityContext, selectors, the HorizontalPodAutoscaler's target, the
configuration (against proto/callpush/v1/*.proto), the files it names being
mounted, the migration Job, the shutdown arithmetic, volumes and the
Secrets the operator provides (deploy/k8s/README.md).

DockerfileTest parses deploy/Dockerfile: the stages, the scripts they run
(those CI runs), the non-root user, and that the runtime packages exist in
apt and cover every shared library the built binaries load.

Environment (tests/deploy/CMakeLists.txt sets it):
  CALLPUSH_SOURCE_DIR  the repository (default: two levels up)
  CALLPUSH_KUBECTL     kubectl path(s), os.pathsep-separated: each renders
                       and is checked (default: kubectl on PATH)
  CALLPUSH_BINARIES    callpush-server, callpush-gateway and callpushctl as
                       built, os.pathsep-separated

Standard library and python3-yaml (Debian's) only.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import unittest

import yaml

SOURCE_DIR = os.environ.get("CALLPUSH_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
K8S_DIR = os.path.join(SOURCE_DIR, "deploy", "k8s")

# What each kustomization renders: (kind, name), generated ConfigMaps
# without their hash suffix.
SERVER_OBJECTS = {
    ("ServiceAccount", "callpush"),
    ("ConfigMap", "callpush-config"),
    ("Service", "callpush-server"),
    ("Deployment", "callpush-server"),
    ("PodDisruptionBudget", "callpush-server"),
    ("HorizontalPodAutoscaler", "callpush-server"),
    ("Job", "callpush-migrate"),
}
GATEWAY_OBJECTS = {
    ("ConfigMap", "callpush-gateway-config"),
    ("Service", "callpush-gateway"),
    ("Deployment", "callpush-gateway"),
    ("PodDisruptionBudget", "callpush-gateway"),
    ("HorizontalPodAutoscaler", "callpush-gateway"),
}
RENDERS = {
    "base": (os.path.join(K8S_DIR, "base"), SERVER_OBJECTS, None),
    "example": (os.path.join(K8S_DIR, "overlays", "example"),
                SERVER_OBJECTS | {("Namespace", "callpush")}, "callpush"),
    "example-gateway": (os.path.join(K8S_DIR, "overlays", "example-gateway"),
                        SERVER_OBJECTS | GATEWAY_OBJECTS
                        | {("Namespace", "callpush")}, "callpush"),
}
GENERATED_CONFIGMAPS = {"callpush-config", "callpush-gateway-config"}
CLUSTER_SCOPED = {"Namespace"}

IMAGE_UID = 10001
SERVER_BIN = "/usr/local/bin/callpush-server"
SERVER_CONFIG = "/etc/callpush/config.json"
GATEWAY_BIN = "/usr/local/bin/callpush-gateway"
PORTS = {"grpc": 50051, "http": 8080, "metrics": 9090}
SHUTDOWN_MARGIN_S = 5

# Config fields that name a file (proto JSON names), by message.
FILE_FIELDS = {
    "ServerConfig": ("pushConfigFile",),
    "DatabaseConfig": ("urlFile",),
    "HttpConfig": ("authTokensFile",),
    "ServerTlsConfig": ("certFile", "keyFile", "clientCaFile"),
    "ClientTlsConfig": ("caFile", "certFile", "keyFile"),
    "ApnsAppConfig": ("keyFile", "certificateFile", "certificateKeyFile",
                      "caFile"),
    "FcmAppConfig": ("serviceAccountFile", "caFile"),
}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def kubectls():
    value = os.environ.get("CALLPUSH_KUBECTL", "")
    paths = [p for p in value.split(os.pathsep) if p]
    if not paths:
        found = shutil.which("kubectl")
        paths = [found] if found else []
    return paths


def kubectl_version(kubectl):
    out = subprocess.run([kubectl, "version", "--client"],
                         capture_output=True, text=True, check=True).stdout
    m = (re.search(r'GitVersion:"(v[^"]+)"', out) or
         re.search(r"Client Version: (v\S+)", out))
    return m.group(1) if m else out.strip()


def render(kubectl, directory):
    proc = subprocess.run([kubectl, "kustomize", directory],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise AssertionError("%s kustomize %s failed: %s" %
                             (kubectl, directory, proc.stderr))
    return [o for o in yaml.safe_load_all(proc.stdout) if o]


def base_name(obj):
    """The name without a configMapGenerator hash suffix."""
    name = obj["metadata"]["name"]
    if obj["kind"] == "ConfigMap":
        for generated in GENERATED_CONFIGMAPS:
            if re.fullmatch(re.escape(generated) + r"-[a-z0-9]{10}", name):
                return generated
    return name


def quantity(value):
    """A Kubernetes CPU or memory quantity as a float (cores or bytes)."""
    value = str(value)
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3,
             "M": 1e6, "G": 1e9}
    m = re.fullmatch(r"([0-9.]+)(m|Ki|Mi|Gi|k|M|G)?", value)
    if not m:
        raise AssertionError("bad quantity %r" % value)
    return float(m.group(1)) * units.get(m.group(2), 1)


def duration_seconds(value):
    """A config duration ("10s", "500ms", "2m", "720h") in seconds."""
    m = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)", value)
    if not m:
        raise AssertionError("bad duration %r" % value)
    return float(m.group(1)) * {"ms": 1e-3, "s": 1, "m": 60,
                                "h": 3600}[m.group(2)]


def port_of(address):
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise AssertionError("address %r is not host:port" % address)
    return int(port)


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def load_protos():
    """Message name -> {json name: (type, repeated)} from the config protos.

    Both the proto name and the camelCase JSON name map to the field, as the
    config loader accepts both.
    """
    messages = {}
    proto_dir = os.path.join(SOURCE_DIR, "proto", "callpush", "v1")
    for file in ("server_config.proto", "push_config.proto"):
        text = re.sub(r"//[^\n]*", "", read(os.path.join(proto_dir, file)))
        for m in re.finditer(r"message\s+(\w+)\s*\{([^{}]*)\}", text):
            fields = {}
            for f in re.finditer(
                    r"(repeated\s+)?([\w.]+)\s+(\w+)\s*=\s*\d+\s*;",
                    m.group(2)):
                spec = (f.group(2), bool(f.group(1)))
                fields[f.group(3)] = spec
                fields[camel(f.group(3))] = spec
            messages[m.group(1)] = fields
    return messages


PROTOS = load_protos()
SCALARS = {"string": str, "bool": bool, "int32": int, "int64": int}


def check_message(test, message, value, where):
    """Asserts that JSON `value` is a valid `message` (no unknown field)."""
    test.assertIsInstance(value, dict, where)
    fields = PROTOS[message]
    for key, item in value.items():
        test.assertIn(key, fields, "%s.%s: no such field in %s" %
                      (where, key, message))
        ftype, repeated = fields[key]
        items = item if repeated else [item]
        if repeated:
            test.assertIsInstance(item, list, "%s.%s" % (where, key))
        for i, element in enumerate(items):
            at = "%s.%s%s" % (where, key, "[%d]" % i if repeated else "")
            if ftype in PROTOS:
                check_message(test, ftype, element, at)
            else:
                test.assertIn(ftype, SCALARS, at)
                test.assertIsInstance(element, SCALARS[ftype], at)
                if ftype != "bool":
                    test.assertNotIsInstance(element, bool, at)


def file_paths(message, value, where):
    """(where, path) of every file the config names."""
    out = []
    fields = PROTOS[message]
    for key, item in value.items():
        ftype, repeated = fields[key]
        if key in FILE_FIELDS.get(message, ()) and item:
            out.append(("%s.%s" % (where, key), item))
        if ftype in PROTOS:
            for i, element in enumerate(item if repeated else [item]):
                out += file_paths(ftype, element, "%s.%s%s" % (
                    where, key, "[%d]" % i if repeated else ""))
    return out


def operator_secrets():
    """{secret: {key: mount path}} from deploy/k8s/README.md's table."""
    secrets = {}
    for m in re.finditer(r"^\| `([a-z0-9-]+)` \| `([^`]+)` \| `([^`]+)` \|",
                         read(os.path.join(K8S_DIR, "README.md")), re.M):
        secrets.setdefault(m.group(1), {})[m.group(2)] = m.group(3)
    return secrets


def deployments(rendered):
    return sorted(d["metadata"]["name"]
                  for d in rendered.of_kind("Deployment"))


class Rendered:
    """One `kubectl kustomize` output, indexed."""

    def __init__(self, objects):
        self.objects = objects
        self.by_key = {}
        for o in objects:
            key = (o["kind"], base_name(o))
            assert key not in self.by_key, "duplicate %s" % (key,)
            self.by_key[key] = o

    def of_kind(self, kind):
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind, name):
        return self.by_key[(kind, name)]

    def workloads(self):
        """(object, pod template) of every Deployment and Job."""
        return [(o, o["spec"]["template"]) for o in self.objects
                if o["kind"] in ("Deployment", "Job")]

    def configmap_by_real_name(self, name):
        for o in self.of_kind("ConfigMap"):
            if o["metadata"]["name"] == name:
                return o
        return None


class ContainerFiles:
    """The files a container sees through its ConfigMap/Secret mounts."""

    def __init__(self, rendered, pod_spec, container):
        volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
        self.mounts = []
        for mount in container.get("volumeMounts", []):
            self.mounts.append((mount["mountPath"].rstrip("/"),
                                volumes[mount["name"]]))
        self.rendered = rendered

    def resolve(self, path):
        """('configMap', data value) or ('secret', (name, key)) or None."""
        directory, _, key = path.rpartition("/")
        for mount_path, volume in self.mounts:
            if mount_path != directory:
                continue
            if "configMap" in volume:
                cm = self.rendered.configmap_by_real_name(
                    volume["configMap"]["name"])
                if cm is None or key not in cm.get("data", {}):
                    return None
                return ("configMap", cm["data"][key])
            if "secret" in volume:
                return ("secret", (volume["secret"]["secretName"], key))
        return None


def config_arg(container):
    args = container.get("command", []) + container.get("args", [])
    configs = [a.split("=", 1)[1] for a in args if a.startswith("--config=")]
    return configs[0] if len(configs) == 1 else None


class K8sManifestsTest(unittest.TestCase):
    """Every check runs on every render by every kubectl given."""

    @classmethod
    def setUpClass(cls):
        cls.kubectls = kubectls()
        cls.renders = {}
        for kubectl in cls.kubectls:
            for name, (directory, _, _) in RENDERS.items():
                cls.renders[(kubectl, name)] = Rendered(
                    render(kubectl, directory))

    def each(self):
        """[(render name, Rendered, subTest label)] of every render."""
        self.assertTrue(self.kubectls, "no kubectl (deploy/install-deps.sh "
                        "installs Debian's kubernetes-client)")
        return [(name, rendered, "%s kustomize %s" % (kubectl, name))
                for (kubectl, name), rendered in self.renders.items()]

    def containers(self, rendered):
        for obj, template in rendered.workloads():
            for c in template["spec"].get("containers", []) + \
                    template["spec"].get("initContainers", []):
                yield obj, template, c

    def test_kubectl_versions(self):
        # Debian 12's kubectl 1.20 (kustomize v2.0.3) is the oldest these
        # manifests are written for.
        self.assertTrue(self.kubectls)
        for kubectl in self.kubectls:
            version = kubectl_version(kubectl)
            print("kubectl %s: %s" % (kubectl, version), file=sys.stderr)
            m = re.match(r"v1\.([0-9]+)\.", version)
            self.assertIsNotNone(m, version)
            self.assertGreaterEqual(int(m.group(1)), 20)

    def test_objects_rendered(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                self.assertEqual(set(rendered.by_key), RENDERS[name][1])
                # No Secret in the tree: the operator makes them.
                self.assertEqual(rendered.of_kind("Secret"), [])

    def test_namespace(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                namespace = RENDERS[name][2]
                for o in rendered.objects:
                    if o["kind"] in CLUSTER_SCOPED:
                        self.assertNotIn("namespace", o["metadata"])
                    else:
                        self.assertEqual(o["metadata"].get("namespace"),
                                         namespace, o["metadata"]["name"])
                if namespace:
                    ns = rendered.get("Namespace", namespace)
                    # Pod Security Admission's strictest profile: the checks
                    # of test_security_context are what it enforces.
                    self.assertEqual(
                        ns["metadata"]["labels"]
                        ["pod-security.kubernetes.io/enforce"], "restricted")

    def test_images(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                images = {c["image"] for _, _, c in self.containers(rendered)}
                want = ("callpush" if name == "base" else
                        "registry.example.com/callpush:1.0.0")
                self.assertEqual(images, {want})

    def test_server_ports_and_config_addresses(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                dep = rendered.get("Deployment", "callpush-server")
                (c,) = dep["spec"]["template"]["spec"]["containers"]
                self.assertEqual(c["command"], [SERVER_BIN])
                self.assertEqual(c["args"], ["--config=" + SERVER_CONFIG])
                self.assertEqual(
                    {p["name"]: p["containerPort"] for p in c["ports"]}, PORTS)
                config = self.config_of(rendered, dep, c)
                self.assertEqual(port_of(config["grpcAddress"]), PORTS["grpc"])
                self.assertEqual(port_of(config["httpAddress"]), PORTS["http"])
                self.assertEqual(port_of(config["metricsAddress"]),
                                 PORTS["metrics"])
                for key in ("grpcAddress", "httpAddress", "metricsAddress"):
                    # Reachable from the kubelet and other pods.
                    self.assertTrue(config[key].startswith("0.0.0.0:"), key)

    def test_probes(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                dep = rendered.get("Deployment", "callpush-server")
                (c,) = dep["spec"]["template"]["spec"]["containers"]
                live, ready = c["livenessProbe"], c["readinessProbe"]
                self.assertEqual(live["grpc"]["port"], PORTS["grpc"])
                self.assertEqual(live["grpc"].get("service", ""), "")
                self.assertEqual(ready["grpc"]["port"], PORTS["grpc"])
                self.assertEqual(ready["grpc"]["service"],
                                 "callpush.v1.CallService")
                for probe in (live, ready):
                    self.assertNotIn("httpGet", probe)
                    self.assertGreaterEqual(probe["failureThreshold"], 2)
                if ("Deployment", "callpush-gateway") not in rendered.by_key:
                    continue
                gw = rendered.get("Deployment", "callpush-gateway")
                (g,) = gw["spec"]["template"]["spec"]["containers"]
                self.assertEqual(g["command"], [GATEWAY_BIN])
                self.assertEqual(g["args"],
                                 ["--config=/etc/callpush/gateway.json"])
                ports = {p["name"]: p["containerPort"] for p in g["ports"]}
                self.assertEqual(ports, {"http": PORTS["http"]})
                config = self.config_of(rendered, gw, g)
                self.assertEqual(port_of(config["httpAddress"]), PORTS["http"])
                for probe, path in ((g["livenessProbe"], "/healthz"),
                                    (g["readinessProbe"], "/readyz")):
                    self.assertEqual(probe["httpGet"]["path"], path)
                    self.assertEqual(ports[probe["httpGet"]["port"]],
                                     PORTS["http"])
                    self.assertNotIn("grpc", probe)

    def test_gateway_targets_the_server_service(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                if ("Deployment", "callpush-gateway") not in rendered.by_key:
                    continue
                gw = rendered.get("Deployment", "callpush-gateway")
                (g,) = gw["spec"]["template"]["spec"]["containers"]
                config = self.config_of(rendered, gw, g)
                host, _, port = config["grpcTarget"].rpartition(":")
                svc = rendered.get("Service", host)
                ports = {p["name"]: p["port"] for p in svc["spec"]["ports"]}
                self.assertEqual(int(port), ports["grpc"])
                self.assertEqual(svc["spec"]["selector"]
                                 ["app.kubernetes.io/component"], "server")

    def test_resources(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for obj, _, c in self.containers(rendered):
                    res = c["resources"]
                    for kind in ("cpu", "memory"):
                        self.assertLessEqual(quantity(res["requests"][kind]),
                                             quantity(res["limits"][kind]),
                                             "%s %s" % (
                                                 obj["metadata"]["name"],
                                                 kind))
                        self.assertGreater(quantity(res["requests"][kind]), 0)
                if name != "base":
                    dep = rendered.get("Deployment", "callpush-server")
                    (c,) = dep["spec"]["template"]["spec"]["containers"]
                    self.assertEqual(c["resources"]["limits"],
                                     {"cpu": "2", "memory": "1Gi"})

    def test_security_context(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for obj, template in rendered.workloads():
                    spec = template["spec"]
                    where = obj["metadata"]["name"]
                    pod = spec["securityContext"]
                    self.assertIs(pod["runAsNonRoot"], True, where)
                    self.assertEqual(pod["runAsUser"], IMAGE_UID, where)
                    self.assertEqual(pod["runAsGroup"], IMAGE_UID, where)
                    self.assertEqual(pod["fsGroup"], IMAGE_UID, where)
                    self.assertEqual(pod["seccompProfile"],
                                     {"type": "RuntimeDefault"}, where)
                    self.assertIs(spec["automountServiceAccountToken"], False)
                    for host in ("hostNetwork", "hostPID", "hostIPC"):
                        self.assertNotIn(host, spec, where)
                    for v in spec.get("volumes", []):
                        # Pod Security "restricted" volume types, and no more.
                        self.assertEqual(set(v) - {"name"} <=
                                         {"configMap", "secret", "emptyDir"},
                                         True, "%s volume %s" % (where, v))
                    for c in (spec["containers"] +
                              spec.get("initContainers", [])):
                        sc = c["securityContext"]
                        self.assertIs(sc["runAsNonRoot"], True, where)
                        self.assertEqual(sc["runAsUser"], IMAGE_UID, where)
                        self.assertIs(sc["allowPrivilegeEscalation"], False)
                        self.assertIs(sc["readOnlyRootFilesystem"], True)
                        self.assertIs(sc.get("privileged", False), False)
                        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
                        self.assertEqual(sc["seccompProfile"],
                                         {"type": "RuntimeDefault"})

    def test_service_account(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                sa = rendered.get("ServiceAccount", "callpush")
                self.assertIs(sa["automountServiceAccountToken"], False)
                for obj, template in rendered.workloads():
                    self.assertEqual(template["spec"]["serviceAccountName"],
                                     "callpush")

    def selected_workloads(self, rendered, match_labels):
        """Names of the Deployments and Jobs whose pods the labels select."""
        return sorted(
            obj["metadata"]["name"] for obj, template in rendered.workloads()
            if match_labels.items() <= template["metadata"]["labels"].items())

    def test_deployment_selectors(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for dep in rendered.of_kind("Deployment"):
                    selector = dep["spec"]["selector"]["matchLabels"]
                    self.assertEqual(set(selector), {
                        "app.kubernetes.io/name",
                        "app.kubernetes.io/component"})
                    # Its selector picks its own pods and no other workload's.
                    self.assertEqual(
                        self.selected_workloads(rendered, selector),
                        [dep["metadata"]["name"]])
                    # The autoscaler owns the count: an apply must not
                    # reset it.
                    self.assertNotIn("replicas", dep["spec"])
                    rolling = dep["spec"]["strategy"]["rollingUpdate"]
                    self.assertEqual(rolling["maxUnavailable"], 0)

    def test_pod_disruption_budgets(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                covered = []
                for pdb in rendered.of_kind("PodDisruptionBudget"):
                    self.assertEqual(pdb["apiVersion"], "policy/v1")
                    labels = pdb["spec"]["selector"]["matchLabels"]
                    (target,) = self.selected_workloads(rendered, labels)
                    dep = rendered.get("Deployment", target)
                    self.assertEqual(labels,
                                     dep["spec"]["selector"]["matchLabels"])
                    self.assertEqual(pdb["spec"]["maxUnavailable"], 1)
                    hpa = rendered.get("HorizontalPodAutoscaler", target)
                    # One pod may go while at least one serves.
                    self.assertGreater(hpa["spec"]["minReplicas"],
                                       pdb["spec"]["maxUnavailable"])
                    covered.append(target)
                self.assertEqual(sorted(covered), deployments(rendered))

    def test_horizontal_pod_autoscalers(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                targets = []
                for hpa in rendered.of_kind("HorizontalPodAutoscaler"):
                    self.assertEqual(hpa["apiVersion"], "autoscaling/v2")
                    ref = hpa["spec"]["scaleTargetRef"]
                    self.assertEqual((ref["apiVersion"], ref["kind"]),
                                     ("apps/v1", "Deployment"))
                    rendered.get("Deployment", ref["name"])  # exists
                    self.assertEqual(hpa["metadata"]["name"], ref["name"])
                    self.assertEqual(hpa["spec"]["metrics"], [{
                        "type": "Resource",
                        "resource": {"name": "cpu", "target": {
                            "type": "Utilization",
                            "averageUtilization": 70}}}])
                    self.assertGreaterEqual(hpa["spec"]["minReplicas"], 2)
                    self.assertGreaterEqual(hpa["spec"]["maxReplicas"],
                                            hpa["spec"]["minReplicas"])
                    targets.append(ref["name"])
                self.assertEqual(sorted(targets), deployments(rendered))
                server = rendered.get("HorizontalPodAutoscaler",
                                      "callpush-server")
                want = (2, 10) if name == "base" else (3, 6)
                self.assertEqual((server["spec"]["minReplicas"],
                                  server["spec"]["maxReplicas"]), want)

    def test_database_connections_fit(self):
        # maxReplicas x database.workers stays within Postgres' default
        # max_connections (100), with room for the migrate Job and psql.
        for name, rendered, label in self.each():
            with self.subTest(label):
                dep = rendered.get("Deployment", "callpush-server")
                (c,) = dep["spec"]["template"]["spec"]["containers"]
                config = self.config_of(rendered, dep, c)
                workers = config["database"]["workers"]
                hpa = rendered.get("HorizontalPodAutoscaler",
                                   "callpush-server")
                self.assertLessEqual(hpa["spec"]["maxReplicas"] * workers, 90)

    def test_services_select_pods(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for svc in rendered.of_kind("Service"):
                    selector = svc["spec"]["selector"]
                    (target,) = self.selected_workloads(rendered, selector)
                    dep = rendered.get("Deployment", target)
                    self.assertEqual(svc["metadata"]["name"], target)
                    ports = {p["name"]: p["containerPort"] for c in
                             dep["spec"]["template"]["spec"]["containers"]
                             for p in c["ports"]}
                    self.assertEqual(
                        {p["name"]: (p["port"], p["targetPort"])
                         for p in svc["spec"]["ports"]},
                        {n: (port, n) for n, port in ports.items()})

    def test_prometheus_scrape(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for dep in rendered.of_kind("Deployment"):
                    template = dep["spec"]["template"]
                    notes = template["metadata"]["annotations"]
                    self.assertEqual(notes["prometheus.io/scrape"], "true")
                    self.assertEqual(notes["prometheus.io/path"], "/metrics")
                    ports = {p["name"]: p["containerPort"]
                             for c in template["spec"]["containers"]
                             for p in c["ports"]}
                    want = ports.get("metrics", ports["http"])
                    self.assertEqual(notes["prometheus.io/port"], str(want))
                server = rendered.get("Deployment", "callpush-server")
                (c,) = server["spec"]["template"]["spec"]["containers"]
                self.assertIn({"name": "metrics",
                               "containerPort": PORTS["metrics"],
                               "protocol": "TCP"}, c["ports"])

    def config_of(self, rendered, obj, container):
        """The JSON config a container's --config names, from its mounts."""
        path = config_arg(container)
        self.assertIsNotNone(path, obj["metadata"]["name"])
        files = ContainerFiles(rendered, obj["spec"]["template"]["spec"],
                               container)
        found = files.resolve(path)
        self.assertIsNotNone(found, "%s: %s not mounted" %
                             (obj["metadata"]["name"], path))
        self.assertEqual(found[0], "configMap")
        return json.loads(found[1])

    def test_config_maps_are_valid_config(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for cm in rendered.of_kind("ConfigMap"):
                    data = cm["data"]
                    want = ({"config.json", "push.json"}
                            if base_name(cm) == "callpush-config"
                            else {"gateway.json"})
                    self.assertEqual(set(data), want)
                    for key, text in data.items():
                        message = ("PushConfig" if key == "push.json"
                                   else "ServerConfig")
                        check_message(self, message, json.loads(text), key)
                config = json.loads(
                    rendered.get("ConfigMap", "callpush-config")
                    ["data"]["config.json"])
                for key in ("grpcAddress", "httpAddress", "metricsAddress",
                            "logLevel", "database", "shutdown",
                            "pushConfigFile", "http"):
                    self.assertIn(key, config)
                # Secrets by file only; auth on (the gateway listens beyond
                # loopback); migrations by the Job.
                self.assertNotIn("url", config["database"])
                self.assertIn("urlFile", config["database"])
                self.assertIs(config["database"]["migrateOnStart"], False)
                self.assertIs(config["http"]["insecureNoAuth"], False)
                self.assertIn("authTokensFile", config["http"])
                push = json.loads(rendered.get("ConfigMap", "callpush-config")
                                  ["data"]["push.json"])
                apps = [a["name"] for a in push["apps"]]
                self.assertEqual(apps, ["example"] if name == "base"
                                 else ["acme-care"])
                if ("ConfigMap", "callpush-gateway-config") in rendered.by_key:
                    gw = json.loads(rendered.get(
                        "ConfigMap", "callpush-gateway-config")
                        ["data"]["gateway.json"])
                    self.assertEqual(set(gw), {"httpAddress", "grpcTarget",
                                               "logLevel", "shutdown", "http"})
                    self.assertIs(gw["http"]["insecureNoAuth"], False)

    def test_config_files_are_mounted(self):
        # Every file a config names is in a mounted ConfigMap key or a
        # mounted operator-provided Secret's documented key.
        secrets = operator_secrets()
        for name, rendered, label in self.each():
            with self.subTest(label):
                for obj, template, c in self.containers(rendered):
                    where = obj["metadata"]["name"]
                    files = ContainerFiles(rendered, template["spec"], c)
                    config = self.config_of(rendered, obj, c)
                    paths = file_paths("ServerConfig", config, "config")
                    if obj["kind"] == "Job":
                        # migrate needs the database only: no push credentials,
                        # no gateway tokens are mounted.
                        paths = [(w, p) for w, p in paths
                                 if w == "config.database.urlFile"]
                        self.assertEqual(len(paths), 1)
                        self.assertEqual(
                            sorted(v["secret"]["secretName"]
                                   for v in template["spec"]["volumes"]
                                   if "secret" in v), ["callpush-database"])
                    if "pushConfigFile" in config and obj["kind"] != "Job":
                        found = files.resolve(config["pushConfigFile"])
                        self.assertEqual(found[0], "configMap")
                        paths += file_paths("PushConfig", json.loads(found[1]),
                                            "push")
                    self.assertTrue(paths)
                    for field, path in paths:
                        found = files.resolve(path)
                        self.assertIsNotNone(
                            found, "%s: %s = %s is not mounted" %
                            (where, field, path))
                        if found[0] == "secret":
                            secret, key = found[1]
                            self.assertIn(secret, secrets, "%s: %s" %
                                          (where, field))
                            self.assertEqual(secrets[secret].get(key), path,
                                             "%s: %s" % (where, field))

    def test_migration_job(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                job = rendered.get("Job", "callpush-migrate")
                spec = job["spec"]["template"]["spec"]
                (c,) = spec["containers"]
                self.assertEqual(c["command"], [SERVER_BIN])
                self.assertEqual(c["args"],
                                 ["migrate", "--config=" + SERVER_CONFIG])
                self.assertEqual(spec["restartPolicy"], "Never")
                self.assertGreaterEqual(job["spec"]["backoffLimit"], 1)
                self.assertGreater(job["spec"]["activeDeadlineSeconds"], 0)
                server = rendered.get("Deployment", "callpush-server")
                (s,) = server["spec"]["template"]["spec"]["containers"]
                self.assertEqual(c["image"], s["image"])
                self.assertNotIn("lifecycle", c)

    def test_shutdown_grace_arithmetic(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for dep in rendered.of_kind("Deployment"):
                    spec = dep["spec"]["template"]["spec"]
                    (c,) = spec["containers"]
                    command = c["lifecycle"]["preStop"]["exec"]["command"]
                    self.assertEqual(command[0], "/bin/sleep")
                    (pre_stop,) = [float(a) for a in command[1:]]
                    shutdown = self.config_of(rendered, dep, c)["shutdown"]
                    drain = duration_seconds(shutdown["drainDelay"])
                    grace = duration_seconds(shutdown["grace"])
                    self.assertGreaterEqual(pre_stop, 5)
                    # HTTP/gRPC drain, then the push pools, each within grace.
                    need = pre_stop + drain + 2 * grace + SHUTDOWN_MARGIN_S
                    self.assertGreaterEqual(
                        spec["terminationGracePeriodSeconds"], need,
                        dep["metadata"]["name"])
                    self.assertEqual((pre_stop, drain, grace,
                                      spec["terminationGracePeriodSeconds"]),
                                     (5, 0, 10, 30))

    def test_volumes_and_mounts(self):
        for name, rendered, label in self.each():
            with self.subTest(label):
                for obj, template in rendered.workloads():
                    spec = template["spec"]
                    volumes = [v["name"] for v in spec.get("volumes", [])]
                    self.assertEqual(len(volumes), len(set(volumes)))
                    mounted = set()
                    for c in spec["containers"]:
                        paths = []
                        for m in c.get("volumeMounts", []):
                            self.assertIn(m["name"], volumes)
                            self.assertIs(m["readOnly"], True)
                            mounted.add(m["name"])
                            paths.append(m["mountPath"])
                        self.assertEqual(len(paths), len(set(paths)))
                    self.assertEqual(mounted, set(volumes),
                                     obj["metadata"]["name"])
                    for v in spec.get("volumes", []):
                        if "secret" in v:
                            self.assertEqual(v["secret"]["defaultMode"], 0o440)

    def test_references_exist(self):
        secrets = operator_secrets()
        self.assertEqual(set(secrets), {
            "callpush-database", "callpush-apns", "callpush-fcm",
            "callpush-gateway-tokens"})
        for name, rendered, label in self.each():
            with self.subTest(label):
                configmaps = {o["metadata"]["name"]
                              for o in rendered.of_kind("ConfigMap")}
                for obj, template in rendered.workloads():
                    spec = template["spec"]
                    for v in spec.get("volumes", []):
                        if "configMap" in v:
                            self.assertIn(v["configMap"]["name"], configmaps)
                        if "secret" in v:
                            self.assertIn(v["secret"]["secretName"], secrets)
                    for c in spec["containers"]:
                        for env in c.get("env", []):
                            ref = env.get("valueFrom", {})
                            if "secretKeyRef" in ref:
                                self.assertIn(ref["secretKeyRef"]["name"],
                                              secrets)
                            if "configMapKeyRef" in ref:
                                self.assertIn(ref["configMapKeyRef"]["name"],
                                              configmaps)
                        for src in c.get("envFrom", []):
                            if "secretRef" in src:
                                self.assertIn(src["secretRef"]["name"],
                                              secrets)
                            if "configMapRef" in src:
                                self.assertIn(src["configMapRef"]["name"],
                                              configmaps)
                    rendered.get("ServiceAccount", spec["serviceAccountName"])

    def test_renders_agree_across_kubectls(self):
        # Both kustomize generations give the same objects (hash suffixes
        # of generated ConfigMaps aside).
        def normal(rendered):
            text = yaml.safe_dump(rendered.objects, sort_keys=True)
            text = re.sub(r"(callpush(?:-gateway)?-config)-[a-z0-9]{10}",
                          r"\1", text)
            return yaml.safe_load(text)

        def strip_empty(o):
            if isinstance(o, dict):
                return {k: strip_empty(v) for k, v in o.items()
                        if v not in ({}, None)}
            if isinstance(o, list):
                return [strip_empty(v) for v in o]
            return o

        for name in RENDERS:
            outputs = [strip_empty(normal(self.renders[(k, name)]))
                       for k in self.kubectls]
            for other in outputs[1:]:
                with self.subTest(render=name):
                    self.assertEqual(
                        sorted(outputs[0], key=lambda o: (o["kind"], o[
                            "metadata"]["name"])),
                        sorted(other, key=lambda o: (o["kind"], o[
                            "metadata"]["name"])))


def dockerfile_instructions(path):
    """[(INSTRUCTION, arguments)] with continuations joined."""
    out, current = [], ""
    for line in read(path).splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        word, _, rest = current.partition(" ")
        out.append((word.upper(), rest.strip()))
        current = ""
    assert not current, "dangling continuation"
    return out


def stages(instructions):
    """[{'from':, 'as':, 'steps': [(INSTRUCTION, args)]}]"""
    result = []
    for word, rest in instructions:
        if word == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            result.append({"from": m.group(1), "as": m.group(2), "steps": []})
        else:
            result[-1]["steps"].append((word, rest))
    return result


def runtime_packages():
    text = read(os.path.join(SOURCE_DIR, "deploy", "install-deps.sh"))
    m = re.search(r"^RUNTIME_PACKAGES=\(([^)]*)\)", text, re.M)
    return m.group(1).split()


def apt_depends_closure(packages):
    """Every package apt installs with `packages` (Depends/Pre-Depends)."""
    out = subprocess.run(
        ["apt-cache", "depends", "--recurse", "--important"] + packages,
        capture_output=True, encoding="utf-8", errors="replace",
        check=True).stdout
    names = set()
    for line in out.splitlines():
        m = re.match(r"^\s*(?:\|?(?:Pre)?Depends:\s*)?<?([a-z0-9][^\s:>]*)",
                     line)
        if m:
            names.add(m.group(1))
    return names


def needed_packages(binary):
    """{soname: Debian package} of a binary's direct NEEDED libraries."""
    dump = subprocess.run(["objdump", "-p", binary], capture_output=True,
                          text=True, check=True).stdout
    needed = re.findall(r"^\s*NEEDED\s+(\S+)", dump, re.M)
    ldd = subprocess.run(["ldd", binary], capture_output=True, text=True,
                         check=True).stdout
    where = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    candidates = {}
    for soname in needed:
        path = where[soname]
        paths = [path, os.path.realpath(path)]
        # dpkg knows a file by the path its package ships (merged /usr).
        for p in list(paths):
            if p.startswith("/usr/lib/"):
                paths.append(p[len("/usr"):])
            elif p.startswith("/lib/"):
                paths.append("/usr" + p)
        candidates[soname] = paths
    # One dpkg -S for all (it exits 1 when some path has no owner).
    out = subprocess.run(
        ["dpkg", "-S"] + sorted({p for ps in candidates.values() for p in ps}),
        capture_output=True, text=True).stdout
    owner = {}
    for line in out.splitlines():
        package, _, path = line.partition(": ")
        owner[path.strip()] = package.split(":")[0]
    result = {}
    for soname, paths in candidates.items():
        owners = [owner[p] for p in paths if p in owner]
        if not owners:
            raise AssertionError("%s: no package owns %s" % (binary, paths))
        result[soname] = owners[0]
    return result


class DockerfileTest(unittest.TestCase):
    """deploy/Dockerfile: no Docker engine here, so its parts are checked:
    the scripts it runs are the ones CI runs, the packages exist."""

    @classmethod
    def setUpClass(cls):
        cls.path = os.path.join(SOURCE_DIR, "deploy", "Dockerfile")
        cls.stages = stages(dockerfile_instructions(cls.path))

    def runs(self, stage):
        return [rest for word, rest in stage["steps"] if word == "RUN"]

    def test_stages(self):
        self.assertEqual([(s["from"], s["as"]) for s in self.stages],
                         [("debian:bookworm", "build"),
                          ("debian:bookworm-slim", "runtime")])

    def test_build_stage_runs_the_ci_scripts(self):
        build = self.stages[0]
        runs = " ".join(self.runs(build))
        for script in ("deploy/install-deps.sh", "deploy/build.sh"):
            self.assertIn(script, runs)
            path = os.path.join(SOURCE_DIR, script)
            self.assertTrue(os.access(path, os.X_OK), script)
        self.assertRegex(runs, r"BUILD_TYPE=Release\b")
        self.assertRegex(runs, r"BUILD_TESTING=OFF\b")
        for target in ("callpush-server", "callpush-gateway", "callpushctl"):
            self.assertRegex(runs, r"deploy/build\.sh[^&]*\b%s\b" % target)
        # deploy/build.sh installs the packages and builds; CI builds with
        # it too (tests/run.sh, which .ci/run runs).
        build_sh = read(os.path.join(SOURCE_DIR, "deploy", "build.sh"))
        self.assertIn('"$repo/deploy/install-deps.sh"', build_sh)
        self.assertRegex(build_sh, r"(?s)\ncmake -S .*-DCALLPUSH_WERROR=ON")
        run_sh = read(os.path.join(SOURCE_DIR, "tests", "run.sh"))
        self.assertIn("deploy/build.sh", run_sh)
        self.assertIn("tests/run.sh",
                      read(os.path.join(SOURCE_DIR, ".ci", "run")))
        # Every file the build stage copies in exists.
        for word, rest in build["steps"]:
            if word == "COPY":
                source = shlex.split(rest)[0]
                self.assertTrue(os.path.exists(os.path.join(SOURCE_DIR,
                                                            source)), source)

    def test_runtime_stage(self):
        runtime = self.stages[-1]
        runs = self.runs(runtime)
        self.assertEqual(len(runs), 1)
        self.assertIn("/tmp/install-deps.sh --runtime", runs[0])
        self.assertIn("rm -rf /var/lib/apt/lists/*", runs[0])
        self.assertNotIn("build.sh", runs[0])
        self.assertIn("useradd --uid %d --gid %d" %
                      (IMAGE_UID, IMAGE_UID), runs[0])
        copies = [shlex.split(rest) for word, rest in runtime["steps"]
                  if word == "COPY"]
        self.assertEqual(copies, [
            ["deploy/install-deps.sh", "/tmp/install-deps.sh"],
            ["--from=build", "/out/", "/"]])
        # The binaries land where the manifests run them.
        build_runs = " ".join(self.runs(self.stages[0]))
        self.assertIn("install -D -m 0755 -t /out/usr/local/bin", build_runs)
        for binary in ("server/callpush-server", "gateway/callpush-gateway",
                       "clients/callpushctl/callpushctl"):
            self.assertIn("/src/build-image/" + binary, build_runs)
        (user,) = [rest for word, rest in runtime["steps"] if word == "USER"]
        self.assertRegex(user, r"^[0-9]+:[0-9]+$")
        uid, gid = (int(x) for x in user.split(":"))
        self.assertNotEqual(uid, 0)
        self.assertEqual((uid, gid), (IMAGE_UID, IMAGE_UID))
        (entrypoint,) = [rest for word, rest in runtime["steps"]
                         if word == "ENTRYPOINT"]
        self.assertEqual(json.loads(entrypoint), [SERVER_BIN])
        (expose,) = [rest for word, rest in runtime["steps"]
                     if word == "EXPOSE"]
        self.assertEqual(sorted(int(p) for p in expose.split()),
                         sorted(PORTS.values()))

    def test_runtime_packages_exist(self):
        packages = runtime_packages()
        self.assertIn("ca-certificates", packages)
        self.assertEqual([p for p in packages if p.endswith("-dev")], [])
        # One apt-cache call (each builds its package cache afresh).
        proc = subprocess.run(["apt-cache", "show", "--no-all-versions"] +
                              packages, capture_output=True,
                              encoding="utf-8", errors="replace")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        shown = re.findall(r"(?m)^Package: (\S+)$", proc.stdout)
        self.assertEqual(sorted(shown), sorted(packages))

    def test_runtime_packages_cover_the_binaries(self):
        binaries = [b for b in os.environ.get("CALLPUSH_BINARIES", "").split(
            os.pathsep) if b]
        self.assertEqual(sorted(os.path.basename(b) for b in binaries),
                         ["callpush-gateway", "callpush-server",
                          "callpushctl"])
        closure = apt_depends_closure(runtime_packages())
        for binary in binaries:
            needed = needed_packages(binary)
            self.assertIn("libgrpc++1.51", needed.values())
            for soname, package in needed.items():
                with self.subTest(binary=os.path.basename(binary),
                                  library=soname):
                    self.assertIn(package, closure)

    def test_dockerignore(self):
        lines = read(os.path.join(SOURCE_DIR, ".dockerignore")).splitlines()
        patterns = [line.strip() for line in lines
                    if line.strip() and not line.startswith("#")]
        self.assertFalse([p for p in patterns if p.startswith("!")])

        def regex(pattern):
            out = ""
            for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern):
                out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*",
                        "?": "[^/]"}.get(part, re.escape(part))
            return re.compile(out + "(?:/.*)?")

        compiled = [regex(p) for p in patterns]

        def ignored(path):
            return any(r.fullmatch(path) for r in compiled)

        for path in (".git", "build", "build-snap/server/callpush-server",
                     "tests/run.sh", "deploy/k8s/base/config.json"):
            self.assertTrue(ignored(path), path)
        # Everything the Release build reads is sent.
        kept = ["CMakeLists.txt", "deploy/install-deps.sh", "deploy/build.sh"]
        for top in ("proto", "server", "gateway", "clients"):
            for root, _, files in os.walk(os.path.join(SOURCE_DIR, top)):
                kept += [os.path.relpath(os.path.join(root, f), SOURCE_DIR)
                         for f in files if not f.endswith(".swp")]
        self.assertGreater(len(kept), 50)
        self.assertEqual([p for p in kept if ignored(p)], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
