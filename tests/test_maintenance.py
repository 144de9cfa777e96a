"""Scheduled maintenance: the repository's CI workflow files pass their linters (the GitHub Actions
schema, and zizmor's security audit) and do what the README promises; the latest-dependencies
run's comparison and report are right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import latest_deps  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def test_workflow_files_pass_the_github_actions_schema():
    proc = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", *WORKFLOWS],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflow_files_pass_zizmors_audit():
    proc = subprocess.run([BIN / "zizmor", "--offline", "--no-progress", str(ROOT / ".github" / "workflows")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _steps(workflow: dict):
    return [s for job in workflow["jobs"].values() for s in job["steps"]]


def test_push_runs_the_readme_test_command_and_the_week_runs_maintenance():
    ci = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    assert {"push", "pull_request"} <= set(ci[True])  # YAML 1.1 reads the key `on` as True
    assert any(s.get("run") == "bash .ci/run" for s in _steps(ci))
    assert "scripts/run-tests.sh" in (ROOT / ".ci/run").read_text()
    weekly = yaml.safe_load((ROOT / ".github/workflows/weekly.yml").read_text())
    assert "schedule" in weekly[True]
    runs = " ".join(s.get("run", "") for s in _steps(weekly))
    assert "bash scripts/latest-deps.sh" in runs and "python -m catalogue check-links --update" in runs
    assert "gh issue create" in runs  # broken tests become an issue
    assert any("create-pull-request" in s.get("uses", "") for s in _steps(weekly))  # new link dates, a pull request


def test_pins_are_compared_by_normalised_name():
    pinned = latest_deps.parse_pins("# header\ntorch==2.13.0\nScikit_Learn==1.9.1\nold-pkg==1.0\nsame==2\n")
    latest = latest_deps.parse_pins("torch==2.14.1+cpu\nscikit-learn==1.10.0\nsame==2\nnew.pkg==0.3\n-e git+x#egg=y\n")
    changes = latest_deps.compare_pins(pinned, latest)
    assert changes == {"moved": [("scikit-learn", "1.9.1", "1.10.0"), ("torch", "2.13.0", "2.14.1")],
                       "added": [("new-pkg", "0.3")], "removed": [("old-pkg", "1.0")]}


def test_failed_tests_are_read_from_the_junit_report(tmp_path):
    (tmp_path / "junit.xml").write_text(
        '<testsuites><testsuite><testcase classname="tests.test_a" name="test_ok"/>'
        '<testcase classname="tests.test_a" name="test_bad"><failure message="AssertionError: 1 != 2">trace</failure></testcase>'
        '<testcase classname="tests.test_b" name="test_err"><error message="ImportError: no module x"/></testcase>'
        '<testcase classname="tests.test_b" name="test_skip"><skipped/></testcase></testsuite></testsuites>')
    assert latest_deps.failed_tests(tmp_path / "junit.xml") == [
        ("tests.test_a::test_bad", "AssertionError: 1 != 2"), ("tests.test_b::test_err", "ImportError: no module x")]
    report = latest_deps.report_markdown({"moved": [("numpy", "2.4.6", "2.5.0")], "added": [], "removed": []},
                                         latest_deps.failed_tests(tmp_path / "junit.xml"), 1)
    assert "| numpy | 2.4.6 | 2.5.0 |" in report and "2 tests broke" in report and "`tests.test_a::test_bad`" in report
    assert "Every test passed" in latest_deps.report_markdown({"moved": [], "added": [], "removed": []}, [], 0)
    assert "did not produce a report" in latest_deps.report_markdown({"moved": [], "added": [], "removed": []}, None, 4)


def test_the_school_feedback_form_is_a_valid_issue_form():
    form = ROOT / ".github" / "ISSUE_TEMPLATE" / "school-feedback.yml"
    proc = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.github-issue-forms", form],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "school-feedback.yml" in (ROOT / "book" / "instructors.md").read_text()
