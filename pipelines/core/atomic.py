"""Replacing a published directory so that readers, and a crash at any moment, see the old one or the new
one whole, never neither; and the file modes it is published with.

Published outputs are readable by their owner only, or by the owner's group too with MHHS_GROUP_READABLE=1
(an auditor's account in that group): docs/reliability.md, "File modes". Everything else the commands write
(the lake, quarantine, the runs' own files, landing copies) stays owner-only whatever the setting.
"""

import ctypes
import ctypes.util
import hashlib
import os
import shutil
import stat
from pathlib import Path

from pipelines.core.errors import MhhsError

GROUP_READABLE_SETTING = "MHHS_GROUP_READABLE"
PRIVATE_FILE, PRIVATE_FOLDER = 0o600, 0o700
GROUP_READABLE_FILE, GROUP_READABLE_FOLDER = 0o640, 0o750

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


def group_readable() -> bool:
    """MHHS_GROUP_READABLE: 1, published outputs readable by the group; 0 or unset, by their owner only."""
    value = os.environ.get(GROUP_READABLE_SETTING, "").strip()
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise MhhsError(f"{GROUP_READABLE_SETTING}={value!r} is not a setting: give 1 (published outputs readable by "
                    "the group) or 0 (by their owner only, the default)")


def _chmod(path: Path, mode: int) -> None:
    """Set the permission bits, keeping setgid (a folder passing its group on to what is created in it)."""
    os.chmod(path, stat.S_IMODE(path.stat().st_mode) & stat.S_ISGID | mode)


def set_published_modes(folder: Path, group: bool) -> None:
    """Every file under folder (and folder itself) owner-only, or group-readable, whatever the umask was."""
    file_mode, folder_mode = (GROUP_READABLE_FILE, GROUP_READABLE_FOLDER) if group else (PRIVATE_FILE, PRIVATE_FOLDER)
    for path in [folder, *Path(folder).rglob("*")]:
        if not path.is_symlink():
            _chmod(path, folder_mode if path.is_dir() else file_mode)


def open_to_group(folder: Path, listed_from: Path, data_dir: Path) -> None:
    """Let the group reach `folder`: the folders from `listed_from` down to it may be listed and entered
    (r-x), and those from `data_dir` down to `listed_from` entered only (--x), so the group finds the published
    folders without seeing anything else. Folders outside data_dir above `listed_from` are the caller's."""
    folder, listed_from, data_dir = Path(folder), Path(listed_from), Path(data_dir)
    for path in [folder, *folder.parents]:
        if path == listed_from or listed_from in path.parents:
            _chmod(path, stat.S_IMODE(path.stat().st_mode) | 0o050)
        elif path == data_dir or data_dir in path.parents:
            _chmod(path, stat.S_IMODE(path.stat().st_mode) | 0o010)
        if path == data_dir or path == listed_from and data_dir not in path.parents:
            break


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex), read in blocks of a MiB: a published or standing file of any size."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
