"""`.ci/run`'s browser install step (.ci/browser.sh), run with a stub apt-get and id on PATH and fake
chromium paths: both packages are installed whenever either binary is missing, nothing when both are there."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STEP = ROOT / ".ci" / "browser.sh"


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(("present", "installed"), [
    ((), ["update -qq", "install -y -qq chromium chromium-driver"]),
    (("chromium",), ["update -qq", "install -y -qq chromium chromium-driver"]),
    (("chromedriver",), ["update -qq", "install -y -qq chromium chromium-driver"]),
    (("chromium", "chromedriver"), []),
])
def test_the_install_step_installs_both_when_either_is_missing(tmp_path, present, installed):
    stubs, usr = tmp_path / "stubs", tmp_path / "usr"
    stubs.mkdir()
    usr.mkdir()
    calls = tmp_path / "apt-calls"
    _executable(stubs / "apt-get", f'#!/bin/sh\necho "$*" >> {calls}\n')
    _executable(stubs / "id", "#!/bin/sh\necho 0\n")  # as root, whoever runs the test
    for name in present:
        _executable(usr / name, "#!/bin/sh\n")
    result = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{STEP}"; install_browser "$1" "$2"', "step",
         str(usr / "chromium"), str(usr / "chromedriver")],
        capture_output=True, text=True, timeout=30, env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"})
    assert result.returncode == 0, result.stderr
    assert (calls.read_text().splitlines() if calls.exists() else []) == installed


def test_not_root_installs_nothing_and_does_not_fail(tmp_path):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    calls = tmp_path / "apt-calls"
    _executable(stubs / "apt-get", f'#!/bin/sh\necho "$*" >> {calls}\n')
    _executable(stubs / "id", "#!/bin/sh\necho 1000\n")
    result = subprocess.run(
        ["bash", "-c", f'set -euo pipefail; source "{STEP}"; install_browser /nowhere/chromium /nowhere/driver'],
        capture_output=True, text=True, timeout=30, env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"})
    assert result.returncode == 0 and not calls.exists(), result.stderr


def test_ci_run_uses_the_step():
    run = (ROOT / ".ci" / "run").read_text()
    assert "source .ci/browser.sh\ninstall_browser\n" in run
    assert "chromium-driver" not in run  # the decision lives in one place
