"""The releases suite: every published allframe-core release measured with the lab's own probes.

The list of releases comes from the registry through cargo (`cargo info` refreshes cargo's index
cache for the crate; the cache holds every version with its features and yanked flag). Each release
is measured in a workspace of its own holding the three probes (size-probe, cqrs-bench,
memory-probe), resolved from a copy of bench/Cargo.lock so that every release shares the lab's
pinned dependencies wherever its requirements allow: a step between releases is AllFrame's own.

A release is measured in parts (one size configuration, the CQRS operations, memory, one
configuration's cargo-bloat breakdown), and each part is cached per (toolchain, probe sources'
hash, release): a re-run measures only what is new. What a release cannot be measured with is kept
apart, by the detail's first words:
    "not in this release: ..."     the configuration's features or the operation's API do not exist yet
    "probe not applicable: ..."    the probe does not compile against that release's API (compiler's words)
    "AllFrame fails to build: ..." allframe-core itself does not compile (a finding about AllFrame)
all with status not_measured; status failed is kept for the lab's own failures (a tool, a crash),
which are never cached. Records use the one schema with subject "allframe" and variant = the release
(or "commit-<sha>" for a checkout), so they never mix with the pinned release's run history.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tempfile
import tomllib
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import pandas as pd

from ..core.errors import ToolMissing
from ..tools import allframe_source, bloat, callgrind, cargo, executable_copy, symbol_sizes, symbols
from ..core import atomic, metadata, paths, procs, records
from . import memory, contract
from ..config.budgets import BudgetError, Budgets
from ..config import budgets as budgets_mod
from ..core.procs import say
from .releases_analysis import SUITE, NOT_IN, NOT_APPLICABLE, ALLFRAME_FAILS, semver

CRATE = allframe_source.CRATE
PROBES = ("size-probe", "cqrs-bench", "memory-probe")
LAYOUT = "releases-1"          # bump when the workspace layout below changes: part of the cache key
DEFAULT_CONFIGS = ("minimal", "default", "cqrs", "full")
# cqrs-bench's operation features (bench/cqrs-bench/Cargo.toml): an older release builds the ones its API has
OP_FEATURES = {"command_dispatch": "op-command", "event_append_memory": "op-append", "projection_update": "op-projection",
               "saga_2step": "op-saga", "saga_compensation": "op-saga", "query_dispatch": "op-query",
               "event_upcast": "op-upcast"}
# compiler errors that mean "this name does not exist in that release" rather than "its shape changed"
COMPAT = ("no-event-type-name",)   # the probes' compatibility switches (see their Cargo.toml)
API_MISSING = ("E0405", "E0412", "E0422", "E0425", "E0432", "E0433", "E0599", "E0603")


class ReleasesError(RuntimeError):
    pass


@dataclass(frozen=True)
class Release:
    version: str
    yanked: bool
    features: frozenset[str]
    rust_version: str | None = None


# ---------------------------------------------------------------- the registry's list

def _index_cache_file() -> Path | None:
    home = Path(__import__("os").environ.get("CARGO_HOME", Path.home() / ".cargo"))
    found = sorted(home.glob(f"registry/index/*/.cache/{CRATE[:2]}/{CRATE[2:4]}/{CRATE}"),
                   key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def parse_index_cache(data: bytes) -> list[Release]:
    """Every version in cargo's index cache file of the crate: a binary header, then NUL-separated
    (version, JSON) pairs; the JSON lines are the registry index's own."""
    out = {}
    for chunk in data.split(b"\0"):
        if not chunk.startswith(b"{"):
            continue
        d = json.loads(chunk)
        if d.get("name") != CRATE:
            continue
        feats = set(d.get("features") or {}) | set(d.get("features2") or {})
        feats |= {dep["name"] for dep in d.get("deps", []) if dep.get("optional")}   # implicit dep features
        out[d["vers"]] = Release(d["vers"], bool(d.get("yanked")), frozenset(feats), d.get("rust_version"))
    return sorted(out.values(), key=lambda r: semver(r.version))


def list_releases(refresh: bool = True) -> list[Release]:
    """allframe-core's releases, oldest first, as the registry lists them through cargo."""
    if refresh:
        cargo.require_cargo()
        r = subprocess.run(["cargo", "info", CRATE], capture_output=True, text=True, timeout=180,
                           cwd=paths.cache_dir() if paths.cache_dir().is_dir() else None, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise ReleasesError(f"cargo could not ask the registry for {CRATE}: "
                                f"{next((l for l in r.stderr.splitlines() if l.startswith('error')), r.stderr.strip()[-300:])}")
    f = _index_cache_file()
    if f is None:
        raise ReleasesError(f"cargo's index cache has no entry for {CRATE} (looked under $CARGO_HOME/registry/index)")
    releases = parse_index_cache(f.read_bytes())
    if not releases:
        raise ReleasesError(f"cargo's index cache {f} lists no {CRATE} version")
    return releases


# ---------------------------------------------------------------- what is measured: a release or a commit

@dataclass(frozen=True)
class Subject:
    """One AllFrame to measure: a registry release, or a checkout at one commit."""
    key: str                     # the records' variant: "0.1.28" or "commit-1a2b3c4d5e6f"
    version: str
    features: frozenset[str]
    crate_dir: Path | None = None
    commit: str | None = None
    yanked: bool = False

    @property
    def label(self) -> str:
        return f"{CRATE} {self.version}" + (f" @ {self.commit[:10]}" if self.commit else "")


def of_release(r: Release) -> Subject:
    return Subject(r.version, r.version, r.features, yanked=r.yanked)


def of_checkout(crate_dir: Path) -> Subject:
    """A checkout tree (e.g. from allframe_source.at_revision) as a Subject keyed by its commit."""
    src = allframe_source.resolve(checkout=crate_dir)
    manifest = tomllib.loads((src.crate_dir / "Cargo.toml").read_text())
    feats = set(manifest.get("features", {}))
    feats |= {n for n, d in manifest.get("dependencies", {}).items() if isinstance(d, dict) and d.get("optional")}
    key = f"commit-{src.commit[:12]}" if src.commit else f"checkout-{hashlib.sha256(str(src.crate_dir).encode()).hexdigest()[:12]}"
    return Subject(key, src.version, frozenset(feats), src.crate_dir, src.commit)


def trim_features(manifest: str, available: set[str] | frozenset[str]) -> tuple[str, set[str]]:
    """Drop the probe features that forward to allframe-core features the release lacks (and those
    that depend on a dropped one); cargo refuses a manifest naming a feature its dependency lacks,
    even when it is not enabled. Returns the new manifest and the dropped features."""
    lines = manifest.splitlines()
    try:
        start = lines.index("[features]")
    except ValueError:
        return manifest, set()
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    entry = re.compile(r'^([A-Za-z0-9_-]+)\s*=\s*(\[.*\])\s*$')
    feats = {m.group(1): json.loads(m.group(2)) for l in lines[start + 1:end] if (m := entry.match(l))}
    dropped: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, items in feats.items():
            if name in dropped or name == "default":
                continue
            if any((i.startswith(f"{CRATE}/") and i.split("/", 1)[1] not in available) or i in dropped for i in items):
                dropped.add(name)
                changed = True
    out = lines[:start + 1]
    for l in lines[start + 1:end]:
        m = entry.match(l)
        if m and m.group(1) in dropped:
            continue
        if m:
            kept = [i for i in feats[m.group(1)] if i not in dropped]
            l = f"{m.group(1)} = {json.dumps(kept)}"
        out.append(l)
    return "\n".join(out + lines[end:]) + "\n", dropped


_REQ = re.compile(r'(allframe-core\s*=\s*\{\s*)version\s*=\s*"=[^"]+"')


def cache_root() -> Path:
    """Cached parts for this toolchain and these probe sources: a change of either measures afresh."""
    key = hashlib.sha256(f"{LAYOUT}|{metadata.toolchain_label()}|{contract.probe_hash(PROBES)}".encode()).hexdigest()[:12]
    return paths.cache_dir() / "releases" / key


def workspace(s: Subject) -> tuple[Path, dict[str, set[str]]]:
    """A fresh workspace of the three probes that depends on `s`; returns it and, per probe, the
    features dropped because `s` lacks what they forward to."""
    # one directory per measurer: a report and a bisect may measure the same release at the same time
    (paths.cache_dir() / "workspaces").mkdir(parents=True, exist_ok=True)
    dest = Path(tempfile.mkdtemp(prefix=f"releases-{s.key}-", dir=paths.cache_dir() / "workspaces"))
    root = (paths.BENCH / "Cargo.toml").read_text()
    root = re.sub(r"members = \[[^\]]*\]", "members = " + json.dumps(list(PROBES)), root, count=1)
    (dest / "Cargo.toml").write_text(root)
    shutil.copy2(paths.BENCH / "rust-toolchain.toml", dest / "rust-toolchain.toml")
    lock = cache_root() / s.key / "Cargo.lock"
    shutil.copy2(lock if lock.is_file() else paths.BENCH / "Cargo.lock", dest / "Cargo.lock")
    dropped = {}
    for pkg in PROBES:
        shutil.copytree(paths.BENCH / pkg, dest / pkg, ignore=shutil.ignore_patterns("target"))
        m = dest / pkg / "Cargo.toml"
        dep = f'path = "{s.crate_dir}"' if s.crate_dir else f'version = "={s.version}"'
        text, n = _REQ.subn(rf"\g<1>{dep}", m.read_text())
        if n != 1:
            raise ReleasesError(f"{m}: expected one allframe-core requirement to rewrite, found {n}")
        text, dropped[pkg] = trim_features(text, s.features)
        m.write_text(text)
    if s.yanked and not lock.is_file():
        _lock_yanked(dest, s.version)
    return dest, dropped


def _lock_yanked(ws: Path, version: str) -> None:
    """Cargo refuses to resolve `=V` when V is yanked, unless the lockfile already holds it; `cargo update
    --precise` may put it there (from a requirement that allows it), after which `=V` builds."""
    manifests = [ws / pkg / "Cargo.toml" for pkg in PROBES]
    exact = [m.read_text() for m in manifests]
    for m, text in zip(manifests, exact):
        m.write_text(text.replace(f'version = "={version}"', f'version = "{version}"'))
    done = procs.run(["cargo", "update", "-p", CRATE, "--precise", version], cwd=ws, env=cargo.env())
    for m, text in zip(manifests, exact):
        m.write_text(text)   # if the update failed, the build that follows says why in cargo's words


def keep_lock(s: Subject, ws: Path) -> None:
    """The first resolution of a release is kept with its parts, so a re-measurement builds the same graph."""
    lock = cache_root() / s.key / "Cargo.lock"
    if not lock.is_file() and (ws / "Cargo.lock").is_file():
        atomic.write_bytes(lock, (ws / "Cargo.lock").read_bytes())


# ---------------------------------------------------------------- the parts

def first_error(b: cargo.BuildResult, lines: int = 3) -> str:
    text = b.errors[0] if b.errors else "\n".join(b.stderr_tail[-lines:])
    return "\n".join(l for l in text.strip().splitlines()[:lines]) or "cargo failed without output"


def _missing(error: str) -> bool:
    """A compiler error that says a name does not exist (in that release)."""
    return bool(re.match(r"error\[(E\d{4})\]", error)) and error[6:11] in API_MISSING


def why_not_built(b: cargo.BuildResult, probe: str) -> str:
    """Which of the three a failed build is: AllFrame itself, an API the release does not have yet,
    or a probe written for another shape of the API."""
    if CRATE in b.failed_packages or any(f"could not compile `{CRATE}`" in l for l in b.stderr_tail):
        return f"{ALLFRAME_FAILS}: {first_error(b)}"
    if not b.errors:   # resolution or download failed: cargo's own words
        return f"{NOT_APPLICABLE}: {probe}: " + "\n".join(b.stderr_tail[-6:]).strip()
    codes = {c for e in b.errors for c in re.findall(r"error\[(E\d{4})\]", e.splitlines()[0] if e else "")}
    if codes and codes <= set(API_MISSING):
        return f"{NOT_IN}: {first_error(b)}"
    return f"{NOT_APPLICABLE}: {first_error(b)}"


@dataclass
class Part:
    name: str                     # size-<config> | cqrs | memory | bloat-<config> | symbols-<config>
    rows: list[dict] = field(default_factory=list)
    cached: bool = False

    @property
    def lab_failed(self) -> bool:
        return any(r["status"] == "failed" for r in self.rows)


class Measurer:
    """Measures parts of one Subject in its own workspace, with each finished part cached."""

    def __init__(self, s: Subject, budgets: Budgets, printer: Callable[[str], None] | None = say,
                 bin_dir: Path | None = None):
        self.s, self.b, self.printer = s, budgets, printer
        self.bin_dir = bin_dir or Path(tempfile.mkdtemp(prefix="afq-releases-bin-"))
        self._ws: tuple[Path, dict] | None = None

    def say(self, text: str) -> None:
        if self.printer:
            self.printer(text)

    @property
    def ws(self) -> Path:
        if self._ws is None:
            self._ws = workspace(self.s)
            weakref.finalize(self, shutil.rmtree, self._ws[0], True)   # gone with the measurer
        return self._ws[0]

    def _row(self, **kw) -> dict:
        return records.record(suite=SUITE, subject="allframe", variant=self.s.key, **kw)

    def part(self, name: str) -> Part:
        """A part from the cache, or measured now (and cached unless the lab itself failed in it)."""
        f = cache_root() / self.s.key / f"{name}.json"
        if f.is_file():
            return Part(name, json.loads(f.read_text()), cached=True)
        kind, _, arg = name.partition("-")
        p = Part(name, getattr(self, f"_{kind}")(arg) if arg else getattr(self, f"_{kind}")())
        if not p.lab_failed:
            atomic.write_text(f, json.dumps(p.rows))
        return p

    def _build(self, package: str, label: str, features: Sequence[str] = (), **kw) -> cargo.BuildResult:
        """Build; when the probe (not AllFrame) fails, try again with the probes' compatibility switch
        for releases older than an API the probes use everywhere (EventTypeName)."""
        b = cargo.build(self.ws, package, extra_args=[], printer=self.printer, label=f"{self.s.label}: {label}",
                        features=features, **kw)
        keep_lock(self.s, self.ws)
        if not b.ok and any(_missing(e) and "`EventTypeName`" in e.splitlines()[0] for e in b.errors if e):
            b = cargo.build(self.ws, package, extra_args=[], printer=self.printer, features=[*features, *COMPAT],
                            label=f"{self.s.label}: {label} + {', '.join(COMPAT)}", **kw)
        if b.ok:   # a private copy of this build's own file: another build into the shared target dir may swap
            # the linked name at once (it did: a concurrent build's 3.4 MiB Minimal recorded as 0.1.25's)
            copy = self.bin_dir / f"{self.s.key}-{len(list(self.bin_dir.iterdir()))}-{b.executable.name}"
            b.executable = executable_copy.copy(b.executable, copy)
        return b

    def executable(self, package: str, label: str, features: Sequence[str] = (), **kw) -> Path:
        """A private copy of one probe built for this subject (an explanation reads it); raises ReleasesError
        with the compiler's first error when it does not build."""
        b = self._build(package, label, features=features, **kw)
        if not b.ok:
            raise ReleasesError(f"{self.s.label}: {package} does not build: {first_error(b)}")
        return b.executable

    # size of one configuration: bytes, stripped bytes, build time, the dependency tree
    def _size(self, config: str) -> list[dict]:
        c = self.b.size.config(config)
        base = dict(config=config)
        missing = sorted(set(c.features) - self.s.features)
        if missing:
            return [self._row(**base, metric="file_bytes", unit="bytes", status="not_measured",
                              detail=f"{NOT_IN}: {self.s.label} has no feature {', '.join(missing)}")]
        if not self.s.crate_dir and self.s.version != self.b.allframe_version:
            forget_compiled(self.s.version)   # so its build time is taken even when an earlier run compiled it
        b = self._build("size-probe", f"{config} [release]", features=c.features, no_default_features=True)
        if not b.ok:
            return [self._row(**base, metric="file_bytes", unit="bytes", status="not_measured",
                              detail=why_not_built(b, "size-probe"))]
        from .size import run_probe, stripped_size
        rows = [self._row(**base, metric="file_bytes", unit="bytes", value=b.executable.stat().st_size)]
        try:
            rows.append(self._row(**base, metric="stripped_bytes", unit="bytes", value=stripped_size(b.executable)))
        except (subprocess.CalledProcessError, ToolMissing) as e:   # the lab's tool failed: never cached
            err = (e.stderr.decode(errors="replace") if isinstance(getattr(e, "stderr", None), bytes) else str(e)).strip()
            rows.append(self._row(**base, metric="stripped_bytes", unit="bytes", status="failed", detail=f"strip failed: {err}"))
        if CRATE in b.compiled:
            rows.append(self._row(**base, metric="build_seconds", unit="s", value=round(b.seconds, 2),
                                  detail=f"allframe-core and the probe compiled, {b.rebuilt - 1} other units; dependencies cached"))
        else:
            rows.append(self._row(**base, metric="build_seconds", unit="s", status="not_measured",
                                  detail="allframe-core was already compiled in the cache: no build time to take"))
        try:
            used = run_probe(b.executable)
            rows.append(self._row(**base, metric="probe_checks", unit="count", value=len(used)))
        except Exception as e:   # the release builds but the probe crashes on it: the lab cannot vouch for its size
            rows.append(self._row(**base, metric="probe_checks", unit="count", status="failed", detail=f"size-probe crashed:\n{e}"))
        deps = dependencies(self.ws, "size-probe", c.features)
        rows.append(self._row(**base, metric="dep_crates", unit="count", value=len(deps),
                              detail="packages in the build's dependency tree (normal and build), the probe excluded"))
        rows += [self._row(**base, item=n, metric="dependency", unit="version", value=1, detail=v) for n, v in sorted(deps.items())]
        return rows

    # CQRS: callgrind instructions per operation, for the operations whose API the release has
    def _cqrs(self) -> list[dict]:
        ops = {o.name: o for o in self.b.cqrs.operations.values() if o.name in OP_FEATURES}
        feats = sorted({OP_FEATURES[o] for o in ops})
        b = self._build("cqrs-bench", "cqrs-ops [callgrind]", bin="cqrs-ops", features=feats, no_default_features=True)
        why: dict[str, str] = {}
        if not b.ok:
            why_all = why_not_built(b, "cqrs-bench")
            if why_all.startswith(ALLFRAME_FAILS):
                return [self._row(config=o, metric="instructions_per_op", unit="instructions", status="not_measured",
                                  detail=why_all) for o in ops]
            self.say(f"  {self.s.label}: not every CQRS operation builds; trying each alone")
            good = []
            for f in feats:
                t = self._build("cqrs-bench", f"cqrs-ops [{f}]", bin="cqrs-ops", features=[f], no_default_features=True)
                if t.ok:
                    good.append(f)
                else:
                    for o in ops:
                        if OP_FEATURES[o] == f:
                            why[o] = why_not_built(t, "cqrs-bench")
            b = self._build("cqrs-bench", "cqrs-ops [callgrind]", bin="cqrs-ops", features=good,
                            no_default_features=True) if good else None
        rows = []
        for name, o in ops.items():
            base = dict(config=name, metric="instructions_per_op", unit="instructions")
            if name in why:
                rows.append(self._row(**base, status="not_measured", detail=why[name]))
                continue
            if b is None or not b.ok:
                rows.append(self._row(**base, status="failed", detail=f"cqrs-ops did not build with the operations that "
                                      f"built alone:\n{b.failure_text() if b else ''}"))
                continue
            try:
                per = callgrind.per_operation([str(b.executable), name], o.callgrind_n[0], o.callgrind_n[1])
                rows.append(self._row(**base, value=per.instructions,
                                      detail=f"callgrind: ({per.total2} - {per.total1}) / ({per.n2} - {per.n1})"))
            except callgrind.CallgrindError as e:
                rows.append(self._row(**base, status="failed", detail=f"callgrind failed:\n{e}"))
        return rows

    # memory: bytes per event of the in-memory store at N small events
    def _memory(self, events: str) -> list[dict]:
        events = int(events)
        base = dict(config="memory", item=str(events))
        b = self._build("memory-probe", "memory-probe [release]", no_default_features=True)
        if not b.ok:
            return [self._row(**base, metric="bytes_per_event", unit="bytes", status="not_measured",
                              detail=why_not_built(b, "memory-probe"))]
        r = memory.run_probe([str(b.executable), str(events), "small", "memory"])
        if not r.ok:
            return [self._row(**base, metric="bytes_per_event", unit="bytes", status="failed",
                              detail=f"memory-probe failed: exit {r.returncode}: {r.stderr.strip()[-500:]}")]
        used = r.peak_rss_bytes - (r.rss_at("ready") or r.rss_at("start"))
        return [self._row(**base, metric="bytes_per_event", unit="bytes", value=used / events,
                          detail="(kernel peak RSS - RSS at ready) / events, small events, in-memory store"),
                self._row(**base, metric="used_bytes", unit="bytes", value=used),
                self._row(**base, metric="peak_rss_bytes", unit="bytes", value=r.peak_rss_bytes)]

    # every function and data symbol of one configuration (names normalised, anonymous data charged to what
    # points to it): asked for only where a step is explained, so a step reads per function, not only per crate
    def _symbols(self, config: str) -> list[dict]:
        c = self.b.size.config(config)
        base = dict(config=config)
        try:
            exe = self.executable("size-probe", f"{config} [release] symbols", features=c.features, no_default_features=True)
            _, at = symbol_sizes.sizes(exe)
        except ReleasesError as e:
            return [self._row(**base, metric="symbol_bytes", unit="bytes", status="not_measured", detail=str(e))]
        except symbols.SymbolsError as e:   # the lab's tool failed: never cached
            return [self._row(**base, metric="symbol_bytes", unit="bytes", status="failed", detail=f"symbols: {e}")]
        return [self._row(**base, item=r["name"], metric="symbol_bytes", unit="bytes", value=r["bytes"],
                          detail=json.dumps(dict({k: r[k] for k in ("crate", "kind", "section", "copies")},
                                                 v=symbol_sizes.VERSION)))
                for r in symbol_sizes.as_rows(at)]

    def symbols_part(self, config: str) -> Part:
        """The symbols part, measured again when its cached rows were attributed by another version."""
        name = f"symbols-{config}"
        p = self.part(name)
        if p.cached and any(json.loads(r["detail"] or "{}").get("v") != symbol_sizes.VERSION for r in p.rows if r["status"] == "ok"):
            (cache_root() / self.s.key / f"{name}.json").unlink(missing_ok=True)
            p = self.part(name)
        return p

    # cargo-bloat's crate breakdown of one configuration: asked for only where a step is explained
    def _bloat(self, config: str) -> list[dict]:
        c = self.b.size.config(config)
        try:
            try:
                cs = bloat.crates(self.ws, "size-probe", features=c.features, printer=self.printer,
                                  label=f"{self.s.label}: {config} [cargo-bloat]")
            except bloat.BloatError as e:   # as the size build did: the compatibility switch for older releases
                if "`EventTypeName`" not in str(e):
                    raise
                cs = bloat.crates(self.ws, "size-probe", features=[*c.features, *COMPAT], printer=self.printer,
                                  label=f"{self.s.label}: {config} + {', '.join(COMPAT)} [cargo-bloat]")
        except (bloat.BloatError, ToolMissing) as e:
            return [self._row(config=config, metric="text_bytes", unit="bytes", status="failed", detail=str(e))]
        return [self._row(config=config, metric="text_bytes", unit="bytes", value=cs.text_size)] + \
            [self._row(config=config, item=n, metric="crate_text_bytes", unit="bytes", value=v) for n, v in cs.crates.items()]


def forget_compiled(version: str, profile_dir: str = "release") -> int:
    """Remove one allframe-core release's compiled artifacts from the shared target directory, so the
    next build compiles it (and its build time can be taken). `cargo clean -p` cannot: it ignores the
    version and would clean every allframe-core, the pinned one the other suites use included. The
    release is recognised by its sources' path in the dep-info file. Returns the units removed."""
    deps = paths.cargo_target_dir() / profile_dir / "deps"
    n = 0
    for d in deps.glob("allframe_core-*.d") if deps.is_dir() else ():
        head = d.read_text(errors="replace").split("\n", 1)[0]
        if f"/{CRATE}-{version}/src/" not in head:
            continue
        h = d.stem.split("-", 1)[1]
        for f in deps.glob(f"liballframe_core-{h}.*"):
            f.unlink(missing_ok=True)
        shutil.rmtree(deps.parent / ".fingerprint" / f"{CRATE}-{h}", ignore_errors=True)
        d.unlink(missing_ok=True)
        n += 1
    return n


def dependencies(ws: Path, package: str, features: Sequence[str]) -> dict[str, str]:
    """name -> version of every package in the build's dependency tree (cargo tree), workspace members excluded."""
    args = ["cargo", "tree", "-p", package, *cargo.feature_args(features), "-e", "normal,build", "--prefix", "none",
            "-f", "{p}", "--locked"]
    done = procs.run(args, cwd=ws, env=cargo.env())
    if not done.ok:
        raise ReleasesError("cargo tree failed:\n" + "\n".join(done.stderr_tail[-10:]))
    out = {}
    for line in done.stdout.splitlines():
        parts = line.replace("(*)", "").replace("(proc-macro)", "").split()
        if len(parts) >= 2 and parts[1].startswith("v") and parts[0] not in PROBES:
            out[parts[0]] = parts[1][1:]
    return out


# ---------------------------------------------------------------- the suite

def choose(all_releases: list[Release], releases, newest: int) -> list[Release]:
    """None: every release cached for this toolchain and probe, plus the newest `newest`; "all": every one;
    or a list of exact versions (checked against the registry's list)."""
    by_version = {r.version: r for r in all_releases}
    if releases == "all":
        return list(all_releases)
    if releases is None:
        root = cache_root()
        cached = {d.name for d in root.iterdir() if d.is_dir()} if root.is_dir() else set()
        keep = {r.version for r in all_releases[-newest:]} | (cached & set(by_version)) if newest > 0 else cached & set(by_version)
        return [r for r in all_releases if r.version in keep]
    wanted = [str(v) for v in contract.as_list(releases, "releases")]
    unknown = [v for v in wanted if v not in by_version]
    if unknown:
        raise BudgetError(f"{CRATE} has no release {', '.join(unknown)} on the registry; valid: {list(by_version)}, or 'all'")
    return [by_version[v] for v in sorted(set(wanted), key=semver)]


def measure(
    releases: Sequence[str] | str | None = None,
    *,
    newest: int = 2,
    configurations: Sequence[str] | str = DEFAULT_CONFIGS,
    cqrs: bool = True,
    memory_events: int = 1_000_000,
    explain_steps: int = 5,
    run_id: str | None = None,
    budgets: Budgets | None = None,
    printer: Callable[[str], None] | None = say,
) -> tuple[str, pd.DataFrame]:
    """Measure the chosen releases (cached parts reused) and save them as one run's `releases` records."""
    from .releases_analysis import largest_steps
    b = budgets or budgets_mod.load()
    configs = [c.name for c in budgets_mod.pick(b.size.configurations, contract.as_list(configurations, "configurations"),
                                                "size configuration")]
    if newest < 0 or explain_steps < 0 or memory_events < 0:
        raise BudgetError("newest, explain_steps and memory_events must not be negative")
    chosen = choose(list_releases(), releases, newest)
    if not chosen:
        raise BudgetError("no release to measure: none is cached here for this toolchain and probe, and newest is 0; "
                          "give newest > 0, a list of releases, or 'all'")
    tools = [("strip", "Install binutils: `apt-get install binutils`, or run `make setup`.")]
    if cqrs:
        tools.append(("valgrind", "Install it: `apt-get install valgrind`, or run `make setup` (or pass cqrs=False)."))
    if explain_steps:
        tools.append(("cargo-bloat", "Install it with `cargo install --locked cargo-bloat`, or run `make setup`."))

    def collect(ctx: contract.Context) -> None:
        parts = [f"size-{c}" for c in configs] + (["cqrs"] if cqrs else []) + ([f"memory-{memory_events}"] if memory_events else [])
        ctx.say(f"releases: {len(chosen)} releases x {len(parts)} parts (cache {cache_root()})")
        measurers, fresh = {}, []
        for i, r in enumerate(chosen):
            m = measurers[r.version] = Measurer(of_release(r), b, ctx.printer, ctx.bin_dir)
            ctx.rows.append(m._row(config="release", metric="yanked", unit="flag", value=float(r.yanked),
                                   detail=f"rust-version {r.rust_version or '?'}"))
            for name in parts:
                p = m.part(name)
                ctx.rows += p.rows
                if not p.cached:
                    fresh.append(f"{r.version}:{name}")
            ctx.say(f"releases: {i + 1}/{len(chosen)} {r.version} done")
        df = records.frame(ctx.rows, ctx.run_id)
        explained = set()
        for step in largest_steps(df, explain_steps):   # explain the largest steps: cargo-bloat's crates, every symbol
            for v in (step["before"], step["after"]):
                for part in (f"bloat-{step['config']}", f"symbols-{step['config']}"):
                    if (v, part) in explained:
                        continue
                    explained.add((v, part))
                    p = measurers[v].symbols_part(step["config"]) if part.startswith("symbols-") else measurers[v].part(part)
                    ctx.rows += p.rows
                    if not p.cached:
                        fresh.append(f"{v}:{part}")
        ctx.info.update(releases=[r.version for r in chosen], measured_now=fresh, cache=str(cache_root()))
        ctx.say(f"releases: {len(fresh)} parts measured now, the rest from the cache")

    params = {"releases": releases if releases in (None, "all") else [r.version for r in chosen], "newest": newest,
              "configurations": configs, "cqrs": cqrs, "memory_events": memory_events, "explain_steps": explain_steps}
    return contract.run(SUITE, collect, parameters=params, packages=list(PROBES), budgets=b, run_id=run_id,
                     printer=printer, tools=tools)
