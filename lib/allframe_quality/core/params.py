"""Notebook parameters: the ones a notebook declares (its cell tagged `parameters`) are the only valid ones.

`make report -p NOTEBOOK.KEY=VALUE` is checked here before anything runs; a notebook run by papermill
directly checks itself in the cell after its parameters (`Parameters(...).check(globals())`), since
papermill only warns about an unknown name and runs the defaults.
"""
from __future__ import annotations

from functools import lru_cache

import yaml

from . import paths, registry


from .errors import ParameterError   # noqa: F401 (notebooks and commands catch it from here)


@lru_cache(maxsize=None)
def declared(notebook: str) -> dict[str, dict]:
    """name -> {default, help, type} as papermill reads the notebook's parameters cell."""
    import papermill
    path = paths.NOTEBOOKS / f"{notebook}.ipynb"
    if not path.exists():
        raise ParameterError(f"no notebook {path}")
    return {p["name"]: {"default": p["default"], "help": p["help"], "type": p["inferred_type_name"]}
            for p in papermill.inspect_notebook(str(path)).values()}


def check(notebook: str, given: dict) -> None:
    """Unknown parameter names are an error naming the valid ones."""
    valid = declared(notebook)
    bad = sorted(set(given) - set(valid))
    if bad:
        raise ParameterError(f"unknown parameter(s) {bad} for notebook {notebook!r}; valid: {sorted(valid)}")


def listing(notebook: str) -> str:
    rows = [f"{name} = {p['default']}" + (f"    # {p['help']}" if p["help"] else "") for name, p in declared(notebook).items()]
    return f"notebooks/{notebook}.ipynb parameters (-p {notebook}.KEY=VALUE, VALUE in YAML):\n  " + "\n  ".join(rows)


class Parameters:
    """In a notebook: `_params = Parameters("size", globals())` before the parameters cell, then
    `_params.check(globals())` after it: a name papermill injected that the notebook does not declare is an error."""

    def __init__(self, notebook: str, namespace: dict):
        self.notebook = notebook
        self.before = set(namespace)

    def check(self, namespace: dict) -> None:
        new = {k for k in set(namespace) - self.before if not k.startswith("_")}
        check(self.notebook, {k: namespace[k] for k in new})


def parse_pairs(pairs: list[str], valid=None, what: str = "notebook") -> dict[str, dict]:
    """NAME.KEY=VALUE pairs (VALUE parsed as YAML: lists, numbers, booleans, null) -> per-name dicts;
    NAME is a notebook for report (KEY checked against the notebook's parameters cell), a suite for ab."""
    valid = registry.PAGES if valid is None else valid
    out: dict[str, dict] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        nb, dot, name = key.partition(".")
        if not sep or not dot or not name:
            raise ParameterError(f"bad --param {pair!r}: expected {what.upper()}.KEY=VALUE, e.g. size.profiles='[release]'")
        if nb not in valid:
            raise ParameterError(f"bad --param {pair!r}: unknown {what} {nb!r}; valid: {sorted(valid)}")
        try:
            out.setdefault(nb, {})[name] = yaml.safe_load(value)
        except yaml.YAMLError as e:
            raise ParameterError(f"bad --param {pair!r}: the value is not valid YAML ({e.problem})")
    if what == "notebook":
        for nb, given in out.items():
            try:
                check(nb, given)
            except ParameterError as e:
                raise ParameterError(f"bad --param: {e}") from None
    return out
