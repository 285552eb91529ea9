"""Notebook parameters: the ones a notebook declares (its cell tagged `parameters`) are the only valid ones.

`make report -p NOTEBOOK.KEY=VALUE` is checked here before anything runs; a notebook run by papermill
directly checks itself in the cell after its parameters (`Parameters(...).check(globals())`), since
papermill only warns about an unknown name and runs the defaults.
"""
from __future__ import annotations

from functools import lru_cache

from . import paths


class ParameterError(ValueError):
    pass


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
