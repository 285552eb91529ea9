"""The lab's error types, one per kind of bad input, so a command can say which it was and exit accordingly."""
from __future__ import annotations


class InputError(Exception):
    """What the lab was given cannot be measured (a parameter, quality.toml, an AllFrame source, a tool): a command
    says so and exits 2, before or instead of measuring."""


class ParameterError(InputError, ValueError):
    """A bad notebook or command parameter: names the parameter, the value and the valid choices."""


class BudgetError(InputError, ValueError):
    """quality.toml is missing, not TOML, or does not match its schema."""


class ToolMissing(InputError, RuntimeError):
    """A tool the lab drives is not installed: the message says which, and how to install it (INSTALL)."""


# How each tool the lab drives gets onto a machine (`make setup` installs them all).
INSTALL = {
    "cargo": "Install Rust with rustup (https://rustup.rs).",
    "cargo-bloat": "Install it: `cargo install --locked cargo-bloat`, or run `make setup`.",
    "cargo-llvm-cov": "Install it: `cargo install --locked cargo-llvm-cov` and `rustup component add llvm-tools`, or run `make setup`.",
    "valgrind": "Install it: `apt-get install valgrind`, or run `make setup`.",
    "wrk": "Install it: `apt-get install wrk`, or run `make setup`.",
    "taskset": "Install it: `apt-get install util-linux`.",
    "initdb": "Install PostgreSQL: `apt-get install postgresql postgresql-contrib`, or run `make setup`.",
    "postgres": "Install PostgreSQL: `apt-get install postgresql postgresql-contrib`, or run `make setup`.",
    "heaptrack": "Install it: `apt-get install heaptrack`, or run `make setup`.",
    "protoc": "Install it: `apt-get install protobuf-compiler`, or run `make setup`.",
    "strip": "Install binutils: `apt-get install binutils`, or run `make setup`.",
    "nm": "Install binutils: `apt-get install binutils`, or run `make setup`.",
    "readelf": "Install binutils: `apt-get install binutils`, or run `make setup`.",
    "git": "Install it: `apt-get install git`.",
    "inferno-flamegraph": "Install it: `cargo install --locked inferno`, or run `make setup`.",
}


def install_hint(tool: str) -> str:
    return INSTALL.get(tool, "Run `make setup`.")
