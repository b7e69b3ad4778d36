"""The Kubernetes examples in deploy/: they parse, and they name only what the app and Ray read."""

import re

import yaml  # PyYAML comes with requirements-ray.txt, which test.sh installs

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"


def documents(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if d]


def containers(doc: dict) -> list[dict]:
    """Every container of a Deployment or a RayCluster's groups."""
    if doc["kind"] == "Deployment":
        return doc["spec"]["template"]["spec"]["containers"]
    if doc["kind"] == "RayCluster":
        groups = [doc["spec"]["headGroupSpec"], *doc["spec"]["workerGroupSpecs"]]
        return [c for g in groups for c in g["template"]["spec"]["containers"]]
    return []


def app_code() -> str:
    return "\n".join(p.read_text() for d in ("core", "ui") for p in (ROOT / d).rglob("*.py"))


def test_every_manifest_parses_and_every_setting_is_read_by_the_app():
    docs = [d for f in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in documents(f.name)]
    kinds = {d["kind"] for d in docs}
    assert {"RayCluster", "Deployment", "Service", "Ingress", "Secret"} <= kinds
    code = app_code()
    names = {e["name"] for d in docs for c in containers(d) for e in c.get("env", [])}
    ours = {n for n in names if n.startswith("DIGITLAB_")}
    assert ours, "the app servers get no Digit Lab settings"
    assert not [n for n in ours if n not in code], "a setting the app never reads"


def test_the_cluster_and_the_app_share_secrets_and_token_auth():
    secret_keys = set(documents("secrets.yaml")[0]["stringData"])
    for doc in documents("raycluster.yaml") + documents("app.yaml"):
        for container in containers(doc):
            env = {e["name"]: e for e in container.get("env", [])}
            assert env["RAY_AUTH_TOKEN"]["valueFrom"]["secretKeyRef"]["key"] in secret_keys
            refs = [e["valueFrom"]["secretKeyRef"]["key"] for e in env.values() if "valueFrom" in e]
            assert set(refs) <= secret_keys
    head = documents("raycluster.yaml")[0]["spec"]["headGroupSpec"]
    assert head["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "RAY_AUTH_MODE",
        "value": "token",
    }
    ingress = next(d for d in documents("app.yaml") if d["kind"] == "Ingress")
    assert ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"] == "cookie"


def test_the_image_copies_files_that_exist_and_runs_the_app_server_script():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    for line in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for name in line.split():
            assert (ROOT / name).exists() or name == ".", name
    assert (ROOT / "deploy" / "app-server.sh").exists()
    assert "streamlit run streamlit_app.py" in (ROOT / "deploy" / "app-server.sh").read_text()
