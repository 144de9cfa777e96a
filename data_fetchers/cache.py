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

CACHE_ENV = "HEPML_CACHE_DIR"
APP_NAME = "hepml-hands-on"


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


def is_writable(directory: Path) -> bool:
    """True if a file can really be created under ``directory`` (creating it if needed).

    ``os.access`` is not enough: root ignores permission bits and read-only mounts
    only show up on an actual write.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".write-test-"):
            pass
        return True
    except OSError:
        return False


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


def find_existing(relative: Path) -> Path | None:
    """The first ``root / relative`` that exists, or None."""
    for root in cache_roots():
        candidate = root / relative
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
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if target.exists():  # another process finished it while we waited
            return target
        if directory:
            tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-tmp-"))
        else:
            tmp = target.with_name(f".{target.name}.tmp")
        try:
            make(tmp)
            tmp.rename(target)
        except BaseException as exc:
            if directory:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
            if isinstance(exc, catch):
                raise failure(exc) from exc
            raise
    return target
