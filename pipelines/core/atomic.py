"""Replacing a published directory so that readers, and a crash at any moment, see the old one or the new
one whole, never neither."""

import ctypes
import ctypes.util
import os
import shutil
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
_renameat2 = getattr(_libc, "renameat2", None)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    if _renameat2 is None:
        return False
    if _renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(a))


def replace_directory(incoming: Path, target: Path) -> None:
    """Put the complete directory `incoming` in place of `target` (which may not exist yet)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        os.replace(incoming, target)
        return
    if _exchange(incoming, target):
        shutil.rmtree(incoming)  # now holds the previous outputs
        return
    # Without an atomic exchange there is a moment with no target; a rerun publishes again.
    outgoing = target.with_name(f".{target.name}.outgoing")
    shutil.rmtree(outgoing, ignore_errors=True)
    os.replace(target, outgoing)
    os.replace(incoming, target)
    shutil.rmtree(outgoing)
