"""Binder's hard memory limit, applied to a notebook kernel in the tests.

mybinder.org kills a kernel whose container goes above 2 GB. The tests reproduce that with a
Linux memory cgroup: the kernel process (and every process it starts later: Dask workers,
forked generators) is moved into a fresh cgroup whose hard limit is 2 GiB, so a notebook that
would die on Binder dies here too, instead of passing on a 24 GiB CI machine.

Creating a cgroup needs root (as on CI) and a writable cgroup file system. Where that is not
possible, ``MemoryCap.create`` returns no cap and one sentence saying why, which the test run
prints: the cap is never skipped silently. ``HEPML_MEMORY_CAP_MB`` changes the limit (0 turns
it off, with a printed reason).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

CAP_ENV = "HEPML_MEMORY_CAP_MB"
DEFAULT_CAP_MB = 2048  # Binder's limit
CGROUP_ROOT = Path("/sys/fs/cgroup")


def cap_mb() -> int:
    return int(os.environ.get(CAP_ENV, DEFAULT_CAP_MB))


def _own_cgroup(controller: str | None) -> str | None:
    """This process's cgroup path for a v1 controller (or the v2 path for None)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _id, controllers, path = line.split(":", 2)
        if (controller is None and _id == "0" and controllers == "") or \
                (controller is not None and controller in controllers.split(",")):
            return path
    return None


class MemoryCap:
    """One cgroup with a hard memory limit (cgroup v1 ``memory`` or cgroup v2)."""

    def __init__(self, path: Path, version: int, limit_bytes: int):
        self.path, self.version, self.limit_bytes = path, version, limit_bytes

    @classmethod
    def create(cls, label: str, limit_mb: int | None = None) -> tuple[MemoryCap | None, str]:
        """A new capped cgroup, or (None, why it could not be made)."""
        limit_mb = cap_mb() if limit_mb is None else limit_mb
        if limit_mb <= 0:
            return None, f"the memory cap is off ({CAP_ENV}={limit_mb})"
        if os.geteuid() != 0:
            return None, "the 2 GiB memory cap needs root to create a cgroup (as on CI); this run is not root"
        name = f"hepml-{label}-{uuid.uuid4().hex[:8]}"
        limit = limit_mb * 2**20
        v1_parent = _own_cgroup("memory")
        try:
            if v1_parent is not None and (CGROUP_ROOT / "memory").is_dir():
                path = CGROUP_ROOT / "memory" / v1_parent.lstrip("/") / name
                path.mkdir()
                (path / "memory.limit_in_bytes").write_text(str(limit))
                if (path / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                    (path / "memory.memsw.limit_in_bytes").write_text(str(limit))
                try:  # charge the memory the kernel already holds to the new group
                    (path / "memory.move_charge_at_immigrate").write_text("3")
                except OSError:
                    pass
                return cls(path, 1, limit), ""
            v2_parent = _own_cgroup(None)
            unified = CGROUP_ROOT if (CGROUP_ROOT / "cgroup.controllers").exists() else CGROUP_ROOT / "unified"
            if v2_parent is None or not (unified / "cgroup.controllers").exists():
                return None, "the 2 GiB memory cap needs a cgroup file system, and none is mounted here"
            parent = unified / v2_parent.lstrip("/")
            if "memory" not in (parent / "cgroup.subtree_control").read_text().split():
                (parent / "cgroup.subtree_control").write_text("+memory")
            path = parent / name
            path.mkdir()
            (path / "memory.max").write_text(str(limit))
            if (path / "memory.swap.max").exists():
                (path / "memory.swap.max").write_text("0")
            return cls(path, 2, limit), ""
        except OSError as exc:
            return None, f"the 2 GiB memory cap could not be set up ({exc.strerror or exc} in the cgroup file system)"

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def _read(self, name: str) -> str:
        try:
            return (self.path / name).read_text()
        except OSError:
            return ""

    def oom_killed(self) -> bool:
        """True once the kernel's out-of-memory killer has killed a process of this group."""
        text = self._read("memory.oom_control" if self.version == 1 else "memory.events")
        counts = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
        return int(counts.get("oom_kill", 0)) > 0

    def peak_mb(self) -> float:
        """The group's peak usage (page cache included) in MB."""
        value = self._read("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak").strip()
        return int(value) / 2**20 if value.isdigit() else float("nan")

    def reset_peak(self) -> bool:
        """Start a new peak from the current usage (to measure one cell); False where the cgroup
        file system does not allow it (the peak then keeps counting from the start)."""
        try:
            (self.path / ("memory.max_usage_in_bytes" if self.version == 1 else "memory.peak")).write_text("0")
            return True
        except OSError:
            return False

    def anon_mb(self) -> float:
        """The group's anonymous memory now (what cannot be reclaimed without swap; no page cache), in MB."""
        stat = dict(line.split() for line in self._read("memory.stat").splitlines() if len(line.split()) == 2)
        keys = ("rss", "shmem") if self.version == 1 else ("anon", "shmem")
        return sum(int(stat.get(k, 0)) for k in keys) / 2**20

    def hit_limit(self) -> bool:
        """True once the group's usage reached the limit (the kernel then had to reclaim or kill): its
        failure count or its peak, which some kernels' cgroup v1 never count, or an OOM kill."""
        if self.version == 1:
            failed = self._read("memory.failcnt").strip() not in ("", "0")
        else:
            counts = dict(line.split() for line in self._read("memory.events").splitlines() if len(line.split()) == 2)
            failed = int(counts.get("max", 0)) > 0
        return failed or self.oom_killed() or self.peak_mb() * 2**20 >= self.limit_bytes - 2**20

    def describe(self) -> str:
        return f"{self.limit_bytes // 2**20} MiB (cgroup v{self.version})"

    def remove(self) -> None:
        """Delete the group once its processes have ended (a leftover empty group is harmless)."""
        try:
            self.path.rmdir()
        except OSError:
            pass
