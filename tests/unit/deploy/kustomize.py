"""A small kustomize renderer for the subset deploy/ uses, so the tests need no kubectl binary.

Supported: ``resources`` (files, and folders holding a kustomization.yaml), ``namespace``,
``images`` (``newName``, ``newTag``, ``digest``) and ``patches`` given by ``path`` (a strategic
merge patch: maps merge, lists of named items merge by ``name``, other lists are replaced).
Anything else in a kustomization is refused, so a feature the renderer does not know cannot be
silently skipped.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "images", "patches"}
# Objects that live outside any namespace (of the kinds deploy/ uses).
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or a patch misses."""


def render(folder: Path) -> list[Manifest]:
    """Every object the kustomization in ``folder`` builds, in order."""
    spec = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{folder}: unsupported fields {sorted(unknown)}")
    objects: list[Manifest] = []
    for entry in spec.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            objects += render(path)
        else:
            objects += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for patch in spec.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{folder}: only file patches are supported: {patch}")
        for doc in yaml.safe_load_all((folder / patch["path"]).read_text()):
            if doc:
                _apply_patch(objects, doc, folder / patch["path"])
    for image in spec.get("images", []):
        _set_image(objects, image)
    if "namespace" in spec:
        for obj in objects:
            if obj["kind"] not in CLUSTER_SCOPED:
                obj.setdefault("metadata", {})["namespace"] = spec["namespace"]
    return objects


def _apply_patch(objects: list[Manifest], patch: Manifest, source: Path) -> None:
    matches = [
        o for o in objects
        if o["kind"] == patch["kind"] and o["metadata"]["name"] == patch["metadata"]["name"]
    ]
    if len(matches) != 1:
        raise KustomizeError(f"{source}: patch matches {len(matches)} objects, not one")
    target = matches[0]
    target.update(_merge(target, patch))


def _merge(base: Any, patch: Any) -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            merged[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return merged
    if (isinstance(base, list) and isinstance(patch, list)
            and all(isinstance(i, dict) and "name" in i for i in [*base, *patch])):
        merged_list = [dict(i) for i in base]
        for item in patch:
            same = [i for i, b in enumerate(merged_list) if b["name"] == item["name"]]
            if same:
                merged_list[same[0]] = _merge(merged_list[same[0]], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _containers(obj: Manifest) -> list[Manifest]:
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _set_image(objects: list[Manifest], image: Manifest) -> None:
    for obj in objects:
        for container in _containers(obj):
            ref = container["image"]
            name, _, tag = ref.partition("@")[0].rpartition(":")
            if not name or "/" in tag:  # no tag at all
                name, tag = ref.partition("@")[0], ""
            if name != image["name"]:
                continue
            new_name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new_name}@{image['digest']}"
            else:
                container["image"] = f"{new_name}:{image.get('newTag', tag)}"
