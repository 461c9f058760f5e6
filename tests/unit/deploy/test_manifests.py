"""deploy/: the base and the production overlay render (without kubectl), every object validates
against the Kubernetes JSON schemas, and production is what a shared cluster needs: pinned
images, no committed secret values, security contexts, autoscalers that can scale, disruption
budgets, scrape targets, ingress only where the public must reach, and network policies that let
each service reach only what it needs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.unit.deploy.kustomize import Manifest, render
from tests.unit.deploy.netpol import Peer, allowed

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
BASE = render(DEPLOY / "base")
PRODUCTION = render(DEPLOY / "overlays" / "production")
NAMESPACE = "whatsapp-inbox"
# The oldest and newest Kubernetes minor versions the manifests are checked against (the
# schemas ship with kubernetes-validate).
KUBERNETES_VERSIONS = ("1.31.0", "1.35.0")
# Custom resources: no schema in the bundle, checked by the tests below instead.
CUSTOM_KINDS = {"ServiceMonitor", "ExternalSecret"}


def _of(objects: list[Manifest], kind: str) -> list[Manifest]:
    return [o for o in objects if o["kind"] == kind]


def _one(objects: list[Manifest], kind: str, name: str) -> Manifest:
    [found] = [o for o in _of(objects, kind) if o["metadata"]["name"] == name]
    return found


def _pod_spec(deployment: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    return spec


def _ids(o: Manifest) -> str:
    return f"{o['kind']}/{o['metadata']['name']}"


DEPLOYMENTS = _of(PRODUCTION, "Deployment")
NAMES = [d["metadata"]["name"] for d in DEPLOYMENTS]


class TestSchemas:
    @pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
    @pytest.mark.parametrize(
        ("overlay", "objects"), [("base", BASE), ("production", PRODUCTION)], ids=["base", "prod"]
    )
    def test_every_object_validates_strictly(self, overlay, objects, version):
        for obj in objects:
            if obj["kind"] in CUSTOM_KINDS:
                continue
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                pytest.fail(f"{overlay} {_ids(obj)} @ {list(exc.path)}: {exc.message}")

    def test_the_validator_refuses_a_misspelt_field(self):
        broken = copy.deepcopy(DEPLOYMENTS[0])
        container = _pod_spec(broken)["containers"][0]
        container["readinesProbe"] = container.pop("readinessProbe")
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)

    def test_only_known_custom_kinds_are_left_unvalidated(self):
        kinds = {o["kind"] for o in PRODUCTION}
        for obj in PRODUCTION:
            if obj["kind"] in CUSTOM_KINDS:
                continue
            # Raises SchemaNotFoundError for a kind the bundle does not know.
            kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[-1])
        assert kinds & CUSTOM_KINDS == CUSTOM_KINDS

    def test_every_namespaced_object_lands_in_the_namespace(self):
        for obj in PRODUCTION:
            if obj["kind"] != "Namespace":
                assert obj["metadata"]["namespace"] == NAMESPACE, _ids(obj)


class TestImages:
    @pytest.mark.parametrize("objects", [BASE, PRODUCTION], ids=["base", "prod"])
    def test_every_image_is_pinned(self, objects):
        for deployment in _of(objects, "Deployment"):
            for container in _pod_spec(deployment)["containers"]:
                image = container["image"]
                name, _, tag = image.rpartition(":")
                assert "@sha256:" in image or (name and tag and tag != "latest"), image

    def test_production_runs_one_released_tag_everywhere(self):
        images = {_pod_spec(d)["containers"][0]["image"] for d in DEPLOYMENTS}
        assert images == {"ghcr.io/whatsapp-inbox/inbox:0.1.0"}


class TestSecrets:
    def test_no_secret_values_are_committed(self):
        for path in DEPLOY.rglob("*.yaml"):
            assert "change-me" not in path.read_text(), path
        for objects in (BASE, PRODUCTION):
            assert _of(objects, "Secret") == []

    def test_the_secret_every_deployment_reads_is_provided_by_an_external_secret(self):
        provided = {e["spec"]["target"]["name"] for e in _of(PRODUCTION, "ExternalSecret")}
        for deployment in DEPLOYMENTS:
            for container in _pod_spec(deployment)["containers"]:
                refs = {s["secretRef"]["name"] for s in container["envFrom"] if "secretRef" in s}
                assert refs, deployment["metadata"]["name"]
                assert refs <= provided, deployment["metadata"]["name"]

    def test_external_secret_names_keys_never_values(self):
        for secret in _of(PRODUCTION, "ExternalSecret"):
            assert secret["apiVersion"] == "external-secrets.io/v1"
            assert secret["spec"]["secretStoreRef"]["name"]
            for item in secret["spec"]["data"]:
                assert set(item) == {"secretKey", "remoteRef"}
                assert set(item["remoteRef"]) == {"key"}


@pytest.mark.parametrize("deployment", DEPLOYMENTS, ids=NAMES)
class TestDeployments:
    def test_runs_locked_down(self, deployment):
        pod = _pod_spec(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert "add" not in sc["capabilities"]
            # A read-only root needs a writable /tmp for spooled uploads.
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            volumes = {v["name"]: v for v in pod["volumes"]}
            assert "emptyDir" in volumes[mounts["/tmp"]]

    def test_autoscaler_can_scale_it(self, deployment):
        name = deployment["metadata"]["name"]
        hpa = _one(PRODUCTION, "HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 1

    def test_disruption_budget_covers_its_pods(self, deployment):
        pdb = _one(PRODUCTION, "PodDisruptionBudget", deployment["metadata"]["name"])
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
        hpa = _one(PRODUCTION, "HorizontalPodAutoscaler", deployment["metadata"]["name"])
        # A budget that allows no disruption at the minimum replica count blocks node drains.
        if "minAvailable" in pdb["spec"]:
            assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]

    def test_is_scraped_on_a_port_it_serves(self, deployment):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        container_ports = {p["name"] for p in _pod_spec(deployment)["containers"][0]["ports"]}
        scraped = []
        for monitor in _of(PRODUCTION, "ServiceMonitor"):
            selector = monitor["spec"]["selector"]["matchLabels"]
            for service in _of(PRODUCTION, "Service"):
                service_labels = service["metadata"].get("labels", {})
                if not (selector.items() <= service_labels.items()
                        and service["spec"]["selector"].items() <= labels.items()):
                    continue
                ports = {p["name"]: p["targetPort"] for p in service["spec"]["ports"]}
                for endpoint in monitor["spec"]["endpoints"]:
                    assert endpoint["path"] == "/metrics"
                    if endpoint["port"] in ports:
                        assert ports[endpoint["port"]] in container_ports
                        scraped.append(endpoint["port"])
        assert scraped, deployment["metadata"]["name"]


class TestIngress:
    def test_routes_only_the_webhook_and_the_inbox(self):
        routed = set()
        for ingress in _of(PRODUCTION, "Ingress"):
            hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
            for rule in ingress["spec"]["rules"]:
                assert rule["host"] in hosts  # TLS on every public host
                for path in rule["http"]["paths"]:
                    backend = path["backend"]["service"]
                    service = _one(PRODUCTION, "Service", backend["name"])
                    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
                    routed.add((backend["name"], path["path"], backend["port"]["name"]))
        assert routed == {("webhook-ingest", "/webhook", "http"), ("inbox-api", "/", "http")}


POLICIES = _of(PRODUCTION, "NetworkPolicy")
CLUSTER = {
    "kafka": Peer(NAMESPACE, {"kubernetes.io/metadata.name": NAMESPACE},
                  {"app.kubernetes.io/name": "kafka"}),
    "mongo": Peer(NAMESPACE, {"kubernetes.io/metadata.name": NAMESPACE},
                  {"app.kubernetes.io/name": "mongo"}),
    "dns": Peer("kube-system", {"kubernetes.io/metadata.name": "kube-system"},
                {"k8s-app": "kube-dns"}),
    "ingress-controller": Peer("ingress-nginx", {"kubernetes.io/metadata.name": "ingress-nginx"},
                               {"app.kubernetes.io/name": "ingress-nginx"}),
    "prometheus": Peer("monitoring", {"kubernetes.io/metadata.name": "monitoring"},
                       {"app.kubernetes.io/name": "prometheus"}),
    "other-namespace-pod": Peer("default", {"kubernetes.io/metadata.name": "default"},
                                {"app": "anything"}),
    "meta": Peer(ip="157.240.1.1"),  # a public address (graph.facebook.com's kind)
    "cluster-internal": Peer(ip="10.1.2.3"),
}
SERVICE_PORTS = {"webhook-ingest": 8080, "inbox-api": 8081, "conversation-store": 8082,
                 "outbound-sender": 8083}
OPS_PORTS = {"webhook-ingest": 8080, "inbox-api": 8085, "conversation-store": 8082,
             "outbound-sender": 8083}
CALLS_META = {"outbound-sender", "conversation-store", "inbox-api"}
PUBLIC = {"webhook-ingest", "inbox-api"}


def _pod(name: str) -> Peer:
    deployment = _one(PRODUCTION, "Deployment", name)
    return Peer(NAMESPACE, {"kubernetes.io/metadata.name": NAMESPACE},
                deployment["spec"]["template"]["metadata"]["labels"])


@pytest.mark.parametrize("name", NAMES)
class TestNetworkPolicies:
    def test_reaches_kafka_mongodb_and_dns(self, name):
        pod = _pod(name)
        assert allowed(POLICIES, "Egress", pod, CLUSTER["kafka"], 9092)
        assert allowed(POLICIES, "Egress", pod, CLUSTER["mongo"], 27017)
        assert allowed(POLICIES, "Egress", pod, CLUSTER["dns"], 53, "UDP")
        assert not allowed(POLICIES, "Egress", pod, CLUSTER["kafka"], 22)
        assert not allowed(POLICIES, "Egress", pod, CLUSTER["other-namespace-pod"], 9092)

    def test_reaches_meta_only_if_it_calls_the_cloud_api(self, name):
        pod = _pod(name)
        assert allowed(POLICIES, "Egress", pod, CLUSTER["meta"], 443) == (name in CALLS_META)
        assert not allowed(POLICIES, "Egress", pod, CLUSTER["meta"], 80)
        assert not allowed(POLICIES, "Egress", pod, CLUSTER["cluster-internal"], 443)

    def test_takes_traffic_from_the_ingress_controller_only_if_public(self, name):
        pod, port = _pod(name), SERVICE_PORTS[name]
        assert allowed(POLICIES, "Ingress", pod, CLUSTER["ingress-controller"], port) == (
            name in PUBLIC)
        assert not allowed(POLICIES, "Ingress", pod, CLUSTER["other-namespace-pod"], port)
        for other in NAMES:  # the services never call each other
            assert not allowed(POLICIES, "Ingress", pod, _pod(other), port)

    def test_prometheus_scrapes_the_ops_port(self, name):
        pod = _pod(name)
        assert allowed(POLICIES, "Ingress", pod, CLUSTER["prometheus"], OPS_PORTS[name])
        if name == "inbox-api":  # the API port is not the ops port
            assert not allowed(POLICIES, "Ingress", pod, CLUSTER["prometheus"], 8081)

    def test_ops_ports_match_the_containers(self, name):
        ports = {p["containerPort"] for p in
                 _pod_spec(_one(PRODUCTION, "Deployment", name))["containers"][0]["ports"]}
        assert {SERVICE_PORTS[name], OPS_PORTS[name]} <= ports


def test_everything_is_denied_by_default():
    [deny] = [p for p in POLICIES if p["spec"]["podSelector"] == {}]
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"]
    assert "egress" not in deny["spec"]
