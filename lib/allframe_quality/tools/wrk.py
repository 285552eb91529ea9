"""wrk, driven as TechEmpower does, read through a Lua done() hook that prints one JSON line."""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import cargo
from ..core import procs

ACCEPT = {
    "plaintext": "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7",
    "default": "application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7",
}
MARK = "WRK_JSON "

# done() is wrk's end-of-run hook; latency is in microseconds. errors.status counts non-2xx/3xx.
DONE_LUA = r'''
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.1f,"p75":%.1f,"p90":%.1f,"p99":%.1f,"max":%.1f,"mean":%.2f,"stdev":%.2f}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, latency.stdev))
end
'''

# TechEmpower's pipeline.lua: `depth` requests written back to back on each connection.
PIPELINE_LUA = r'''
init = function(args)
  local depth = tonumber(args[1]) or 1
  local r = {}
  for i = 1, depth do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
'''


class WrkError(RuntimeError):
    pass


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    bytes: int
    errors: dict[str, int]
    latency_us: dict[str, float]

    @property
    def non_2xx(self) -> int:
        return self.errors.get("status", 0)

    @property
    def socket_errors(self) -> int:
        return sum(v for k, v in self.errors.items() if k != "status")

    @property
    def rps(self) -> float:
        """TechEmpower's: (requests - non-2xx/3xx) / duration."""
        return (self.requests - self.non_2xx) / self.duration_s


def parse(stdout: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(MARK):
            d = json.loads(line[len(MARK):])
            return WrkResult(d["requests"], d["duration_us"] / 1e6, d["bytes"], d["errors"], d["latency_us"])
    raise WrkError(f"no {MARK.strip()} line in wrk's output (the done() hook did not run): {stdout[-300:]!r}")


def script(pipeline: int = 0) -> str:
    return (PIPELINE_LUA if pipeline > 1 else "") + DONE_LUA


def run(url: str, *, test: str, duration_s: float, connections: int, threads: int = 1, pipeline: int = 0,
        timeout_s: int = 8, pin: list[str] | None = None, on_start=None) -> tuple[WrkResult, procs.Completed]:
    """One wrk run; `on_start(pid)` lets the caller sample the load generator's CPU while it runs."""
    cargo.require("wrk")
    with tempfile.TemporaryDirectory() as d:
        lua = Path(d) / "tfb.lua"
        lua.write_text(script(pipeline))
        args = [*(pin or []), "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration_s))}s",
                "--timeout", f"{timeout_s}s", "--latency", "-H", f"Accept: {ACCEPT.get(test, ACCEPT['default'])}",
                "-H", "Connection: keep-alive", "-s", str(lua), url]
        if pipeline > 1:
            args += ["--", str(pipeline)]
        done = procs.run(args, timeout=duration_s + 60, on_spawn=on_start)
    if not done.ok:
        raise WrkError(f"wrk exit {done.returncode}: " + "\n".join(done.stderr_tail[-5:]))
    return parse(done.stdout), done
