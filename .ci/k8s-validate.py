#!/usr/bin/env python3
"""Validates the Kubernetes manifests in deploy/k8s (CI: .ci/run).

usage: k8s-validate.py [FILE.yaml ...]   (default: every deploy/k8s/*.yaml)

Needs kubernetes-validate (it carries the Kubernetes JSON schemas, so this
runs offline once installed), jsonschema and PyYAML. Checks:

1. Every built-in resource against the schema of KUBERNETES_VERSION, strict
   (an unknown or misspelt field is an error, not ignored).
2. KEDA's ScaledObject and TriggerAuthentication (CRDs, not in those schemas)
   against the small schemas below, written from KEDA's documented spec.
3. What ties the files together: the ScaledObject scales a Deployment that
   exists, its redis-streams triggers name the control plane's real stream
   and consumer group (read from the Rust source and the ConfigMap), their
   authenticationRef exists, and every Secret key they read is in
   secrets.example.yaml.
4. Every Deployment's containers have liveness and readiness probes (named
   ports exist) and every Deployment is covered by a PodDisruptionBudget;
   pods annotated for Prometheus scraping name a port a container declares
   and a path, and their containers' HTTP probes use that metrics port or
   another declared one.
5. Images are pinned: an explicit tag or digest, never `latest`, and our own
   image at one tag everywhere (deploy/k8s and deploy/docker-compose.yml),
   the workspace version from Cargo.toml.
"""

import re
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.31.0"
ROOT = Path(__file__).resolve().parent.parent
OUR_IMAGE = "gswstudio/control-plane"

_STR = {"type": "string", "minLength": 1}
_INT_STR = {"type": "string", "pattern": "^[0-9]+$"}
_NAME = {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {"name": _NAME},
}

# keda.sh/v1alpha1 ScaledObject: https://keda.sh/docs/latest/reference/scaledobject-spec/
# and the redis-streams scaler: https://keda.sh/docs/latest/scalers/redis-streams/
REDIS_STREAMS_METADATA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["stream"],
    "properties": {
        "address": _STR,
        "host": _STR,
        "port": _INT_STR,
        "addressFromEnv": _STR,
        "hostFromEnv": _STR,
        "portFromEnv": _STR,
        "usernameFromEnv": _STR,
        "passwordFromEnv": _STR,
        "stream": _STR,
        "consumerGroup": _STR,
        "pendingEntriesCount": _INT_STR,
        "streamLength": _INT_STR,
        "lagCount": _INT_STR,
        "activationLagCount": _INT_STR,
        "databaseIndex": _INT_STR,
        "enableTLS": {"enum": ["true", "false"]},
        "unsafeSsl": {"enum": ["true", "false"]},
    },
    "allOf": [
        # With a consumer group KEDA counts pending entries (or lag), without
        # one the stream's length: a threshold for the other is ignored.
        {
            "if": {"required": ["consumerGroup"]},
            "then": {"not": {"required": ["streamLength"]}},
            "else": {
                "not": {
                    "anyOf": [
                        {"required": ["pendingEntriesCount"]},
                        {"required": ["lagCount"]},
                    ]
                }
            },
        },
        {"if": {"required": ["lagCount"]}, "then": {"required": ["activationLagCount"]}},
    ],
}

SCALED_OBJECT = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "ScaledObject"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "required": ["scaleTargetRef", "triggers"],
            "properties": {
                "scaleTargetRef": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name"],
                    "properties": {
                        "apiVersion": _STR,
                        "kind": _STR,
                        "name": _NAME,
                        "envSourceContainerName": _STR,
                    },
                },
                "pollingInterval": {"type": "integer", "minimum": 1},
                "cooldownPeriod": {"type": "integer", "minimum": 0},
                "initialCooldownPeriod": {"type": "integer", "minimum": 0},
                "idleReplicaCount": {"type": "integer", "minimum": 0},
                "minReplicaCount": {"type": "integer", "minimum": 0},
                "maxReplicaCount": {"type": "integer", "minimum": 1},
                "fallback": {
                    "type": "object",
                    "required": ["failureThreshold", "replicas"],
                    "properties": {
                        "failureThreshold": {"type": "integer", "minimum": 1},
                        "replicas": {"type": "integer", "minimum": 0},
                    },
                },
                "advanced": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "restoreToOriginalReplicaCount": {"type": "boolean"},
                        "horizontalPodAutoscalerConfig": {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {"name": _STR, "behavior": {"type": "object"}},
                        },
                        "scalingModifiers": {"type": "object"},
                    },
                },
                "triggers": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["type", "metadata"],
                        "properties": {
                            "type": _STR,
                            "name": _STR,
                            "metadata": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "authenticationRef": {
                                "type": "object",
                                "additionalProperties": False,
                                "required": ["name"],
                                "properties": {
                                    "name": _NAME,
                                    "kind": {"enum": ["TriggerAuthentication", "ClusterTriggerAuthentication"]},
                                },
                            },
                            "metricType": {"enum": ["AverageValue", "Value", "Utilization"]},
                            "useCachedMetrics": {"type": "boolean"},
                        },
                        "if": {"properties": {"type": {"const": "redis-streams"}}},
                        "then": {"properties": {"metadata": REDIS_STREAMS_METADATA}},
                    },
                },
            },
        },
    },
}

TRIGGER_AUTHENTICATION = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "keda.sh/v1alpha1"},
        "kind": {"const": "TriggerAuthentication"},
        "metadata": _METADATA,
        "spec": {
            "type": "object",
            "minProperties": 1,
            "properties": {
                "secretTargetRef": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["parameter", "name", "key"],
                        "properties": {"parameter": _STR, "name": _NAME, "key": _STR},
                    },
                },
                "env": {"type": "array"},
                "configMapTargetRef": {"type": "array"},
                "podIdentity": {"type": "object"},
                "hashiCorpVault": {"type": "object"},
            },
        },
    },
}

KEDA_SCHEMAS = {"ScaledObject": SCALED_OBJECT, "TriggerAuthentication": TRIGGER_AUTHENTICATION}


class Report:
    def __init__(self):
        self.errors = []

    def error(self, where, message):
        self.errors.append(f"{where}: {message}")


def load(files, report):
    """Every document of every file, as (where, resource)."""
    resources = []
    for path in files:
        try:
            documents = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError as e:
            report.error(path.name, f"not YAML: {e}")
            continue
        for index, doc in enumerate(documents):
            if doc is None:
                continue
            where = f"{path.name} #{index + 1} {doc.get('kind', '?')}/{doc.get('metadata', {}).get('name', '?')}"
            if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
                report.error(where, "not a Kubernetes resource (no kind or apiVersion)")
                continue
            resources.append((where, doc))
    return resources


def check_schemas(resources, report):
    for where, doc in resources:
        kind = doc["kind"]
        if doc["apiVersion"].startswith("keda.sh/"):
            schema = KEDA_SCHEMAS.get(kind)
            if schema is None:
                report.error(where, f"no schema here for KEDA's {kind}")
                continue
            validator = jsonschema.Draft202012Validator(schema)
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
                path = "/".join(str(p) for p in e.absolute_path)
                report.error(where, f"{path or '(root)'}: {e.message}")
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            path = "/".join(str(p) for p in e.absolute_path)
            report.error(where, f"{path or '(root)'}: {e.message} (Kubernetes {KUBERNETES_VERSION})")
        except kubernetes_validate.SchemaNotFoundError:
            report.error(where, f"unknown kind {doc['apiVersion']} {kind} in Kubernetes {KUBERNETES_VERSION}")


def rust_string(path, pattern):
    match = re.search(pattern, (ROOT / path).read_text())
    if not match:
        raise SystemExit(f"{path}: {pattern!r} not found (did the queue's code move?)")
    return match.group(1)


def of_kind(resources, kind):
    return [(where, doc) for where, doc in resources if doc["kind"] == kind]


def check_scaling(resources, report):
    deployments = {doc["metadata"]["name"] for _, doc in of_kind(resources, "Deployment")}
    auths = {doc["metadata"]["name"]: doc for _, doc in of_kind(resources, "TriggerAuthentication")}
    secret_keys = {}
    for _, doc in of_kind(resources, "Secret"):
        secret_keys[doc["metadata"]["name"]] = set(doc.get("stringData", {})) | set(doc.get("data", {}))
    config = {}
    for _, doc in of_kind(resources, "ConfigMap"):
        config.update(doc.get("data", {}))
    stream = config.get("GSW_QUEUE_STREAM") or rust_string(
        "control-plane/src/settings.rs", r'queue_stream:\s*"([^"]+)"\.into\(\)'
    )
    group = rust_string("control-plane/src/queue/redis.rs", r'pub const GROUP: &str = "([^"]+)";')

    scaled = of_kind(resources, "ScaledObject")
    if not scaled:
        report.error("deploy/k8s", "no KEDA ScaledObject scales the workers")
    for where, doc in scaled:
        spec = doc.get("spec", {})
        target = spec.get("scaleTargetRef", {})
        if target.get("kind", "Deployment") != "Deployment" or target.get("name") not in deployments:
            report.error(where, f"scaleTargetRef {target.get('name')!r} is no Deployment in these files")
        if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
            report.error(where, "minReplicaCount is above maxReplicaCount")
        for trigger in spec.get("triggers", []):
            meta = trigger.get("metadata", {})
            if trigger.get("type") != "redis-streams":
                continue
            if meta.get("stream") != stream:
                report.error(where, f"trigger stream {meta.get('stream')!r} is not the job queue's {stream!r}")
            if "consumerGroup" in meta and meta["consumerGroup"] != group:
                report.error(where, f"consumerGroup {meta['consumerGroup']!r} is not the workers' group {group!r}")
            ref = trigger.get("authenticationRef", {}).get("name")
            auth = auths.get(ref)
            has_address = any(k in meta for k in ("address", "host", "addressFromEnv", "hostFromEnv"))
            if ref is not None and auth is None:
                report.error(where, f"authenticationRef {ref!r} is no TriggerAuthentication in these files")
            if auth is not None:
                refs = auth.get("spec", {}).get("secretTargetRef", [])
                has_address = has_address or any(r.get("parameter") in ("address", "host") for r in refs)
            if not has_address:
                report.error(where, "a redis-streams trigger without a Redis address (metadata or authenticationRef)")
    for name, auth in auths.items():
        for r in auth.get("spec", {}).get("secretTargetRef", []):
            if r.get("key") not in secret_keys.get(r.get("name"), set()):
                report.error(
                    f"TriggerAuthentication/{name}",
                    f"reads key {r.get('key')!r} of Secret {r.get('name')!r}, which secrets.example.yaml does not have",
                )
    if not any(
        t.get("type") == "redis-streams" and "pendingEntriesCount" in t.get("metadata", {})
        for _, doc in scaled
        for t in doc.get("spec", {}).get("triggers", [])
    ):
        report.error("deploy/k8s", "no redis-streams trigger on the stream's pending entries (pendingEntriesCount)")


def check_workloads(resources, report):
    budgets = [doc.get("spec", {}).get("selector", {}).get("matchLabels", {}) for _, doc in of_kind(resources, "PodDisruptionBudget")]
    for where, doc in of_kind(resources, "Deployment"):
        template = doc.get("spec", {}).get("template", {})
        labels = template.get("metadata", {}).get("labels", {})
        if not any(b and b.items() <= labels.items() for b in budgets):
            report.error(where, "no PodDisruptionBudget selects its pods")
        check_scrape_annotations(where, template, report)
        for container in template.get("spec", {}).get("containers", []):
            ports = {p.get("name") for p in container.get("ports", [])}
            for probe in ("livenessProbe", "readinessProbe"):
                spec = container.get(probe)
                if not spec:
                    report.error(where, f"container {container.get('name')!r} has no {probe}")
                    continue
                port = (spec.get("httpGet") or spec.get("tcpSocket") or {}).get("port")
                if isinstance(port, str) and port not in ports:
                    report.error(where, f"{probe} of {container.get('name')!r} uses port {port!r}, which it does not declare")
                numbers = {p.get("containerPort") for p in container.get("ports", [])}
                if isinstance(port, int) and port not in numbers:
                    report.error(where, f"{probe} of {container.get('name')!r} uses port {port}, which it does not declare")


def check_scrape_annotations(where, template, report):
    """`prometheus.io/scrape: "true"` must come with a declared port and a path."""
    annotations = template.get("metadata", {}).get("annotations", {})
    if annotations.get("prometheus.io/scrape") != "true":
        return
    port = annotations.get("prometheus.io/port")
    declared = {
        str(p.get("containerPort"))
        for c in template.get("spec", {}).get("containers", [])
        for p in c.get("ports", [])
    }
    if port not in declared:
        report.error(where, f"prometheus.io/port {port!r} is not a port its containers declare")
    if not str(annotations.get("prometheus.io/path", "")).startswith("/"):
        report.error(where, "prometheus.io/scrape without a prometheus.io/path")


def workspace_version():
    text = (ROOT / "Cargo.toml").read_text()
    match = re.search(r'\[workspace\.package\][^\[]*?\nversion\s*=\s*"([^"]+)"', text)
    if not match:
        raise SystemExit("Cargo.toml: no [workspace.package] version")
    return match.group(1)


def images_in(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "image" and isinstance(item, str):
                yield item
            else:
                yield from images_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from images_in(item)


def check_images(resources, report):
    version = workspace_version()
    found = [(where, image) for where, doc in resources for image in images_in(doc)]
    compose = ROOT / "deploy/docker-compose.yml"
    if compose.exists():
        found += [("docker-compose.yml", image) for image in images_in(yaml.safe_load(compose.read_text()))]
    for where, image in found:
        name, _, digest = image.partition("@")
        last = name.rsplit("/", 1)[-1]
        tag = last.partition(":")[2]
        if not digest and not tag:
            report.error(where, f"image {image!r} has no tag: pin one")
        elif tag == "latest":
            report.error(where, f"image {image!r} is `latest`: pin a version")
        if name.split(":")[0] == OUR_IMAGE and not digest and tag != version:
            report.error(where, f"image {image!r} is not the workspace version {version} (Cargo.toml)")


def main(argv):
    files = [Path(a) for a in argv] or sorted((ROOT / "deploy/k8s").glob("*.yaml"))
    report = Report()
    resources = load(files, report)
    check_schemas(resources, report)
    check_scaling(resources, report)
    check_workloads(resources, report)
    check_images(resources, report)
    if report.errors:
        for line in dict.fromkeys(report.errors):
            print(f"k8s-validate: {line}", file=sys.stderr)
        print(f"k8s-validate: {len(report.errors)} problem(s) in {len(files)} file(s)", file=sys.stderr)
        return 1
    kinds = sorted({doc["kind"] for _, doc in resources})
    print(f"k8s-validate: {len(resources)} resources in {len(files)} files valid "
          f"(Kubernetes {KUBERNETES_VERSION}, KEDA keda.sh/v1alpha1): {', '.join(kinds)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
