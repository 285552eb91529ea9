"""The suite contract: the skeleton every suite shares, written once.

    resolve the AllFrame source -> workspace -> run id -> machine state -> measure -> records -> save -> history

A suite supplies only what is its own: validated parameters, the packages its probe sources live in,
and a `collect(ctx)` that measures and adds rows through `ctx.record`. Analysis (tables, checks, chart
data) lives apart from running, in each suite's `evaluate` and table functions, which only read records.
The failure findings every suite shares (a failed or unmeasured row) are made here too.
"""
from __future__ import annotations

import dataclasses
import hashlib
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..tools import allframe_source, cargo
from ..verdict import history
from ..core import metadata, paths, records
from ..core.errors import ParameterError, install_hint
from ..tools import executable_copy
from ..tools.binaries import stripped_size
from ..config.budgets import Budgets
from ..config import budgets as budgets_mod
from ..core.procs import say
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict


@dataclass
class Context:
    """What `collect` measures with: the chosen AllFrame's workspace, the run, the budgets."""
    suite: str
    run_id: str
    budgets: Budgets
    source: allframe_source.AllFrameSource
    workspace: Path
    cargo_args: list[str]
    printer: Callable[[str], None] | None
    rows: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)     # extra suite info for meta.json (pinning, tool versions)
    bin_dir: Path | None = None                  # this run's own copies of the executables it measures

    def say(self, text: str) -> None:
        if self.printer:
            self.printer(text)

    def record(self, **fields) -> None:
        self.rows.append(records.record(suite=self.suite, **fields))

    def build(self, package: str, workspace: Path | None = None, resolved_with: Sequence[str] = (), **kw) -> cargo.BuildResult:
        """Build, then measure a private copy of the executable: another build into the shared target
        directory (another AllFrame source, a concurrent run) must never swap the binary under a measurement.
        `resolved_with`: packages whose features cargo unifies with this one's (as a workspace build does)."""
        kw.setdefault("no_default_features", False)
        also = [a for p in resolved_with if p != package for a in ("-p", p)]
        b = cargo.build(workspace or self.workspace, package, extra_args=[*self.cargo_args, *also], printer=self.printer, **kw)
        if not b.ok or self.bin_dir is None:
            return b
        copy = self.bin_dir / f"{len(list(self.bin_dir.iterdir()))}-{b.executable.name}"
        return dataclasses.replace(b, executable=executable_copy.copy(b.executable, copy))


def probe_hash(packages: Sequence[str]) -> str:
    """A hash of the Rust sources a suite measures with (its bench packages and the lockfile): part of what
    makes two runs comparable, so a changed probe is never read as a change of AllFrame."""
    h = hashlib.sha256()
    files = [paths.BENCH / "Cargo.lock", paths.BENCH / "Cargo.toml", paths.BENCH / "rust-toolchain.toml"]
    for pkg in packages:
        files += sorted(p for p in (paths.BENCH / pkg).rglob("*") if p.is_file() and "target" not in p.parts)
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(paths.BENCH)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:12]


def run(name: str, collect: Callable[[Context], None], *, parameters: dict, packages: Sequence[str],
        budgets: Budgets | None = None, allframe_version: str | None = None, allframe_checkout: str | None = None,
        run_id: str | None = None, printer: Callable[[str], None] | None = say,
        tools: Sequence[str | tuple[str, str]] = ()) -> tuple[str, pd.DataFrame]:
    """Run one suite into `run_id` (a new run when None) and save it; returns (run_id, records).
    Everything that can be checked before measuring (source, tools) is, so a bad input costs no build."""
    b = budgets or budgets_mod.load()
    source = allframe_source.resolve(allframe_version, allframe_checkout, b)
    cargo.require_cargo()
    for tool in tools:   # a name (its install hint from core/errors.py), or (name, the way to do without it)
        exe, way_out = (tool, "") if isinstance(tool, str) else tool
        cargo.require(exe, install_hint(exe) + (f" ({way_out})" if way_out else ""))
    workspace, extra = allframe_source.workspace(source)
    run_id = records.start_run(run_id)
    state = metadata.machine_state()
    if printer:
        printer(f"{name} suite: measuring {source.label} into run {run_id}")
        for w in state["warnings"]:
            printer(f"warning: {w}")
    ctx = Context(name, run_id, b, source, workspace, extra, printer)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"afq-{name}-bin-") as bins:
        ctx.bin_dir = Path(bins)
        collect(ctx)
    df = records.frame(ctx.rows, run_id)
    records.save_suite(run_id, name, df, dict(
        ctx.info, allframe=source.describe(), parameters=parameters, probe_hash=probe_hash(packages),
        toolchain=metadata.toolchain_label(), machine_state=state, seconds=round(time.monotonic() - started, 1)))
    add_to_history(run_id, name)
    if printer:
        bad = int((df["status"] == "failed").sum())
        printer(f"{name} suite: saved {len(df)} records ({bad} failed) to run {run_id} in {time.monotonic() - started:.0f}s")
    return run_id, df


def add_to_history(run_id: str, suite: str) -> None:
    """A saved suite lands in the history too. If the history cannot take it, the records are safe in
    data/runs and the warning says how to repair it; the measurement is not thrown away."""
    try:
        history.append(run_id, [suite])
    except history.HistoryError as e:
        print(f"warning: {suite} records saved in {records.run_dir(run_id)}, but not added to the history: {e}",
              file=sys.stderr, flush=True)


def _name(r: dict) -> str:
    parts = [r["subject"], r["config"], r["variant"], r["item"]]
    return " / ".join(str(p) for p in parts if p and str(p) != "<NA>")


def failure_findings(df: pd.DataFrame) -> list[Finding]:
    """Every failed row fails (a build, a probe, a tool, a verification); every row recorded as not
    measured is shown as such. One finding per failed metric, with the tool's own first error."""
    out = []
    bad = df[df["status"] != "ok"]
    for r in bad.drop_duplicates(["suite", "subject", "config", "variant", "item", "metric", "status"]).to_dict("records"):
        ident = ".".join(str(x) for x in (r["subject"], r["config"], r["variant"], r["item"], r["metric"]) if x)
        if r["status"] == "failed":
            out.append(Finding(r["suite"], f"{r['suite']}.failed.{ident}", f"{_name(r)}: {r['metric']}", Verdict.FAIL,
                               "failed", unit=r["unit"], note=headline(r["detail"])))
        else:
            out.append(Finding(r["suite"], f"{r['suite']}.unmeasured.{ident}", f"{_name(r)}: {r['metric']}",
                               Verdict.NOT_MEASURED, "not measured", unit=r["unit"], note=headline(r["detail"])))
    return out


def as_list(value, what: str) -> list | None:
    """A parameter that takes a list: None stays None, one scalar is a one-item list, anything else is refused."""
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise ParameterError(f"{what} must be a list (or one value), got {type(value).__name__} {value!r}")


def counts(values) -> list[int]:
    """Event counts from parameters: positive integers (ints or strings like "1_000_000")."""
    out = []
    for v in values:
        try:
            n = int(str(v).replace("_", "")) if not isinstance(v, bool) else None
        except ValueError:
            n = None
        if n is None or n <= 0:
            raise ParameterError(f"event count {v!r} is not a positive integer")
        out.append(n)
    if not out:
        raise ParameterError("no event counts given")
    return out


def size_rows(ctx: Context, base: dict, built) -> bool:
    """A build's size records, the same in every suite that builds: the executable as built, stripped, and the
    build's seconds; a failed build is one failed file_bytes row with cargo's words. Returns whether it built."""
    if not built.ok:
        ctx.record(**base, metric="file_bytes", unit="bytes", status="failed", detail=built.failure_text())
        return False
    ctx.record(**base, metric="file_bytes", unit="bytes", value=built.executable.stat().st_size)
    ctx.record(**base, metric="stripped_bytes", unit="bytes", value=stripped_size(built.executable))
    ctx.record(**base, metric="build_seconds", unit="s", value=round(built.seconds, 2),
               detail=f"{built.rebuilt} of {built.units} units compiled")
    return True
