"""A private copy of the executable a cargo build just linked, taken from the build's own file under deps/.

Cargo links (hard-links) `target/<profile>/deps/<name>-<metadata hash>` to `target/<profile>/<name>`. Another
build into the shared target directory (a concurrent run, another AllFrame source) replaces the second as soon
as cargo lets go of the directory; the first is named by this build's -C metadata hash and stays. Found by
inode right after the build, it is the executable this build wrote even when the linked name was swapped.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def own_file(exe: Path) -> Path:
    """The file under deps/ that is the same inode as `exe` (what this build wrote), else `exe` itself."""
    st = exe.stat()
    for f in (exe.parent / "deps").glob(f"{exe.name.replace('-', '_')}-*"):
        try:
            fs = f.stat()
        except FileNotFoundError:
            continue
        if (fs.st_ino, fs.st_dev) == (st.st_ino, st.st_dev) and f.suffix != ".d":
            return f
    return exe


def copy(exe: Path, dest: Path) -> Path:
    """Copy this build's executable (own_file) to `dest`; call it right after cargo returns."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(own_file(exe), dest)
    return dest
