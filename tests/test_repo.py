"""Repository checks: notebook pairs in sync, one bootstrap cell, dependency lists that agree."""

import json
import re
import sys
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import project  # noqa: E402

NOTEBOOKS = project.notebook_paths(".ipynb")


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"


def _cells(path):
    nb = jupytext.read(path)
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.name)
def test_pair_in_sync(ipynb):
    py = ipynb.with_suffix(".py")
    assert py.exists(), f"{ipynb.name} has no .py pair: run `make sync`"
    assert _cells(py) == _cells(ipynb), f"{ipynb.name} and {py.name} differ: run `make sync`"


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.name)
def test_outputs_are_committed_and_clean(ipynb):
    nb = json.loads(ipynb.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    unrun = [i for i, c in enumerate(code) if c["execution_count"] is None]
    assert not unrun, f"{ipynb.name}: code cells {unrun} have no stored output: run `make execute`"
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{ipynb.name}: not executed top to bottom"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"{ipynb.name} holds error outputs"
    assert "widgets" not in nb["metadata"], f"{ipynb.name} stores widget state"
    assert all("execution" not in c["metadata"] for c in code), f"{ipynb.name} stores timings"


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_bootstrap(ipynb):
    nb = jupytext.read(ipynb)
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert first.source.strip() == project.bootstrap_source().strip(), (
        f"{ipynb.name}: first code cell is not the bootstrap: run `python tools/project.py bootstrap`")
    assert project.repo_url() in first.source


def test_the_set_up_cell_installs_the_helpers_release_it_was_made_with():
    """Not whatever main is today: the tag of this checkout's ``helpers.__version__``."""
    import helpers

    source = project.bootstrap_source()
    assert f'PROJECT, VERSION = "{project.distribution_name()}", "{helpers.__version__}"' in source
    assert 'f"{REPOSITORY}@v{VERSION}"' in source and project.release_tag() == f"v{helpers.__version__}"
    assert "timeout=" in source.split("import helpers", 1)[1]  # every pip call has a deadline


@pytest.mark.parametrize("ipynb", NOTEBOOKS, ids=lambda p: p.name)
def test_ignored_outputs_are_widgets_only(ipynb):
    """NBVAL_IGNORE_OUTPUT is reserved for cells whose output is a live widget."""
    nb = json.loads(ipynb.read_text())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and "NBVAL_IGNORE_OUTPUT" in src:
            mimes = {k for o in cell["outputs"] for k in o.get("data", {})}
            assert "application/vnd.jupyter.widget-view+json" in mimes, (
                f"{ipynb.name}: a cell marked NBVAL_IGNORE_OUTPUT shows no widget:\n{src[:200]}")


@pytest.mark.parametrize("name", sorted(project.READMES))
def test_readme_badges_match_pyproject(name):
    """README.md lists notebooks/, README.zh.md notebooks/zh/: each badge table is current."""
    readme = (ROOT / name).read_text(encoding="utf-8")
    assert project.readme_with_badges(readme, name) == readme, (
        f"{name}: badges are stale: run `make readme`")
    folder = project.READMES[name][0]
    listed = project.notebook_paths(folder=ROOT / folder)
    assert listed or folder != "notebooks", "README.md lists no notebook"
    for ipynb in listed:
        assert project.colab_url(ipynb.name, folder) in readme
        assert project.binder_url(ipynb.name, folder) in readme
    if folder != "notebooks":  # the zh badges open the zh notebook, never the English one
        assert f"labpath={folder.replace('/', '%2F')}%2F" in project.binder_url("x.ipynb", folder)


def _split_requirement(text):
    """'numpy>=1.22' -> ('numpy', '>=1.22'); names lower-cased, spaces dropped."""
    text = text.replace(" ", "")
    name = re.split(r"[<>=!~;\[]", text)[0].lower()
    return name, text[len(name):]


def _pyproject_runtime_deps():
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, flags=re.MULTILINE | re.DOTALL).group(1)
    return dict(_split_requirement(d.strip().strip('",')) for d in block.splitlines()
                if d.strip().startswith('"'))


# conda-forge names of the PyPI packages where they differ
CONDA_NAMES = {"torch": "pytorch-cpu"}


def test_environment_yml_lists_the_runtime_dependencies():
    """Binder's environment gets the same packages, with the same version ranges."""
    env = (ROOT / "environment.yml").read_text()
    conda = dict(_split_requirement(line.strip()[2:]) for line in env.splitlines()
                 if line.strip().startswith("- "))
    for name, spec in _pyproject_runtime_deps().items():
        conda_name = CONDA_NAMES.get(name, name)
        assert conda_name in conda, f"environment.yml lacks the runtime dependency {conda_name}"
        assert conda[conda_name] == spec, (
            f"{conda_name}: environment.yml asks for {conda[conda_name]!r}, pyproject.toml {spec!r}")
    assert "conda-forge" in env
    assert re.search(r"- python=3\.\d+\b", env), "environment.yml must pin the Python minor version"
    assert "jupytext" in conda, "Binder needs jupytext to open the .py pairs as notebooks"


def test_the_chinese_interface_is_installed_for_binder_and_make_lab():
    """JupyterLab's language pack: in the lab extra (make lab) and in Binder's environment."""
    assert re.search(r'^\s*"jupyterlab-language-pack-zh-cn>=', (ROOT / "pyproject.toml").read_text(),
                     flags=re.MULTILINE)
    assert re.search(r"^\s*- jupyterlab-language-pack-zh-cn>=", (ROOT / "environment.yml").read_text(),
                     flags=re.MULTILINE)


def test_make_lab_installs_the_learners_extra_and_make_test_adds_the_checks():
    extras = project.pyproject()["project"]["optional-dependencies"]

    def names(reqs):
        return {re.split(r"[<>=!\[;]", r.replace(" ", ""))[0].lower() for r in reqs}

    checks = {"pytest", "pytest-xdist", "nbval", "hypothesis", "playwright", "psutil", "jupytext"}
    assert "jupyterlab" in names(extras["lab"]) and not names(extras["lab"]) & checks
    assert checks <= names(extras["test"])
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^lab: \$\(LAB_STAMP\)$", make, re.M), "make lab should need only the lab extra"
    assert re.search(r"^test: \$\(STAMP\)$", make, re.M)
    lab_recipe = make.split("$(LAB_STAMP): pyproject.toml", 1)[1].split("\n\n", 1)[0]
    test_recipe = make.split("$(STAMP): $(LAB_STAMP)", 1)[1].split("\n\n", 1)[0]
    assert 'install -e ".[lab]"' in lab_recipe and 'install -e ".[lab,test]"' in test_recipe


def test_postbuild_installs_the_project():
    post = (ROOT / "postBuild").read_text()
    assert re.search(r"pip install .*(-e )?\.", post)
