"""CQRS analysis: ops/s and instructions per operation against the PRD's targets (reference only), and the
suite's checks. Reads records only; running lives in cqrs.py."""
from __future__ import annotations

import pandas as pd

from ..config.budgets import Budgets
from ..core.records import headline
from ..verdict.verdicts import Finding, Verdict

SUITE = "cqrs"


def summary(df: pd.DataFrame, b: Budgets) -> pd.DataFrame:
    """One row per operation: ops/s with its interval, instructions/op, PRD target and stretch, verdict.
    The PRD's targets describe other hardware: reference only (warn), never a failure."""
    rows = []
    for name, o in b.cqrs.operations.items():
        mine = df[df["config"] == name]
        if mine.empty:
            continue
        ops = mine[(mine["metric"] == "ops_per_s") & (mine["status"] == "ok")]
        ins = mine[(mine["metric"] == "instructions_per_op") & (mine["status"] == "ok")]
        failed = mine[mine["status"] == "failed"]
        v = float(ops["value"].iloc[0]) if len(ops) else None
        if v is None:
            verdict, words = Verdict.NOT_MEASURED, "not measured"
        elif o.target_ops is None:
            verdict, words = Verdict.INFO, "no PRD target"
        elif o.stretch_ops is not None and v >= o.stretch_ops:
            verdict, words = Verdict.PASS, "meets stretch"
        elif v >= o.target_ops:
            verdict, words = Verdict.PASS, "meets target"
        else:
            verdict, words = Verdict.WARN, "below target"
        rows.append({"operation": o.label, "name": name, "ops/s": v,
                     "ops/s lo": float(ops["lo"].iloc[0]) if len(ops) else None,
                     "ops/s hi": float(ops["hi"].iloc[0]) if len(ops) else None,
                     "ns/op": 1e9 / v if v else None,
                     "instructions/op": float(ins["value"].iloc[0]) if len(ins) else None,
                     "target ops/s": o.target_ops, "stretch ops/s": o.stretch_ops,
                     "status": f"{verdict.symbol} {words}", "level": verdict.level, "state": words,
                     "interval": ops["detail"].iloc[0] if len(ops) else "", "covers": o.covers,
                     "note": headline(failed["detail"].iloc[0]) if len(failed) else ""})
    for name, why in b.cqrs.not_measured.items():
        if name in set(df["config"]):
            v = Verdict.NOT_MEASURED
            rows.append({"operation": name, "name": name, "status": f"{v.symbol} not measured", "level": v.level,
                         "state": "not measured", "covers": "", "note": why})
    return pd.DataFrame(rows)

def evaluate(df: pd.DataFrame, b: Budgets) -> list[Finding]:
    """One check per operation (id cqrs.<name>): the PRD target as reference. Failed operations and failed
    instruction counts fail through suite.failure_findings; regressions through regression.detect."""
    return [Finding(SUITE, f"cqrs.{r['name']}", r["operation"], Verdict.of(r["level"]), r["state"],
                    r.get("ops/s"), r.get("target ops/s"), None, "ops/s", r.get("note", "") or "")
            for r in summary(df, b).to_dict("records")]
