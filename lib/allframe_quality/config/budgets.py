"""The budgets file (quality.toml): validated against its JSON Schema (schema.py), used by notebooks and the gate.

Every error names the file, the key path and the valid choices, so a typo never turns into a
silently skipped budget.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..core import paths
from ..core.errors import BudgetError, ParameterError
from . import schema


@dataclass(frozen=True)
class SizeConfig:
    name: str
    label: str
    features: tuple[str, ...]
    basis: str = ""
    target_mib: float | None = None
    limit_mib: float | None = None


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    package: str
    prd_mib: float | None = None


@dataclass(frozen=True)
class SizeBudgets:
    gated_profile: str
    gated_metric: str
    unit_bytes: int
    profiles: tuple[str, ...]
    configurations: dict[str, SizeConfig]
    peers: dict[str, Peer]
    excluded: dict[str, str] = field(default_factory=dict)  # feature -> why it is not in Full

    def config(self, name: str) -> SizeConfig:
        return pick(self.configurations, [name], "size configuration")[0]


@dataclass(frozen=True)
class CqrsOp:
    name: str
    label: str
    covers: str
    callgrind_n: tuple[int, int]
    target_ops: float | None = None
    stretch_ops: float | None = None
    run_level_noise: bool = False   # a whole run's conditions move its time: judged against history only


@dataclass(frozen=True)
class CqrsBudgets:
    noise_pct: float
    operations: dict[str, CqrsOp]
    not_measured: dict[str, str]


@dataclass(frozen=True)
class MemoryBudget:
    limit_mib: float
    events: int
    payload: str
    backend: str


@dataclass(frozen=True)
class ThroughputBudgets:
    reference_hardware: str
    min_share_pct: dict[str, float]   # peer -> AllFrame's minimum share of its req/s, in %
    prd_rps: dict[str, float]         # test -> the PRD's absolute target (reference only)


@dataclass(frozen=True)
class HistoryPolicy:
    keep_samples_runs: int   # per machine, the newest runs keep their samples
    max_runs: int            # per machine, older runs are dropped


@dataclass(frozen=True)
class GatePolicy:
    required: tuple[str, ...] = ()   # check-id patterns that must be measured when their suite runs


@dataclass(frozen=True)
class Budgets:
    path: Path
    allframe_crate: str
    allframe_version: str
    size: SizeBudgets
    cqrs: CqrsBudgets
    memory: MemoryBudget
    throughput: ThroughputBudgets
    regression_threshold_pct: float
    min_history_runs: int             # earlier comparable runs needed before a noise band is learned
    history: HistoryPolicy
    window: int = 6                   # sustained changes: runs per window
    lookback_runs: int = 30           # ... the reference window is the earliest of this many runs
    alpha: float = 0.01
    gate: GatePolicy = GatePolicy()
    raw: dict = field(repr=False, default_factory=dict)


def pick(choices: dict, names, what: str) -> list:
    """Look names up in `choices`; an unknown one is an error listing the valid names."""
    names = list(names)
    unknown = [n for n in names if n not in choices]
    if unknown:
        raise ParameterError(f"unknown {what}(s) {unknown}; valid: {sorted(choices)}")
    return [choices[n] for n in names]


def pick_names(given, valid, what: str) -> list[str]:
    """A selection of names (None = all of `valid`); unknown or empty is an error listing the valid ones."""
    given = list(valid if given is None else given)
    bad = [g for g in given if g not in valid]
    if bad or not given:
        raise ParameterError(f"unknown {what}(s) {bad or given!r}; valid: {list(valid)}")
    return given


def _read(path: Path) -> dict:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BudgetError(f"budgets file {path} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise BudgetError(f"{path}: not valid TOML: {e}") from None
    problems = schema.errors(raw)
    if problems:
        raise BudgetError(f"{path} does not match {schema.SCHEMA_FILE.name}:\n  " + "\n  ".join(problems))
    return raw


def _check(raw: dict, w: str) -> None:
    """What the schema cannot say: relations between values."""
    s, reg, h = raw["size"], raw.get("regression", {}), raw.get("history", {})
    if s["gated_profile"] not in s["profiles"]:
        raise BudgetError(f"{w} [size].gated_profile {s['gated_profile']!r} is not among profiles {s['profiles']}")
    for name, c in s["configurations"].items():
        if c.get("target_mib", 0) > c.get("limit_mib", float("inf")):
            raise BudgetError(f"{w} [size.configurations.{name}]: target_mib {float(c['target_mib'])} "
                              f"is above limit_mib {float(c['limit_mib'])}")
    for name, o in raw["cqrs"]["operations"].items():
        n = o["callgrind_n"]
        if n[0] >= n[1]:
            raise BudgetError(f"{w} [cqrs.operations.{name}].callgrind_n must be two increasing positive integers, got {n!r}")
    window, lookback = reg.get("window", 6), reg.get("lookback_runs", 30)
    if lookback < 2 * window:
        raise BudgetError(f"{w} [regression]: need lookback_runs >= 2 * window, got {window}, {lookback}")
    if not h.get("keep_samples_runs", 20) <= h.get("max_runs", 400):
        raise BudgetError(f"{w} [history]: need keep_samples_runs <= max_runs, got {h}")


def _size(s: dict) -> SizeBudgets:
    configs = {name: SizeConfig(name, c["label"], tuple(c["features"]), c.get("basis", ""), _f(c.get("target_mib")),
                                _f(c.get("limit_mib"))) for name, c in s["configurations"].items()}
    peers = {name: Peer(name, p["label"], p["package"], _f(p.get("prd_mib"))) for name, p in s.get("peers", {}).items()}
    return SizeBudgets(s["gated_profile"], s["gated_metric"], int(s["unit_bytes"]), tuple(s["profiles"]), configs,
                       peers, dict(s.get("excluded", {})))


def _cqrs(cq: dict) -> CqrsBudgets:
    ops = {name: CqrsOp(name, o["label"], o["covers"], tuple(o["callgrind_n"]), _f(o.get("target_ops")),
                        _f(o.get("stretch_ops")), o.get("run_level_noise", False))
           for name, o in cq["operations"].items()}
    return CqrsBudgets(float(cq.get("noise_pct", 1.0)), ops, dict(cq.get("not_measured", {})))


def _f(v) -> float | None:
    return None if v is None else float(v)


def load(path: Path | str | None = None) -> Budgets:
    """quality.toml, validated against its schema (config/quality.schema.json), as typed budgets."""
    path = Path(path or paths.BUDGETS_FILE)
    raw = _read(path)
    _check(raw, str(path))
    m, t, reg, h = raw["memory"], raw["throughput"], raw.get("regression", {}), raw.get("history", {})
    return Budgets(
        path=path, allframe_crate=raw["allframe"]["crate"], allframe_version=raw["allframe"]["version"],
        size=_size(raw["size"]), cqrs=_cqrs(raw["cqrs"]),
        memory=MemoryBudget(float(m["limit_mib"]), m["events"], m["payload"], m["backend"]),
        throughput=ThroughputBudgets(t["reference_hardware"], {k: float(v) for k, v in t["min_share_pct"].items()},
                                     {k: float(v) for k, v in t["prd_rps"].items()}),
        regression_threshold_pct=float(reg.get("threshold_pct", 10)),
        min_history_runs=int(reg.get("min_history_runs", 6)),
        history=HistoryPolicy(int(h.get("keep_samples_runs", 20)), int(h.get("max_runs", 400))),
        window=int(reg.get("window", 6)), lookback_runs=int(reg.get("lookback_runs", 30)),
        alpha=float(reg.get("alpha", 0.01)), gate=GatePolicy(tuple(raw.get("gate", {}).get("required", []))),
        raw=raw,
    )


# the size probe's features and bench/'s profiles, for the suites that choose among them
probe_features = schema.probe_features
cargo_profiles = schema.cargo_profiles
