"""The house rules of lib/allframe_quality: layers depend downward only (import-linter, configured in
pyproject.toml), no module takes part in an import circle, and no module imports another's private name."""
import ast
import subprocess
import sys
from pathlib import Path

import grimp

from allframe_quality.core import paths, registry

PACKAGE = paths.ROOT / "lib" / "allframe_quality"


def test_layers_depend_downward_only():
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"], cwd=paths.ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 kept, 0 broken" in done.stdout


def _cycle_from(graph, start: str) -> list[str] | None:
    """A shortest import circle through `start`, or None."""
    for mod in graph.find_modules_directly_imported_by(start):
        chain = graph.find_shortest_chain(importer=mod, imported=start)
        if chain:
            return [start, *chain]
    return None


def test_no_module_is_in_an_import_circle():
    graph = grimp.build_graph("allframe_quality")
    circles = [c for m in sorted(graph.modules) if (c := _cycle_from(graph, m))]
    assert circles == [], "\n".join(" -> ".join(c) for c in circles[:10])


def _private_imports(path: Path) -> list[str]:
    """`from X import _name` of another module (a name with a leading underscore that is not X's own module)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    out.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: from {'.' * node.level}{node.module or ''} "
                               f"import {alias.name}")
    return out


def test_no_module_imports_another_modules_private_name():
    found = [x for p in sorted(PACKAGE.rglob("*.py")) for x in _private_imports(p)]
    assert found == []


def test_every_list_of_suites_comes_from_the_registry():
    from allframe_quality.compare import ab
    from allframe_quality.report import publish
    from allframe_quality.suites import gate
    from allframe_quality.verdict import history
    assert list(publish.NOTEBOOKS) == [s.name for s in registry.SUITES]
    assert set(gate.EVALUATORS) == {s.name for s in registry.SUITES if s.analysis}
    assert ab.SUITES == registry.AB_SUITES
    assert {s for s, _ in history.TRACKED} <= set(registry.MEASURING)
    assert {p.stem for p in paths.NOTEBOOKS.glob("*.ipynb")} == set(registry.PAGES)
