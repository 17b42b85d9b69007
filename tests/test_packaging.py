"""What a regular install carries: the wheel that ``pip install git+...`` (Colab) builds.

The wheel is built from a copy of the files git tracks (what a clone holds), with the build
backend already installed here (``--no-build-isolation``: no download), and must contain every
module under ``helpers/``, at every depth, and notebook 07's weights file. ``make test-compat``
goes further and installs and runs every notebook the way Colab does
(``tests/compat_colab_install.py``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    tracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                             check=True, timeout=60).stdout.decode().split("\0")
    src = tmp_path_factory.mktemp("src")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():  # a tracked file deleted in the work tree is not copied
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                          "--no-index", "-q", "-w", str(out), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_holds_every_module_of_helpers_at_every_depth(wheel):
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "helpers").rglob("*.py")}
    assert "helpers/plots/live.py" in on_disk  # a sub-package: what the first wheels lacked
    with zipfile.ZipFile(wheel) as z:
        in_wheel = {n for n in z.namelist() if n.startswith("helpers/")}
    missing = sorted(on_disk - in_wheel)
    assert not missing, f"the wheel lacks {missing}: check [tool.setuptools.packages.find]"


def test_the_wheel_holds_notebook_07s_weights(wheel):
    from helpers.likelihood_model import WEIGHTS

    name = WEIGHTS.relative_to(ROOT).as_posix()
    assert name.startswith("helpers/weights/") and WEIGHTS.is_file()
    with zipfile.ZipFile(wheel) as z:
        assert name in z.namelist(), f"the wheel lacks {name}: check [tool.setuptools.package-data]"
        assert z.read(name) == WEIGHTS.read_bytes()


def test_the_wheel_metadata_is_the_projects(wheel):
    import helpers

    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert re.search(r"^Name: " + re.escape(helpers.PROJECT) + "$", meta, re.MULTILINE)
    assert re.search(r"^Version: " + re.escape(helpers.__version__) + "$", meta, re.MULTILINE)
    assert "License: MIT" in meta or "License-Expression: MIT" in meta
    summary = re.search(r"^Summary: (.*)$", meta, re.MULTILINE).group(1)
    for topic in ("inverse-CDF", "evidence", "ELBO", "VAE", "diffusion",
                  "probability-flow"):  # notebooks 01-06
        assert topic in summary, f"the description leaves out {topic}: {summary}"


def test_the_license_file_is_the_license_pyproject_names():
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^license = \{ text = "MIT" \}', pyproject, re.MULTILINE)
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
