"""Rust symbol names made to match across builds, and the symbols and sections of an ELF executable.

One normaliser for every diff (sizes, instructions, heap): a legacy (`_ZN…17h<hash>E`) or v0 (`_R…`) name
is demangled here (no c++filt), without the parts that change from build to build while the source does
not: the legacy `::h<16 hex>` hash, v0 crate disambiguators (`Cs<base62>_`, the `-C metadata` hash) and
impl disambiguators, LLVM and GCC clone suffixes (`.llvm.NNN`, `.cold`, `.constprop.N`, `.isra.N`,
`.part.N`, a bare `.N`). A closure keeps its index (`{closure#1}`): it is the source's, not the build's.
Names are keyed by (crate, path).

The executable is read with binutils (`readelf -SW`, `readelf -sW`, `readelf -rW`, `objdump -d`), parsed.
"""
from __future__ import annotations

import bisect
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# ---------------------------------------------------------------- names

_SUFFIX = re.compile(r"(?:\.(?:llvm|constprop|isra|part|lto_priv|cold|clone)(?:\.\d+)?|\.\d+)+$")
_LEGACY_HASH = re.compile(r"^h[0-9a-f]{16}$")
_LEGACY_ESC = {"SP": "@", "BP": "*", "RF": "&", "LT": "<", "GT": ">", "LP": "(", "RP": ")", "C": ","}
_BASIC = {"a": "i8", "b": "bool", "c": "char", "d": "f64", "e": "str", "f": "f32", "h": "u8", "i": "isize",
          "j": "usize", "l": "i32", "m": "u32", "n": "i128", "o": "u128", "s": "i16", "t": "u16", "u": "()",
          "v": "...", "x": "i64", "y": "u64", "z": "!", "p": "_"}
_UNSIGNED = {"h", "t", "m", "y", "o", "j"}
_SIGNED = {"a", "s", "l", "x", "n", "i"}


class DemangleError(ValueError):
    pass


def strip_suffixes(name: str) -> str:
    """`foo.llvm.1234` -> `foo`; `bar.cold.1` -> `bar`; `baz.constprop.0.isra.0` -> `baz`."""
    return _SUFFIX.sub("", name)


def _legacy(name: str) -> str:
    """`_ZN` {len ident} [h<hash>] `E` -> `a::b::c`, the hash dropped."""
    i, parts = 3, []
    while i < len(name) and name[i] != "E":
        m = re.match(r"\d+", name[i:])
        if not m:
            raise DemangleError(f"legacy name {name!r}: expected a length at {i}")
        n = int(m.group())
        i += len(m.group())
        parts.append(name[i:i + n])
        i += n
    if i >= len(name):
        raise DemangleError(f"legacy name {name!r} has no closing E")
    if parts and _LEGACY_HASH.match(parts[-1]):
        parts.pop()
    out = []
    for p in parts:
        if p.startswith("_$"):
            p = p[1:]
        p = re.sub(r"\$([A-Z]{1,2}|u[0-9a-f]+)\$",
                   lambda m: _LEGACY_ESC.get(m.group(1)) or (chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u"
                                                              else m.group(0)), p)
        out.append(p.replace("..", "::"))
    return "::".join(out)


class _V0:
    """A v0 (RFC 2603) demangler printing no disambiguators: the rustc-demangle grammar, compactly."""

    def __init__(self, sym: str):
        self.s, self.i, self.depth = sym, 0, 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def eat(self, c: str) -> bool:
        if self.peek() == c:
            self.i += 1
            return True
        return False

    def next(self) -> str:
        if self.i >= len(self.s):
            raise DemangleError("v0 name ends early")
        c = self.s[self.i]
        self.i += 1
        return c

    def base62(self) -> int:
        if self.eat("_"):
            return 0
        x = 0
        while True:
            c = self.next()
            if c == "_":
                return x + 1
            x = x * 62 + ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".index(c)
                          if c.isalnum() else self._bad(c))

    def _bad(self, c):
        raise DemangleError(f"v0: unexpected {c!r} at {self.i}")

    def opt_base62(self, tag: str) -> int:
        return self.base62() + 1 if self.eat(tag) else 0

    def decimal(self) -> int:
        start = self.i
        if self.eat("0"):                    # "0" alone: "00" is two numbers
            return 0
        while self.peek().isdigit():
            self.i += 1
        if start == self.i:
            raise DemangleError(f"v0: expected a number at {start}")
        return int(self.s[start:self.i])

    def ident(self) -> tuple[int, str]:
        dis = self.opt_base62("s")
        puny = self.eat("u")
        n = self.decimal()
        self.eat("_")
        text = self.s[self.i:self.i + n]
        self.i += n
        return dis, ("punycode{" + text + "}" if puny else text)

    def backref(self, fn):
        at = self.base62()
        if at >= self.i:
            raise DemangleError("v0: forward back-reference")
        saved, self.i = self.i, at
        self.depth += 1
        if self.depth > 200:
            raise DemangleError("v0: back-references nest too deep")
        try:
            return fn()
        finally:
            self.i, self.depth = saved, self.depth - 1

    def path(self) -> str:
        c = self.next()
        if c == "C":
            return self.ident()[1]
        if c == "M":
            self.opt_base62("s")
            self.path()                      # the impl's parent path: not printed (as rustc-demangle)
            t = self.type()
            return t if re.fullmatch(r"[\w:]+(<.*>)?", t) else f"<{t}>"
        if c == "X":
            self.opt_base62("s")
            self.path()
            t = self.type()
            return f"<{t} as {self.path()}>"
        if c == "Y":
            t = self.type()
            return f"<{t} as {self.path()}>"
        if c == "N":
            ns = self.next()
            parent = self.path()
            dis, name = self.ident()
            if ns.isupper():                 # C closure, S shim: no name of their own but an index
                kind = {"C": "closure", "S": "shim"}.get(ns, ns)
                return f"{parent}::{{{kind}{':' + name if name else ''}#{dis}}}"
            return f"{parent}::{name}" if name else parent
        if c == "I":
            p = self.path()
            return f"{p}<{', '.join(self.generic_args())}>"
        if c == "B":
            return self.backref(self.path)
        raise DemangleError(f"v0: unknown path tag {c!r} at {self.i - 1}")

    def generic_args(self) -> list[str]:
        out = []
        while not self.eat("E"):
            if self.eat("L"):
                self.base62()
                continue                     # lifetimes: not part of what a function is
            out.append(self.const() if self.eat("K") else self.type())
        return out

    def type(self) -> str:
        c = self.peek()
        if c in _BASIC:
            self.i += 1
            return _BASIC[c]
        if c in "CMXYNI":
            return self.path()
        self.i += 1
        if c == "B":
            return self.backref(self.type)
        if c == "A":
            t = self.type()
            return f"[{t}; {self.const()}]"
        if c == "S":
            return f"[{self.type()}]"
        if c == "T":
            ts = []
            while not self.eat("E"):
                ts.append(self.type())
            return "(" + ", ".join(ts) + ("," if len(ts) == 1 else "") + ")"
        if c in "RQ":
            if self.eat("L"):
                self.base62()
            return ("&" if c == "R" else "&mut ") + self.type()
        if c in "PO":
            return ("*const " if c == "P" else "*mut ") + self.type()
        if c == "F":
            self.opt_base62("G")
            unsafe = self.eat("U")
            abi = ""
            if self.eat("K"):
                abi = 'extern "C" ' if self.eat("C") else f'extern "{self.ident()[1]}" '
            args = []
            while not self.eat("E"):
                args.append(self.type())
            ret = self.type()
            return f"{'unsafe ' if unsafe else ''}{abi}fn({', '.join(args)})" + ("" if ret == "()" else f" -> {ret}")
        if c == "D":
            self.opt_base62("G")
            traits = []
            while not self.eat("E"):
                t = self.path()
                binds = []
                while self.eat("p"):
                    name = self.ident()[1]
                    binds.append(f"{name} = {self.type()}")
                if binds:
                    t = (t[:-1] + ", " if t.endswith(">") else t + "<") + ", ".join(binds) + ">"
                traits.append(t)
            if self.eat("L"):
                self.base62()
            return "dyn " + " + ".join(traits)
        raise DemangleError(f"v0: unknown type tag {c!r} at {self.i - 1}")

    def const(self) -> str:
        if self.eat("p"):
            return "_"
        if self.eat("B"):
            return self.backref(self.const)
        t = self.next()
        if t not in _BASIC:
            raise DemangleError(f"v0: const of type tag {t!r} not supported")
        neg = self.eat("n")
        start = self.i
        while self.peek() and self.peek() != "_":
            self.i += 1
        digits = self.s[start:self.i]
        self.next()
        v = int(digits, 16) if digits else 0
        if t == "b":
            return "true" if v else "false"
        if t == "c":
            return repr(chr(v))
        return str(-v if neg else v)


def _v0(name: str) -> str:
    p = _V0(name[2:])
    if p.peek().isdigit():
        p.decimal()                      # the encoding version
    return p.path()                      # the instantiating crate that may follow is not part of the name


_LINKAGE_HASH = re.compile(r"^(_rust_extern_with_linkage_)[0-9a-f]{16}_")


def demangle(raw: str) -> str:
    """A symbol's normalised name: demangled, without hashes, disambiguators or clone suffixes.
    A name that is not Rust (C, the linker's) keeps its own spelling, suffixes stripped."""
    name = _LINKAGE_HASH.sub(r"\1", strip_suffixes(raw))
    try:
        if name.startswith("_ZN") and name.endswith("E"):
            return _legacy(name)
        if name.startswith("_R"):
            return _v0(name)
        if name.startswith("__R"):
            return _v0(name[1:])
    except (DemangleError, IndexError, ValueError):
        # still deterministic across builds: the build-specific parts removed textually
        return re.sub(r"Cs[0-9A-Za-z]+_|17h[0-9a-f]{16}E$", "", name)
    return name


def crate_of(name: str) -> str:
    """The crate a normalised name belongs to: its first path segment, looking through `<`, `&`, `dyn`,
    `*const` (for `<T as Trait>::f`, T's crate: where the code was written, mostly). `[C]` when it
    is not a Rust path."""
    m = re.match(r"(?:[<&\s]|mut |dyn |\*const |\*mut |\[)*([A-Za-z_][A-Za-z0-9_]*)::", name) \
        or re.search(r"([A-Za-z_][A-Za-z0-9_]*)::", name)      # <&T as core::fmt::Debug>::fmt: the trait's
    return m.group(1) if m else "[C]"


@dataclass(frozen=True, order=True)
class Key:
    crate: str
    path: str

    def __str__(self) -> str:
        return self.path


def key(raw: str) -> Key:
    n = demangle(raw)
    return Key(crate_of(n), n)


# ---------------------------------------------------------------- the executable

class SymbolsError(RuntimeError):
    pass


@dataclass(frozen=True)
class Section:
    index: int
    name: str
    type: str
    address: int
    offset: int
    size: int
    flags: str

    @property
    def alloc(self) -> bool:
        return "A" in self.flags

    @property
    def in_file(self) -> bool:
        return self.type != "NOBITS"


@dataclass(frozen=True)
class Symbol:
    address: int
    size: int
    type: str        # FUNC | OBJECT | TLS | NOTYPE
    section: str
    raw: str

    @property
    def anonymous(self) -> bool:
        """An unnamed constant (a string, a panic location) that rustc names `anon.<cgu hash>.<n>`."""
        return self.raw.startswith(("anon.", ".L", "str.", "alloc_"))


@dataclass
class Elf:
    path: Path
    file_size: int
    sections: list[Section]
    symbols: list[Symbol]                                  # sized, defined, in an allocated section
    relative_relocations: list[tuple[int, int]] = field(default_factory=list)   # (where, target address)

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise SymbolsError(f"{name} not found on PATH: install binutils (`apt-get install binutils`, or `make setup`)")
    return path


def _run(argv: list[str]) -> str:
    r = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        raise SymbolsError(f"{' '.join(argv[:3])} failed (exit {r.returncode}): {r.stderr.strip()[-500:]}")
    return r.stdout


_SEC = re.compile(r"^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+(\S*?)\s+\d+\s+\d+\s+\d+\s*$")
_SYM = re.compile(r"^\s*\d+:\s+([0-9a-f]+)\s+(\d+|0x[0-9a-f]+)\s+(\w+)\s+\w+\s+\w+\s+(\S+)\s+(.+)$")
_REL = re.compile(r"^([0-9a-f]+)\s+[0-9a-f]+\s+R_\w+_RELATIVE\s+([0-9a-f]+)\s*$")


def parse_sections(text: str) -> list[Section]:
    """`readelf -SW` -> sections (index, name, type, address, offset, size, flags)."""
    out = []
    for line in text.splitlines():
        m = _SEC.match(line)
        if m and m.group(1) != "0":
            i, name, typ, addr, off, size, flags = m.groups()
            out.append(Section(int(i), name, typ, int(addr, 16), int(off, 16), int(size, 16), flags))
    if not out:
        raise SymbolsError("readelf -SW printed no section headers: not an ELF file?")
    return out


def parse_symbols(text: str, sections: list[Section]) -> list[Symbol]:
    """`readelf -sW` -> the sized, defined symbols of allocated sections (.symtab and .dynsym together,
    each address and size once)."""
    by_index = {s.index: s for s in sections}
    seen: set[tuple[int, int, str]] = set()
    out = []
    for line in text.splitlines():
        m = _SYM.match(line)
        if not m:
            continue
        addr, size, typ, ndx, name = m.groups()
        size = int(size, 0)
        if size == 0 or not ndx.isdigit() or typ in ("FILE", "SECTION"):
            continue
        sec = by_index.get(int(ndx))
        if sec is None or not sec.alloc:
            continue
        name = name.split("@")[0].strip()
        k = (int(addr, 16), size, name)
        if k in seen:
            continue
        seen.add(k)
        out.append(Symbol(int(addr, 16), size, typ, sec.name, name))
    return out


def parse_relative_relocations(text: str) -> list[tuple[int, int]]:
    """`readelf -rW` -> (where, target) of every R_*_RELATIVE relocation: a pointer stored in data."""
    return [(int(m.group(1), 16), int(m.group(2), 16)) for m in map(_REL.match, text.splitlines()) if m]


def read(path: Path) -> Elf:
    """An executable's sections, symbols and the pointers its data holds, as binutils reads them."""
    path = Path(path)
    if not path.is_file():
        raise SymbolsError(f"no executable at {path}")
    readelf = _tool("readelf")
    sections = parse_sections(_run([readelf, "-SW", str(path)]))
    symbols = parse_symbols(_run([readelf, "-sW", str(path)]), sections)
    if not any(s.section == ".text" for s in symbols):
        raise SymbolsError(f"{path} has no function symbols: it was stripped (build it with symbols kept)")
    rel = parse_relative_relocations(_run([readelf, "-rW", str(path)]))
    return Elf(path, path.stat().st_size, sections, symbols, rel)


_INSN = re.compile(r"^\s*([0-9a-f]+):.*\(%rip\).*#\s*([0-9a-f]+)")


def parse_code_references(text: str) -> list[tuple[int, int]]:
    """`objdump -d` (AT&T) -> (instruction address, target) of every RIP-relative operand."""
    return [(int(m.group(1), 16), int(m.group(2), 16)) for m in map(_INSN.match, text.splitlines()) if m]


def code_references(path: Path) -> list[tuple[int, int]]:
    objdump = _tool("objdump")
    return parse_code_references(_run([objdump, "-d", "--no-show-raw-insn", "-w", str(path)]))


_FDE = re.compile(r"^[0-9a-f]+ ([0-9a-f]+) [0-9a-f]+ FDE cie=[0-9a-f]+ pc=([0-9a-f]+)\.\.")


def parse_unwind(text: str) -> list[tuple[int, int]]:
    """`readelf --debug-dump=frames` -> (function start, bytes of its .eh_frame record) per FDE."""
    return [(int(m.group(2), 16), int(m.group(1), 16) + 4) for m in map(_FDE.match, text.splitlines()) if m]


def unwind_entries(path: Path) -> list[tuple[int, int]]:
    return parse_unwind(_run([_tool("readelf"), "--debug-dump=frames", str(path)]))


class AddressMap:
    """Which named symbol an address falls in (the first by name when several cover it)."""

    def __init__(self, symbols: list[Symbol]):
        named = sorted((s for s in symbols if not s.anonymous), key=lambda s: (s.address, s.raw))
        self.starts = [s.address for s in named]
        self.syms = named

    def at(self, addr: int) -> Symbol | None:
        i = bisect.bisect_right(self.starts, addr) - 1
        for j in range(i, max(i - 8, -1), -1):      # a symbol nested in another (rare) is a few back
            s = self.syms[j]
            if s.address <= addr < s.address + s.size:
                return s
        return None
