"""What breaks when the pins move: resolve requirements.in afresh into a throw-away environment, run
the test suite there, and report which packages moved and which tests broke.

Run through ``bash scripts/latest-deps.sh [pytest arguments]``. Steps:
1. a new virtual environment in ``_build/latest-deps/venv`` (the pinned ``.venv`` is not touched);
2. torch as ``requirements.in`` pins it (the CPU build where there is no GPU, as setup-env.sh does),
   then ``pip install -r requirements.in``: the newest releases its constraints allow, from the
   registries this machine reaches;
3. the packages that moved, appeared or disappeared against ``requirements.txt``;
4. the test suite in that environment (pytest, with a JUnit report), and the tests that failed;
5. ``_build/latest-deps/report.md`` with both lists (printed too). The exit status is 1 when a
   test failed, so a scheduled job can open an issue.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "_build" / "latest-deps"


def parse_pins(text: str) -> dict[str, str]:
    """{normalised name: version} of the ``name==version`` lines of a requirements or freeze text."""
    pins = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2).removesuffix("+cpu")
    return pins


def compare_pins(pinned: dict[str, str], latest: dict[str, str]) -> dict[str, list]:
    """Packages whose version moved, that are new, and that are gone."""
    return {
        "moved": sorted((name, pinned[name], latest[name]) for name in pinned.keys() & latest.keys()
                        if pinned[name] != latest[name]),
        "added": sorted((name, latest[name]) for name in latest.keys() - pinned.keys()),
        "removed": sorted((name, pinned[name]) for name in pinned.keys() - latest.keys()),
    }


def failed_tests(junit_xml: Path) -> list[tuple[str, str]]:
    """(test id, first line of the failure) for every failed or erroring test case of a JUnit report."""
    failed = []
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        for outcome in ("failure", "error"):
            node = case.find(outcome)
            if node is not None:
                message = (node.get("message") or node.text or outcome).strip().splitlines()
                failed.append((f"{case.get('classname')}::{case.get('name')}", message[0][:200] if message else outcome))
    return failed


def report_markdown(changes: dict[str, list], failures: list[tuple[str, str]] | None, pytest_status: int | None) -> str:
    lines = ["# Latest-dependencies run", "",
             f"{len(changes['moved'])} packages moved, {len(changes['added'])} new, {len(changes['removed'])} gone "
             "against requirements.txt.", ""]
    if changes["moved"]:
        lines += ["| package | pinned | latest |", "|---|---|---|"] + [f"| {n} | {a} | {b} |" for n, a, b in changes["moved"]] + [""]
    if changes["added"]:
        lines += ["New: " + ", ".join(f"{n} {v}" for n, v in changes["added"]), ""]
    if changes["removed"]:
        lines += ["Gone: " + ", ".join(f"{n} {v}" for n, v in changes["removed"]), ""]
    if failures is None:
        lines.append(f"The test suite did not produce a report (pytest exit status {pytest_status}).")
    elif failures:
        lines += [f"{len(failures)} tests broke:", ""] + [f"- `{t}`: {m}" for t, m in failures]
    else:
        lines.append("Every test passed with the latest releases.")
    return "\n".join(lines) + "\n"


def _run(cmd, **kwargs):
    print("latest-deps:", " ".join(map(str, cmd)), flush=True)
    return subprocess.run(cmd, cwd=ROOT, **kwargs)


def main(pytest_args: list[str]) -> int:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    venv = OUT / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    torch_pin = next(line.split()[0] for line in (ROOT / "requirements.in").read_text().splitlines()
                     if line.startswith("torch=="))
    has_gpu = shutil.which("nvidia-smi") is not None and subprocess.run(["nvidia-smi"], capture_output=True).returncode == 0
    if _run(pip + ["install", "--no-index", "--no-deps", torch_pin]).returncode != 0:  # a local CPU wheel, as on CI
        extra = [] if has_gpu else ["--index-url", "https://download.pytorch.org/whl/cpu"]
        _run(pip + ["install", torch_pin] + extra, check=True)
    _run(pip + ["install", "-r", "requirements.in"], check=True)
    _run(pip + ["install", "--no-deps", "-e", "."], check=True)
    freeze = _run([str(venv / "bin" / "python"), "-m", "pip", "freeze", "--exclude-editable"],
                  check=True, capture_output=True, text=True).stdout
    (OUT / "requirements-latest.txt").write_text(freeze)
    changes = compare_pins(parse_pins((ROOT / "requirements.txt").read_text()), parse_pins(freeze))
    junit = OUT / "junit.xml"
    env = {**__import__("os").environ, "HEPML_DATA_MODE": "sample"}
    status = _run([str(venv / "bin" / "python"), "-m", "pytest", f"--junitxml={junit}", *pytest_args], env=env).returncode
    failures = failed_tests(junit) if junit.exists() else None
    text = report_markdown(changes, failures, status)
    (OUT / "report.md").write_text(text)
    print(text)
    print(f"latest-deps: report in {(OUT / 'report.md').relative_to(ROOT)}")
    return 0 if failures == [] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
