"""TechEmpower's verification rules, applied to a server before any load (shared/reference/tfb.md).

Each check returns a list of problems (empty = passed), so a report can say exactly what failed.
"""
from __future__ import annotations

import html
import http.client
import json
import re
import time
from dataclasses import dataclass
from typing import Callable

from ..core import registry

TESTS = registry.TFB_TESTS
PATHS = {"json": "/json", "plaintext": "/plaintext", "db": "/db", "queries": "/queries?queries=",
         "fortunes": "/fortunes", "updates": "/updates?queries="}
CONTENT_TYPES = {
    "json": r"^application/json(; ?charset=(UTF|utf)-8)?$",
    "html": r"^text/html; ?charset=(UTF|utf)-8$",
    "plaintext": r"^text/plain(; ?charset=(UTF|utf)-8)?$",
}
KIND = {"json": "json", "db": "json", "queries": "json", "updates": "json", "plaintext": "plaintext", "fortunes": "html"}
# The queries parameter cases: value -> expected number of rows.
QUERY_CASES = {"2": 2, "0": 1, "foo": 1, "": 1, "501": 500}


@dataclass
class Response:
    status: int
    headers: dict[str, str]    # lower-cased names
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def fetch(port: int, path: str, timeout: float = 10.0) -> Response:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers={"Accept": "application/json,text/html;q=0.9,*/*;q=0.7"})
        r = c.getresponse()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        c.close()


def check_headers(r: Response, kind: str) -> list[str]:
    p = []
    if r.status != 200:
        p.append(f"status {r.status}, expected 200")
    for h in ("server", "date", "content-type"):
        if h not in r.headers:
            p.append(f"no {h.title()} header")
    if "content-length" not in r.headers and r.headers.get("transfer-encoding", "").lower() != "chunked":
        p.append("neither Content-Length nor chunked Transfer-Encoding")
    ct = r.headers.get("content-type", "")
    if ct and not re.match(CONTENT_TYPES[kind], ct):
        p.append(f"Content-Type {ct!r} does not match {CONTENT_TYPES[kind]!r}")
    return p


def _world(obj, where: str) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: not a JSON object"]
    p = []
    for key in ("id", "randomNumber"):
        if key not in obj:
            p.append(f"{where}: no {key!r} key (keys: {sorted(obj)})")
        elif not isinstance(obj[key], int) or isinstance(obj[key], bool):
            p.append(f"{where}: {key} is {type(obj[key]).__name__}, expected an integer")
    if isinstance(obj.get("id"), int) and not 1 <= obj["id"] <= 10_000:
        p.append(f"{where}: id {obj['id']} outside 1..10000")
    return p


def check_json(r: Response) -> list[str]:
    try:
        body = r.json()
    except ValueError:
        return ["body is not JSON"]
    if not isinstance(body, dict) or str(body.get("message", "")).lower() != "hello, world!":
        return [f"body {r.body[:80]!r} lacks message 'Hello, World!'"]
    return []


def check_plaintext(r: Response) -> list[str]:
    return [] if b"hello, world!" in r.body.lower() else [f"body {r.body[:80]!r} lacks 'Hello, World!'"]


def check_db(r: Response) -> list[str]:
    try:
        return _world(r.json(), "db")
    except ValueError:
        return ["body is not JSON"]


def check_rows(r: Response, expected: int, what: str) -> list[str]:
    try:
        body = r.json()
    except ValueError:
        return [f"{what}: body is not JSON"]
    if not isinstance(body, list):
        return [f"{what}: body is not a JSON array"]
    p = [] if len(body) == expected else [f"{what}: {len(body)} rows, expected {expected}"]
    for i, w in enumerate(body[:3]):
        p += _world(w, f"{what} row {i}")
    return p


def expected_fortunes_html(fortunes: list[tuple[int, str]]) -> str:
    rows = sorted(fortunes + [(0, "Additional fortune added at request time.")], key=lambda f: f[1])
    cells = "".join(f"<tr><td>{i}</td><td>{html.escape(m, quote=False)}</td></tr>" for i, m in rows)
    return ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>")


def _normalize(text: str) -> str:
    """TechEmpower's tolerance: whitespace between tags, and ' \" > either raw or escaped."""
    text = re.sub(r">\s+<", "><", text.strip())
    for esc, raw in (("&#x27;", "'"), ("&#39;", "'"), ("&quot;", '"'), ("&#34;", '"'), ("&gt;", ">"), ("&#62;", ">")):
        text = text.replace(esc, raw)
    return text.replace("<!doctype html>", "<!DOCTYPE html>")


def check_fortunes(r: Response, fortunes: list[tuple[int, str]]) -> list[str]:
    try:
        got = r.body.decode("utf-8")
    except UnicodeDecodeError:
        return ["body is not UTF-8"]
    want = expected_fortunes_html(fortunes)
    if _normalize(got) == _normalize(want):
        return []
    g, w = _normalize(got), _normalize(want)
    at = next((i for i, (a, b) in enumerate(zip(g, w)) if a != b), min(len(g), len(w)))
    return [f"fortunes HTML differs from the expected page at character {at}: got {g[max(0, at - 30):at + 50]!r}, "
            f"expected {w[max(0, at - 30):at + 50]!r}"]


def verify(port: int, test: str, *, fortunes=None, worlds: Callable[[list[int]], dict[int, int]] | None = None,
           date_wait: float = 1.1) -> list[str]:
    """All of TechEmpower's checks for one (server, test); [] means verified."""
    if test not in TESTS:
        raise ValueError(f"unknown test {test!r}; valid: {list(TESTS)}")
    path = PATHS[test] + ("20" if test in ("queries", "updates") else "")
    try:
        r = fetch(port, path)
    except OSError as e:
        return [f"GET {path}: {e}"]
    problems = [f"GET {path}: {m}" for m in check_headers(r, KIND[test])]
    if r.status != 200:
        return problems
    if test == "json":
        problems += check_json(r)
    elif test == "plaintext":
        problems += check_plaintext(r)
    elif test == "db":
        problems += check_db(r)
    elif test == "fortunes":
        problems += check_fortunes(r, fortunes or [])
    else:
        problems += check_rows(r, 20, f"{test}?queries='20'")
        # read the database back now: the clamping cases below update up to 500 more random rows
        if test == "updates" and worlds is not None and not problems:
            body = r.json()
            stored = worlds([w["id"] for w in body])
            same = sum(stored.get(w["id"]) == w["randomNumber"] for w in body)
            if same < 0.9 * len(body):
                problems.append(f"updates: only {same} of {len(body)} returned rows match the database afterwards")
        for value, n in QUERY_CASES.items():
            try:
                rr = fetch(port, PATHS[test] + value)
            except OSError as e:
                problems.append(f"queries={value!r}: {e}")
                continue
            problems += check_rows(rr, n, f"{test}?queries={value!r}")
    # Date must change over time (a 1 s cache is fine)
    first = r.headers.get("date")
    time.sleep(date_wait)
    try:
        later = fetch(port, path).headers.get("date")
    except OSError as e:
        later = None
        problems.append(f"second GET {path}: {e}")
    if first and later and first == later:
        problems.append(f"Date header did not change after {date_wait:g}s ({first!r})")
    return problems


# statements each request must cause (TechEmpower's query-count check, at 20 queries per request)
STATEMENTS_PER_REQUEST = {
    "db": {"world_select": 1}, "queries": {"world_select": 20}, "fortunes": {"fortune_select": 1},
    "updates": {"world_select": 20, "world_update": 1},
}


def check_statement_counts(port: int, test: str, reset: Callable[[], None], calls: Callable[[], dict[str, int]],
                           requests: int = 64) -> list[str]:
    """Send `requests` requests and compare the statements pg_stat_statements saw with what the test implies."""
    if test not in STATEMENTS_PER_REQUEST:
        return []
    path = PATHS[test] + ("20" if test in ("queries", "updates") else "")
    reset()
    for _ in range(requests):
        fetch(port, path)
    seen = calls()
    problems = []
    for kind, per in STATEMENTS_PER_REQUEST[test].items():
        want = per * requests
        if not 0.95 * want <= seen.get(kind, 0) <= 1.05 * want:
            problems.append(f"{requests} requests to {path} ran {seen.get(kind, 0)} {kind} statements, expected {want}")
    return problems
