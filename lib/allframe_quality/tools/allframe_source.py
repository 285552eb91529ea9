"""Which AllFrame is measured: the pinned registry release, another release, or a local checkout.

The pinned release builds in bench/ itself with --locked (Cargo.lock is the pin). Anything else
builds in a scratch copy of bench/ under the cache directory, so bench/Cargo.lock is never
touched: another release rewrites the version requirement; a checkout is swapped in with cargo's
[patch] given through --config.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..config import budgets as budgets_mod
from ..core import paths
from ..core.errors import InputError

CRATE = "allframe-core"
_REQ = re.compile(r'(allframe-core\s*=\s*\{\s*version\s*=\s*")=[^"]+(")')


class SourceError(InputError, ValueError):
    """An AllFrame source that does not exist: no such release, checkout or revision."""


@dataclass(frozen=True)
class AllFrameSource:
    kind: str                 # "registry" | "checkout"
    version: str
    crate_dir: Path | None = None
    commit: str | None = None
    pinned: bool = False

    @property
    def label(self) -> str:
        if self.kind == "registry":
            return f"{CRATE} {self.version} (registry{', pinned' if self.pinned else ''})"
        at = f" @ {self.commit[:10]}" if self.commit else ""
        return f"{CRATE} {self.version} (checkout {self.crate_dir}{at})"

    def describe(self) -> dict:
        return {"kind": self.kind, "crate": CRATE, "version": self.version, "pinned": self.pinned,
                "path": str(self.crate_dir) if self.crate_dir else None, "commit": self.commit,
                "label": self.label}


def _checkout_crate(path: Path) -> tuple[Path, str]:
    """Find allframe-core's crate directory and version in a checkout (repo root or crate dir)."""
    if not path.is_dir():
        raise SourceError(f"AllFrame checkout {path} does not exist or is not a directory")
    for cand in (path / "crates" / CRATE, path):
        manifest = cand / "Cargo.toml"
        if not manifest.is_file():
            continue
        try:
            pkg = tomllib.loads(manifest.read_text()).get("package", {})
        except tomllib.TOMLDecodeError as e:
            raise SourceError(f"{manifest} is not valid TOML: {e}") from None
        if pkg.get("name") != CRATE:
            continue
        version = pkg.get("version")
        if isinstance(version, dict) and version.get("workspace"):
            root = tomllib.loads((path / "Cargo.toml").read_text())
            version = root.get("workspace", {}).get("package", {}).get("version")
        if not isinstance(version, str):
            raise SourceError(f"{manifest}: cannot tell allframe-core's version")
        return cand.resolve(), version
    raise SourceError(
        f"{path} is not an AllFrame checkout: expected crates/{CRATE}/Cargo.toml or a Cargo.toml "
        f"whose [package] name is {CRATE!r}")


def resolve(version: str | None = None, checkout: str | Path | None = None,
            budgets: budgets_mod.Budgets | None = None) -> AllFrameSource:
    """The AllFrame to measure; validated before any build. Default: the pinned release."""
    pinned = (budgets or budgets_mod.load()).allframe_version
    if checkout:
        if version:
            raise SourceError("give either an AllFrame version or a checkout path, not both")
        crate_dir, v = _checkout_crate(Path(checkout).expanduser())
        return AllFrameSource("checkout", v, crate_dir, _commit_of(crate_dir))
    version = version or pinned
    if not re.fullmatch(r"\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?", version):
        raise SourceError(f"AllFrame version {version!r} is not an exact version like {pinned!r}")
    if version != pinned:
        check_release(version)
    return AllFrameSource("registry", version, pinned=(version == pinned))


COMMIT_MARK = ".afq-commit"   # written into a tree exported at a revision (it has no .git of its own)


def _commit_of(crate_dir: Path) -> str | None:
    for d in (crate_dir, *crate_dir.parents):
        if (d / COMMIT_MARK).is_file():
            return (d / COMMIT_MARK).read_text().strip() or None
    r = subprocess.run(["git", "-C", str(crate_dir), "rev-parse", "HEAD"], capture_output=True, text=True)
    return (r.stdout.strip() or None) if r.returncode == 0 else None


def git(repo: Path, *args: str) -> str:
    r = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise SourceError(f"git {' '.join(args)} in {repo} failed: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout.strip()


def at_revision(checkout: str | Path, rev: str) -> Path:
    """A clean tree of the git checkout at `rev` (a commit, tag or branch), exported with `git archive`
    into the cache and reused: the caller's repository and work tree are never touched (no worktree, no
    checkout), and uncommitted changes are not measured. Returns the path of the matching crate
    directory (or tree root), ready for `resolve(checkout=...)`."""
    path = Path(checkout).expanduser().resolve()
    if not path.is_dir():
        raise SourceError(f"AllFrame checkout {path} does not exist or is not a directory")
    top = Path(git(path, "rev-parse", "--show-toplevel"))
    try:
        sha = git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except SourceError:
        raise SourceError(f"{rev!r} is not a commit in {top} (try a sha, tag or branch that `git log` shows)") from None
    dest = paths.cache_dir() / "revisions" / f"{hashlib.sha256(str(top).encode()).hexdigest()[:10]}-{sha[:12]}"
    if not (dest / COMMIT_MARK).is_file():
        tmp = dest.with_name(dest.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(top), "archive", "--format=tar", sha], capture_output=True)
        if archive.returncode != 0:
            raise SourceError(f"git archive {sha} in {top} failed: {archive.stderr.decode(errors='replace').strip()}")
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        (tmp / COMMIT_MARK).write_text(sha + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        os.replace(tmp, dest)     # complete or absent: an interrupted export is never reused
    return dest / path.relative_to(top)


def revisions_between(checkout: str | Path, good: str, bad: str) -> list[str]:
    """The commits from `good` (first) to `bad` (last) along bad's first-parent line, oldest first."""
    path = Path(checkout).expanduser().resolve()
    g, b = (git(path, "rev-parse", "--verify", "--quiet", f"{r}^{{commit}}") for r in (good, bad))
    if git(path, "merge-base", g, b) != g:
        raise SourceError(f"{good} is not an ancestor of {bad} in {path}: a bisect needs GOOD before BAD")
    between = git(path, "rev-list", "--first-parent", "--reverse", f"{g}..{b}").split()
    return [g, *between]


def check_release(version: str) -> None:
    """Ask the registry (through cargo) whether allframe-core `version` exists, before anything is built."""
    if shutil.which("cargo") is None:
        raise SourceError("cargo not found on PATH: cannot ask the registry for allframe-core versions")
    try:
        r = subprocess.run(["cargo", "info", f"{CRATE}@{version}"], capture_output=True, text=True, timeout=120,
                           cwd=paths.cache_dir() if paths.cache_dir().is_dir() else None, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SourceError(f"the registry did not answer within 120 s whether {CRATE} {version} exists") from None
    if r.returncode != 0:
        err = next((l for l in r.stderr.splitlines() if l.startswith("error")), r.stderr.strip()[-300:])
        if "could not find" in err:
            raise SourceError(f"{CRATE} {version} does not exist on the registry (cargo: {err})")
        raise SourceError(f"could not ask the registry whether {CRATE} {version} exists (cargo: {err})")


def workspace(source: AllFrameSource) -> tuple[Path, list[str]]:
    """The directory to build in and the extra cargo arguments that select `source`."""
    if source.kind == "registry" and source.pinned:
        return paths.BENCH, ["--locked"]
    slug = f"{source.kind}-{source.version}"
    if source.crate_dir:
        slug += "-" + hashlib.sha256(str(source.crate_dir).encode()).hexdigest()[:10]
    dest = paths.cache_dir() / "workspaces" / slug
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(paths.BENCH, dest, ignore=shutil.ignore_patterns("target", ".*"))
    total = 0
    for manifest in sorted(dest.rglob("Cargo.toml")):  # every crate that measures AllFrame
        text, n = _REQ.subn(rf'\g<1>={source.version}\g<2>', manifest.read_text())
        if n:
            manifest.write_text(text)
            total += n
    if total == 0:
        raise SourceError(f"{dest}: could not find an allframe-core requirement to rewrite")
    args: list[str] = []
    if source.kind == "checkout":
        args += ["--config", f'patch.crates-io.{CRATE}.path="{source.crate_dir}"']
    return dest, args
