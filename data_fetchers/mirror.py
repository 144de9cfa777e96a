"""A school mirror: the verified full-mode downloads laid out for any static web server.

    python -m data_fetchers fetch NAME --mode full      # once, on a machine with the network
    python -m data_fetchers mirror /srv/hepml-mirror    # <dir>/<dataset>/<file>
    python -m http.server -d /srv/hepml-mirror 8000     # or nginx, or a hub's web space

Students then set ``HEPML_MIRROR=http://<host>:8000``: ``fetch_remote_file`` tries the mirror
before the canonical URLs and verifies what it gets against the registry's checksum, exactly as
for a canonical download, so a venue downloads each file once instead of once per student.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from . import cache
from .fetch import verify_cached
from .registry import DATASETS, get_dataset


@dataclass(frozen=True)
class MirrorReport:
    copied: list[Path]  # files now in the mirror
    missing: list[str]  # one sentence per file the cache does not hold


def lay_out_mirror(directory: Path, names: list[str] | None = None) -> MirrorReport:
    """Copy the cached full-mode downloads of ``names`` (default: every dataset) into
    ``directory/<dataset>/<file>``, each verified first (when the registry has its checksum)
    and made readable by every user, so that any web server can serve it."""
    directory = Path(directory)
    copied, missing = [], []
    for name in names or list(DATASETS):
        dataset = get_dataset(name)
        for rf in dataset.files:
            source = cache.find_existing(Path(dataset.name) / "full" / rf.filename)
            if source is None:
                missing.append(f"{dataset.name}/{rf.filename} is not in the cache: run "
                               f"`python -m data_fetchers fetch {dataset.name} --mode full` first.")
                continue
            verify_cached(source, rf)  # a corrupted cache file must not reach fifty students
            target = directory / dataset.name / rf.filename
            if not (target.exists() and target.stat().st_size == source.stat().st_size):
                cache.make_dirs(target.parent)  # directories a web server can enter, whatever the umask
                tmp = target.with_name(f".{target.name}.tmp")
                shutil.copyfile(source, tmp)  # a copy, not a link: the cache keeps its own permissions
                tmp.chmod(cache.SHARED_FILE_MODE)
                tmp.rename(target)
            copied.append(target)
    return MirrorReport(copied, missing)
