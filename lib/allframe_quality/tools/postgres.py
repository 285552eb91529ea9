"""A private PostgreSQL for the throughput suite: created, loaded and stopped by the harness.

initdb into a temporary directory, a free port on 127.0.0.1, configured as TechEmpower does
(synchronous_commit=off, enough max_connections, pg_stat_statements), loaded with TechEmpower's
data (World: 10,000 rows; Fortune: the 12 fortunes exactly), and stopped on exit, error or Ctrl-C.
PostgreSQL refuses to run as root, so as root the server runs as an unprivileged system user.
"""
from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

from ..core.errors import ToolMissing

OS_USER = "afq-postgres"
PREFIX = "afq-postgres-"
DB, USER, PASSWORD = "hello_world", "benchmarkdbuser", "benchmarkdbpass"
FORTUNES = [
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
]


def bin_dir() -> Path:
    """The newest installed PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/<v>/bin)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    if shutil.which("initdb") and shutil.which("pg_ctl"):
        return Path(shutil.which("initdb")).parent
    raise ToolMissing("PostgreSQL server binaries (initdb, pg_ctl) not found: "
                      "`apt-get install postgresql postgresql-contrib`, or run `make setup`.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    """`with Postgres() as pg:` a running, loaded server; pg.url for the servers, pg.connect() for us."""

    def __init__(self, max_connections: int = 200):
        self.max_connections = max_connections
        self.port = 0
        self.dir: Path | None = None
        self.bin = bin_dir()

    # --- process plumbing
    def _as_owner(self) -> list[str]:
        return ["runuser", "-u", OS_USER, "--"] if os.geteuid() == 0 else []

    def _run(self, *args: str) -> None:
        r = subprocess.run([*self._as_owner(), *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            log = (self.dir / "server.log").read_text(errors="replace")[-1500:] if self.dir and (self.dir / "server.log").exists() else ""
            raise RuntimeError(f"{Path(args[0]).name} failed: {r.stderr.strip()[-1500:]}\n{log}")

    def _ensure_os_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER],
                           check=True, capture_output=True)

    # --- lifecycle
    @staticmethod
    def sweep_stale() -> None:
        """Data directories of servers that a killed run left behind: removed once their postmaster is gone."""
        for d in Path(tempfile.gettempdir()).glob(f"{PREFIX}*"):
            pidfile = d / "data" / "postmaster.pid"
            try:
                pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
                if pid is not None:
                    os.kill(pid, 0)
                    continue          # still running: another run's server
            except (ProcessLookupError, ValueError, IndexError):
                pass
            except (PermissionError, OSError):
                continue
            shutil.rmtree(d, ignore_errors=True)

    def start(self) -> "Postgres":
        self._ensure_os_user()
        self.sweep_stale()
        self.dir = Path(tempfile.mkdtemp(prefix=PREFIX))
        if os.geteuid() == 0:
            u = pwd.getpwnam(OS_USER)
            os.chown(self.dir, u.pw_uid, u.pw_gid)
        data = self.dir / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-locale", "--no-sync")
        self.port = free_port()
        conf = f"""
listen_addresses = '127.0.0.1'
port = {self.port}
unix_socket_directories = '{self.dir}'
max_connections = {self.max_connections}
shared_buffers = 256MB
synchronous_commit = off
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
"""
        with open(data / "postgresql.conf", "a") as f:
            f.write(conf)
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"), "-w", "-t", "60", "start")
        self._load()
        return self

    def stop(self) -> None:
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            subprocess.run([*self._as_owner(), str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, stdin=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    def __enter__(self) -> "Postgres":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- data
    @property
    def url(self) -> str:
        return f"postgres://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{DB}"

    def connect(self, superuser: bool = False, db: str = DB) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, dbname=db,
                               user="postgres" if superuser else USER, password=None if superuser else PASSWORD,
                               autocommit=True)

    def _load(self) -> None:
        with self.connect(superuser=True, db="postgres") as c:
            c.execute(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
            c.execute(f"CREATE DATABASE {DB} OWNER {USER} ENCODING 'UTF8' TEMPLATE template0")
        with self.connect(superuser=True) as c:
            c.execute("CREATE EXTENSION pg_stat_statements")
            c.execute(f"GRANT pg_read_all_stats TO {USER}")
        with self.connect() as c:
            c.execute("CREATE TABLE world (id integer NOT NULL PRIMARY KEY, randomnumber integer NOT NULL DEFAULT 0)")
            c.execute("CREATE TABLE fortune (id integer NOT NULL PRIMARY KEY, message varchar(2048) NOT NULL)")
            rng = random.Random()
            with c.cursor().copy("COPY world (id, randomnumber) FROM STDIN") as cp:
                for i in range(1, 10_001):
                    cp.write_row((i, rng.randint(1, 10_000)))
            c.cursor().executemany("INSERT INTO fortune (id, message) VALUES (%s, %s)", FORTUNES)

    def reset_statements(self) -> None:
        with self.connect(superuser=True) as c:
            c.execute("SELECT pg_stat_statements_reset()")

    def statement_calls(self) -> dict[str, int]:
        """Calls since the last reset, by kind: world selects, fortune selects, world updates."""
        kinds = {"world_select": "SELECT id, randomnumber FROM world%", "fortune_select": "SELECT id, message FROM fortune%",
                 "world_update": "UPDATE world%"}
        out = {}
        with self.connect(superuser=True) as c:
            for k, like in kinds.items():
                row = c.execute("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE %s", (like,)).fetchone()
                out[k] = int(row[0])
        return out

    def worlds(self, ids: list[int]) -> dict[int, int]:
        with self.connect() as c:
            rows = c.execute("SELECT id, randomnumber FROM world WHERE id = ANY(%s)", (ids,)).fetchall()
        return dict(rows)
