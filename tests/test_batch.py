"""Lesson 1.1 on a batch farm (hepml.batch): the Slurm cluster object is built and its job script
says what CC-IN2P3 needs; nothing is submitted."""

from __future__ import annotations

from hepml.batch import slurm_cluster


def test_the_slurm_job_script_for_cc_in2p3(tmp_path):
    cluster = slurm_cluster(memory="2GB", walltime="00:30:00", log_directory=tmp_path)
    try:
        script = cluster.job_script()
        assert len(cluster.workers) == 0  # nothing submitted
    finally:
        cluster.close()
    lines = script.splitlines()
    for directive in ("#SBATCH -p htc", "#SBATCH -L sps", "#SBATCH --mem=2G", "#SBATCH -t 00:30:00",
                      "#SBATCH --cpus-per-task=1", f"#SBATCH -o {tmp_path}/dask-worker-%J.out"):
        assert directive in lines, (directive, script)
    worker = next(line for line in lines if "distributed.cli.dask_worker" in line)
    assert "--nthreads 1" in worker and "tcp://" in worker


def test_another_site_changes_only_the_directives(tmp_path):
    cluster = slurm_cluster(site={"queue": "short", "account": "hep"}, log_directory=tmp_path)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert "#SBATCH -p short" in script and "#SBATCH -A hep" in script and "-L sps" not in script
