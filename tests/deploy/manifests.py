"""Reads deploy/ and the Dockerfile and prints, as JSON, what the deployment test checks:
each Deployment's container settings, each ScaledObject's target and query, every metric
name the ScaledObjects, the alert rules and the dashboard refer to, and the Dockerfile's
stages with their instructions in order."""

import json
import pathlib
import re
import sys

import yaml
from dockerfile_parse import DockerfileParser

root = pathlib.Path(sys.argv[1])
documents = []
for path in sorted((root / "kubernetes").glob("*.yaml")):
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            documents.append((path.name, doc))

metric = re.compile(r"\b(dispatch_[a-z_]+)\b")
referenced = {}


def refer(where, text):
    for name in metric.findall(text):
        referenced.setdefault(name, set()).add(where)


deployments = []
scaled = []
for file, doc in documents:
    kind = doc.get("kind")
    if kind == "Deployment":
        spec = doc["spec"]["template"]["spec"]
        for container in spec["containers"]:
            probes = {
                probe: container.get(probe, {}).get("httpGet", {}).get("path")
                for probe in ("readinessProbe", "livenessProbe")
            }
            deployments.append(
                {
                    "name": doc["metadata"]["name"],
                    "file": file,
                    "probes": probes,
                    "pod_security": spec.get("securityContext", {}),
                    "security": container.get("securityContext", {}),
                    "resources": container.get("resources", {}),
                    "env": container.get("env", []),
                    "env_from": container.get("envFrom", []),
                    "grace": spec.get("terminationGracePeriodSeconds"),
                    "mounts": [m["mountPath"] for m in container.get("volumeMounts", [])],
                }
            )
    elif kind == "ScaledObject":
        queries = [t["metadata"].get("query", "") for t in doc["spec"]["triggers"]]
        for query in queries:
            refer(f"{file}: {doc['metadata']['name']}", query)
        scaled.append(
            {
                "name": doc["metadata"]["name"],
                "target": doc["spec"]["scaleTargetRef"]["name"],
                "types": [t["type"] for t in doc["spec"]["triggers"]],
                "queries": queries,
            }
        )

rules = yaml.safe_load((root / "observability" / "alerts.yml").read_text())
for group in rules["groups"]:
    for rule in group["rules"]:
        refer(f"alerts.yml: {rule['alert']}", rule["expr"])
dashboard = json.loads((root / "observability" / "grafana-dashboard.json").read_text())
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        refer(f"grafana-dashboard.json: {panel['title']}", target["expr"])

stages = []
for instruction in DockerfileParser(str(root.parent / "Dockerfile")).structure:
    name, value = instruction["instruction"], instruction["value"]
    if name == "FROM":
        image, _, alias = value.partition(" AS ")
        stages.append({"from": image.strip(), "alias": alias.strip(), "steps": []})
    elif name != "COMMENT" and stages:
        stages[-1]["steps"].append([name, " ".join(value.split())])

print(
    json.dumps(
        {
            "deployments": deployments,
            "scaled_objects": scaled,
            "metrics": {name: sorted(places) for name, places in referenced.items()},
            "docker_stages": stages,
        }
    )
)
