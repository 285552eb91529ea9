"""The budgets file (quality.toml): loaded once, validated precisely, used by notebooks and the gate.

Every error names the file, the key path and the valid choices, so a typo never turns into a
silently skipped budget.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..core import paths


class BudgetError(ValueError):
    pass


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
        raise BudgetError(f"unknown {what}(s) {unknown}; valid: {sorted(choices)}")
    return [choices[n] for n in names]


def pick_names(given, valid, what: str) -> list[str]:
    """A selection of names (None = all of `valid`); unknown or empty is an error listing the valid ones."""
    given = list(valid if given is None else given)
    bad = [g for g in given if g not in valid]
    if bad or not given:
        raise BudgetError(f"unknown {what}(s) {bad or given!r}; valid: {list(valid)}")
    return given


def _keys(table: dict, required: set[str], optional: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise BudgetError(f"{where} must be a table, got {type(table).__name__}")
    missing = required - table.keys()
    unknown = table.keys() - required - optional
    if missing:
        raise BudgetError(f"{where} lacks {sorted(missing)}")
    if unknown:
        raise BudgetError(f"{where} has unknown key(s) {sorted(unknown)}; valid: {sorted(required | optional)}")


def _number(v, where: str) -> float | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise BudgetError(f"{where} must be a positive number, got {v!r}")
    return float(v)


def probe_features(bench: Path | None = None) -> set[str]:
    """The feature names the size probe can build: its Cargo.toml [features] minus default."""
    manifest = (bench or paths.BENCH) / "size-probe" / "Cargo.toml"
    return set(tomllib.loads(manifest.read_text())["features"]) - {"default"}


def cargo_profiles(bench: Path | None = None) -> set[str]:
    manifest = (bench or paths.BENCH) / "Cargo.toml"
    return {"release"} | set(tomllib.loads(manifest.read_text()).get("profile", {}))


def load(path: Path | str | None = None) -> Budgets:
    path = Path(path or paths.BUDGETS_FILE)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise BudgetError(f"budgets file {path} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise BudgetError(f"{path}: not valid TOML: {e}") from None
    w = str(path)
    _keys(raw, {"schema", "allframe", "size", "cqrs", "memory", "throughput"}, {"regression", "history", "gate"}, w)
    if raw["schema"] != 1:
        raise BudgetError(f"{w}: schema {raw['schema']!r} is not supported; valid: [1]")
    af = raw["allframe"]
    _keys(af, {"crate", "version"}, set(), f"{w} [allframe]")

    s = raw["size"]
    _keys(s, {"gated_profile", "gated_metric", "unit_bytes", "profiles", "configurations"}, {"peers", "excluded"}, f"{w} [size]")
    profiles = cargo_profiles()
    pick({p: p for p in profiles}, s["profiles"], f"profile in {w} [size].profiles")
    if s["gated_profile"] not in s["profiles"]:
        raise BudgetError(f"{w} [size].gated_profile {s['gated_profile']!r} is not among profiles {s['profiles']}")
    metrics = {"file_bytes", "stripped_bytes"}
    if s["gated_metric"] not in metrics:
        raise BudgetError(f"{w} [size].gated_metric {s['gated_metric']!r}; valid: {sorted(metrics)}")

    features = probe_features()
    configs = {}
    for name, c in s["configurations"].items():
        where = f"{w} [size.configurations.{name}]"
        _keys(c, {"label", "features"}, {"target_mib", "limit_mib", "basis"}, where)
        bad = [f for f in c["features"] if f not in features]
        if bad:
            raise BudgetError(f"{where} has unknown feature(s) {bad}; valid: {sorted(features)}")
        t, l = _number(c.get("target_mib"), f"{where} target_mib"), _number(c.get("limit_mib"), f"{where} limit_mib")
        if t is not None and l is not None and t > l:
            raise BudgetError(f"{where}: target_mib {t} is above limit_mib {l}")
        configs[name] = SizeConfig(name, c["label"], tuple(c["features"]), c.get("basis", ""), t, l)

    peers = {}
    for name, p in s.get("peers", {}).items():
        where = f"{w} [size.peers.{name}]"
        _keys(p, {"label", "package"}, {"prd_mib"}, where)
        peers[name] = Peer(name, p["label"], p["package"], _number(p.get("prd_mib"), f"{where} prd_mib"))

    excluded = s.get("excluded", {})
    if not all(isinstance(v, str) and v for v in excluded.values()):
        raise BudgetError(f"{w} [size.excluded]: each excluded feature needs its reason as a string")

    cq = raw["cqrs"]
    _keys(cq, {"operations"}, {"noise_pct", "not_measured"}, f"{w} [cqrs]")
    ops = {}
    for name, o in cq["operations"].items():
        where = f"{w} [cqrs.operations.{name}]"
        _keys(o, {"label", "covers", "callgrind_n"}, {"target_ops", "stretch_ops", "run_level_noise"}, where)
        if not isinstance(o.get("run_level_noise", False), bool):
            raise BudgetError(f"{where} run_level_noise must be true or false")
        n = o["callgrind_n"]
        if not (isinstance(n, list) and len(n) == 2 and all(isinstance(x, int) and x > 0 for x in n) and n[0] < n[1]):
            raise BudgetError(f"{where} callgrind_n must be two increasing positive integers, got {n!r}")
        ops[name] = CqrsOp(name, o["label"], o["covers"], (n[0], n[1]),
                           _number(o.get("target_ops"), f"{where} target_ops"),
                           _number(o.get("stretch_ops"), f"{where} stretch_ops"), o.get("run_level_noise", False))
    cqrs = CqrsBudgets(_number(cq.get("noise_pct", 1.0), f"{w} [cqrs].noise_pct"), ops, dict(cq.get("not_measured", {})))

    m = raw["memory"]
    _keys(m, {"limit_mib", "events", "payload", "backend"}, set(), f"{w} [memory]")
    for key, valid in (("payload", ("small", "order")), ("backend", ("memory", "sqlite"))):
        if m[key] not in valid:
            raise BudgetError(f"{w} [memory].{key} {m[key]!r}; valid: {list(valid)}")
    if not isinstance(m["events"], int) or m["events"] <= 0:
        raise BudgetError(f"{w} [memory].events must be a positive integer, got {m['events']!r}")
    memory = MemoryBudget(_number(m["limit_mib"], f"{w} [memory].limit_mib"), m["events"], m["payload"], m["backend"])

    t = raw["throughput"]
    _keys(t, {"reference_hardware", "min_share_pct", "prd_rps"}, set(), f"{w} [throughput]")
    peers_ok = ("axum", "actix", "hyper")
    bad = [k for k in t["min_share_pct"] if k not in peers_ok]
    if bad:
        raise BudgetError(f"{w} [throughput.min_share_pct] unknown peer(s) {bad}; valid: {list(peers_ok)}")
    tests_ok = ("json", "plaintext", "db", "queries", "fortunes", "updates")
    bad = [k for k in t["prd_rps"] if k not in tests_ok]
    if bad:
        raise BudgetError(f"{w} [throughput.prd_rps] unknown test(s) {bad}; valid: {list(tests_ok)}")
    throughput = ThroughputBudgets(
        t["reference_hardware"],
        {k: _number(v, f"{w} [throughput.min_share_pct].{k}") for k, v in t["min_share_pct"].items()},
        {k: _number(v, f"{w} [throughput.prd_rps].{k}") for k, v in t["prd_rps"].items()})

    reg = raw.get("regression", {})
    _keys(reg, set(), {"threshold_pct", "min_history_runs", "window", "lookback_runs", "alpha"}, f"{w} [regression]")
    window = int(_number(reg.get("window", 6), f"{w} [regression].window"))
    lookback = int(_number(reg.get("lookback_runs", 30), f"{w} [regression].lookback_runs"))
    if window < 3 or lookback < 2 * window:
        raise BudgetError(f"{w} [regression]: need window >= 3 and lookback_runs >= 2 * window, got {window}, {lookback}")
    alpha = _number(reg.get("alpha", 0.01), f"{w} [regression].alpha")
    if alpha >= 0.5:
        raise BudgetError(f"{w} [regression].alpha must be below 0.5, got {alpha}")
    g = raw.get("gate", {})
    _keys(g, set(), {"required"}, f"{w} [gate]")
    req = g.get("required", [])
    suites_ok = ("size", "cqrs", "memory", "throughput", "demos")
    if not isinstance(req, list) or not all(isinstance(x, str) and x.split(".", 1)[0] in suites_ok for x in req):
        raise BudgetError(f"{w} [gate].required must be a list of check ids starting with one of {list(suites_ok)}, got {req!r}")
    h = raw.get("history", {})
    _keys(h, set(), {"keep_samples_runs", "max_runs"}, f"{w} [history]")
    policy = HistoryPolicy(int(_number(h.get("keep_samples_runs", 20), f"{w} [history].keep_samples_runs")),
                           int(_number(h.get("max_runs", 400), f"{w} [history].max_runs")))
    if not 1 <= policy.keep_samples_runs <= policy.max_runs:
        raise BudgetError(f"{w} [history]: need 1 <= keep_samples_runs <= max_runs, got {policy}")
    return Budgets(
        path=path, allframe_crate=af["crate"], allframe_version=af["version"],
        size=SizeBudgets(s["gated_profile"], s["gated_metric"], int(s["unit_bytes"]), tuple(s["profiles"]), configs, peers, dict(excluded)),
        cqrs=cqrs, memory=memory, throughput=throughput,
        regression_threshold_pct=_number(reg.get("threshold_pct", 10), f"{w} [regression].threshold_pct"),
        min_history_runs=int(_number(reg.get("min_history_runs", 6), f"{w} [regression].min_history_runs")),
        history=policy, window=window, lookback_runs=lookback, alpha=alpha, gate=GatePolicy(tuple(req)),
        raw=raw,
    )
