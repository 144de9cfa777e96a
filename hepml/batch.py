"""Lesson 1.1's Dask analysis on a batch farm: a Dask cluster whose workers are Slurm jobs
(dask-jobqueue), configured for the CC-IN2P3 computing centre. The lesson's ``analyse`` function
runs unchanged; only the cluster object differs from the lesson's ``LocalCluster``.

    from distributed import Client
    from hepml.batch import slurm_cluster

    cluster = slurm_cluster()          # submits nothing yet
    cluster.scale(jobs=50)             # 50 batch jobs, one Dask worker each
    client = Client(cluster)
    client.run(vector.register_awkward)
    ...                                # the lesson's Dask cell, unchanged
"""

from __future__ import annotations

from pathlib import Path

# CC-IN2P3's Slurm: the "htc" partition for single-core jobs; a job that reads /sps declares the
# "sps" licence (-L sps), so that the scheduler spreads the load on the storage.
CC_IN2P3 = {"queue": "htc", "job_extra_directives": ["-L sps"]}


def slurm_cluster(cores: int = 1, memory: str = "2GB", walltime: str = "01:00:00", log_directory: str | Path | None = None,
                  site: dict | None = None, **kwargs):
    """A dask-jobqueue SLURMCluster with one single-threaded worker per job (the lesson's workers use
    one thread each), the site's partition and directives (CC-IN2P3's by default), logs in
    ``log_directory`` (default ``~/dask-logs``) and no dashboard. Nothing is submitted until
    ``cluster.scale(jobs=N)``; ``cluster.job_script()`` shows the batch script."""
    from dask_jobqueue import SLURMCluster

    options = dict(CC_IN2P3 if site is None else site)
    options.update(kwargs)
    return SLURMCluster(cores=cores, processes=cores, memory=memory, walltime=walltime,
                        log_directory=str(log_directory or Path.home() / "dask-logs"),
                        scheduler_options={"dashboard_address": None}, **options)
