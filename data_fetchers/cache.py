"""Where data lives on disk.

Search order: ``$HEPML_CACHE_DIR`` (a hub can point it at a shared, pre-filled,
possibly read-only directory), then the user cache directory. New files are written
to the first of these that is writable. Layout::

    <root>/<dataset>/full/<file>                       verified downloads
    <root>/<dataset>/sample-v<V>-seed<S>-n<N>/<file>   generated samples
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

import platformdirs
from filelock import FileLock

from .errors import DataError

CACHE_ENV = "HEPML_CACHE_DIR"
APP_NAME = "hepml-hands-on"
# What this package writes is readable by every user: an administrator who fills a hub's shared
# cache may have a umask of 077, and tempfile.mkdtemp always creates mode 0700.
SHARED_DIR_MODE = 0o755
SHARED_FILE_MODE = 0o644


def user_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


def cache_roots() -> list[Path]:
    """Directories searched for data, in order."""
    roots = []
    env = os.environ.get(CACHE_ENV)
    if env:
        roots.append(Path(env).expanduser())
    roots.append(user_cache_dir())
    return roots


def make_dirs(directory: Path) -> list[Path]:
    """``mkdir -p`` whose new directories every user can read and enter, whatever the umask.
    Returns the directories it created, outermost first (for `remove_empty_dirs`)."""
    missing = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    created = []
    for path in reversed(missing):
        try:
            path.mkdir()
            created.append(path)
        except FileExistsError:  # another process made it meanwhile: not ours to remove
            pass
        path.chmod(SHARED_DIR_MODE)
    return created


def remove_empty_dirs(created: list[Path]) -> None:
    """Remove, innermost first, those of ``created`` that are empty: a failed attempt leaves no
    empty directory behind (a directory another process has filled meanwhile stays)."""
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:  # not empty, or already gone
            pass


def make_readable(path: Path) -> None:
    """Give a file, or a directory and everything in it, the shared-cache permissions."""
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        if not p.is_symlink():
            p.chmod(SHARED_DIR_MODE if p.is_dir() else SHARED_FILE_MODE)


def is_writable(directory: Path) -> bool:
    """True if a file can really be created under ``directory`` (creating it if needed).

    ``os.access`` is not enough: root ignores permission bits and read-only mounts
    only show up on an actual write.
    """
    created = []
    try:
        created = make_dirs(directory)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test-"):
            pass
        return True
    except OSError:
        return False
    finally:  # a probe: what it created goes again (whoever writes makes the directories)
        remove_empty_dirs(created)


def writable_root() -> Path:
    """The first cache root that can be written to."""
    roots = cache_roots()
    for root in roots:
        if is_writable(root):
            return root
    raise PermissionError(
        f"None of the data cache directories can be written ({', '.join(map(str, roots))}); "
        f"set {CACHE_ENV} to a writable directory."
    )


def _unreadable(path: Path) -> Path | None:
    """The first part of ``path`` (itself, or a file or folder inside it) this user cannot read."""
    for p in [path, *(path.rglob("*") if path.is_dir() else [])]:
        if not os.access(p, os.R_OK | (os.X_OK if p.is_dir() else 0)):
            return p
    return None


def ensure_readable(path: Path) -> None:
    """Raise the book's one-sentence error if ``path`` exists but this user cannot read all of it
    (a shared cache filled with private permissions), instead of a raw PermissionError later."""
    try:
        blocked = _unreadable(path) if path.exists() else None
    except PermissionError:
        blocked = path
    if blocked is not None:
        root = next((r for r in cache_roots() if path.is_relative_to(r)), path.parent)
        raise DataError(
            f"The data cache {root} holds {path.relative_to(root)} but this user cannot read {blocked}; ask "
            f"whoever filled it to run `chmod -R a+rX {root}`, or unset {CACHE_ENV} to use your own cache.")


def find_existing(relative: Path) -> Path | None:
    """The first ``root / relative`` that exists (and is readable: see ``ensure_readable``), or None."""
    for root in cache_roots():
        candidate = root / relative
        ensure_readable(candidate)
        if candidate.exists():
            return candidate
    return None


def create_once(target: Path, make: Callable[[Path], None], *, directory: bool,
                failure: Callable[[BaseException], Exception],
                catch: tuple[type[BaseException], ...] = (Exception,)) -> Path:
    """Create ``target`` (a file or a directory) once, safely.

    Under a file lock, so that concurrent callers wait and then find the finished target;
    ``make`` writes into a temporary sibling that is renamed into place, so a failed or
    interrupted attempt leaves nothing behind. An exception of a ``catch`` type is replaced by
    ``failure(exc)``; anything else (e.g. KeyboardInterrupt) propagates as it is.
    """
    if target.exists():
        return target
    created = make_dirs(target.parent)
    lock = str(target) + ".lock"
    with FileLock(lock):
        if target.exists():  # another process finished it while we waited
            return target
        if directory:
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-tmp-"))
        else:
            tmp = target.with_name(f".{target.name}.tmp")
        try:
            make(tmp)
            make_readable(tmp)
            tmp.rename(target)
        except BaseException as exc:
            if directory:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            remove_lock_file(lock)
            failed = exc
        else:
            failed = None
    if failed is None:
        return target
    remove_empty_dirs(created)
    if isinstance(failed, catch):
        raise failure(failed) from failed
    raise failed


def remove_lock_file(lock: str) -> None:
    """Unlink a lock file while holding its lock, after a failed attempt, so that nothing is
    left behind. filelock's Unix lock (4.x, pinned) is built for this: a process waiting on the old
    file sees that it was unlinked (st_nlink == 0) and locks a fresh one."""
    try:
        os.unlink(lock)
    except OSError:
        pass
