"""quality.toml's JSON Schema (quality.schema.json beside this file), with its enums filled in from what they
name: the suite registry, the size probe's features and bench/'s cargo profiles. An error names the key path
in TOML's words (`[size.configurations.cqrs].features[2]`), the bad value and the valid choices, as asv does
for its config.
"""
from __future__ import annotations

import json
import re
import tomllib
from functools import lru_cache
from pathlib import Path

import jsonschema

from ..core import paths, registry

SCHEMA_FILE = Path(__file__).with_name("quality.schema.json")


def probe_features(bench: Path | None = None) -> list[str]:
    """The feature names the size probe can build: its Cargo.toml [features] minus default."""
    manifest = (bench or paths.BENCH) / "size-probe" / "Cargo.toml"
    return sorted(set(tomllib.loads(manifest.read_text())["features"]) - {"default"})


def cargo_profiles(bench: Path | None = None) -> list[str]:
    manifest = (bench or paths.BENCH) / "Cargo.toml"
    return sorted({"release"} | set(tomllib.loads(manifest.read_text()).get("profile", {})))


def _enums() -> dict[str, list[str]]:
    return {"size_metrics": list(registry.SIZE_METRICS), "probe_features": probe_features(),
            "cargo_profiles": cargo_profiles(), "memory_payloads": list(registry.MEMORY_PAYLOADS),
            "memory_backends": list(registry.MEMORY_BACKENDS), "throughput_peers": list(registry.THROUGHPUT_PEERS),
            "tfb_tests": list(registry.TFB_TESTS)}


def _fill(node, enums: dict, patterns: dict):
    if isinstance(node, dict):
        out = {k: _fill(v, enums, patterns) for k, v in node.items()}
        if "x-enum" in out:
            out["enum"] = enums[out["x-enum"]]
        if "x-pattern" in out:
            out["pattern"] = patterns[out["x-pattern"]]
        return out
    if isinstance(node, list):
        return [_fill(v, enums, patterns) for v in node]
    return node


@lru_cache(maxsize=1)
def schema() -> dict:
    suites = "|".join(re.escape(s) for s in registry.MEASURING)
    return _fill(json.loads(SCHEMA_FILE.read_text()), _enums(), {"check_id": rf"^({suites})\."})


def where(path, table: bool = False) -> str:
    """A key path as TOML says it: ['size', 'configurations', 'cqrs', 'features', 2] -> [size.configurations.cqrs].features[2];
    a path to a table (`table`) is the table's header: [throughput.min_share_pct]."""
    keys = list(path)
    if table and keys and not any(isinstance(k, int) for k in keys):
        return f"[{'.'.join(map(str, keys))}]"
    tables, rest = [], []
    for i, k in enumerate(keys):
        if isinstance(k, int):
            rest = keys[i - 1:] if i else keys
            tables = keys[:i - 1] if i else []
            break
    else:
        tables, rest = keys[:-1], keys[-1:]
    head = f"[{'.'.join(map(str, tables))}]" if tables else ""
    tail = "".join(f"[{k}]" if isinstance(k, int) else (f".{k}" if head or j else str(k)) for j, k in enumerate(rest))
    return head + tail or "the top level"


def _message(e: jsonschema.ValidationError) -> str:
    s, v = e.schema if isinstance(e.schema, dict) else {}, e.instance
    if e.validator == "additionalProperties":
        unknown = sorted(set(v) - set(s.get("properties", {})))
        return f"unknown key(s) {unknown}; valid: {sorted(s.get('properties', {}))}"
    if e.validator == "required":
        return f"lacks {[k for k in s['required'] if k not in v]}"
    if e.validator == "enum":
        return f"{v!r} is not a valid choice; valid: {s['enum']}"
    if e.validator == "const":
        return f"{v!r} is not supported; valid: [{s['const']!r}]"
    if "x-message" in s:
        return f"must be {s['x-message']}, got {v!r}"
    return e.message


def _at(raw, path):
    for k in path:
        raw = raw[k]
    return raw


def errors(raw: dict) -> list[str]:
    """Every schema violation of a parsed quality.toml, as 'where: what' lines (empty when it is valid)."""
    validator = jsonschema.Draft202012Validator(schema())
    found = [(list(map(str, e.absolute_path)), f"{where(e.absolute_path, isinstance(_at(raw, e.absolute_path), dict))}: {_message(e)}")
             for e in validator.iter_errors(raw)]
    return [m for _, m in sorted(found)]
