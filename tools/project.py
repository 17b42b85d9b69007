"""Project facts derived from one place: the repository URL in ``pyproject.toml``.

    python tools/project.py bootstrap   # rewrite the first cell of every notebooks/*.py
    python tools/project.py readme      # rewrite the badge tables in README.md and README.zh.md
    python tools/project.py glob        # the notebooks' file-name pattern, for the Makefile
    python tools/project.py minimum-pins  # name==X for each declared name>=X (make test-min)

The tests import this module to check that the notebooks' first cells and the READMEs' badges
still agree with ``pyproject.toml``. The Chinese notebooks, ``notebooks/zh/NN_topic``, have the
same names in their own folder; ``tools/zh.py`` builds and checks them.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
BADGES_START, BADGES_END = "<!-- badges:start -->", "<!-- badges:end -->"
# The one pattern of a notebook's name, NN_topic: every tool, test, benchmark and the Makefile
# (`python tools/project.py glob`) take their list of notebooks from here.
NOTEBOOK_GLOB = "[0-9][0-9]_*"
# Each README with a badge table, the notebooks it lists and the table's header row. The English
# README lists notebooks/ only (not notebooks/zh/: the glob does not descend).
READMES = {
    "README.md": ("notebooks", "| notebook | open in Colab | open in Binder |"),
    "README.zh.md": ("notebooks/zh", "| 笔记本 | 在 Colab 中打开 | 在 Binder 中打开 |"),
}


def pyproject():
    """pyproject.toml, parsed (Python 3.11's ``tomllib``)."""
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def repo_url():
    """``[project.urls] Repository`` from pyproject.toml, e.g. https://github.com/owner/name."""
    url = pyproject().get("project", {}).get("urls", {}).get("Repository")
    if not url:
        raise SystemExit("pyproject.toml has no [project.urls] Repository entry")
    return url.rstrip("/")


def github_slug():
    return repo_url().split("github.com/", 1)[1]


def distribution_name():
    """``[project] name`` from pyproject.toml: what the set-up cell checks ``helpers`` against."""
    name = pyproject().get("project", {}).get("name")
    if not name:
        raise SystemExit("pyproject.toml has no [project] name")
    return name


def minimum_pins():
    """``name==X`` for every ``name>=X`` that pyproject.toml declares (runtime and dev): the
    environment of ``make test-min``, where each dependency is at its declared lower bound."""
    project = pyproject()["project"]
    pins = []
    extras = project["optional-dependencies"]
    for req in project["dependencies"] + extras["lab"] + extras["test"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][^,;]*)(,.*)?", req.replace(" ", ""))
        if not match:
            raise SystemExit(f"pyproject.toml: {req!r} has no >= lower bound to test")
        pins.append(f"{match.group(1)}=={match.group(2)}")
    return pins


def helpers_version():
    """``helpers.__version__``, read from helpers/__init__.py without importing it."""
    text = (ROOT / "helpers" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, re.M)
    if not match:
        raise SystemExit("helpers/__init__.py has no __version__ = \"X.Y.Z\" line")
    return match.group(1)


def release_tag(version=None):
    """The git tag of a release: ``v`` and the version, e.g. v0.3.0."""
    return f"v{version or helpers_version()}"


def bootstrap_source():
    """The first code cell of every notebook: installs ``helpers`` where it is missing (Colab),
    or where the ``helpers`` that imports is some other module (a helpers.py beside the notebook).

    It installs the release the notebook was executed with (the tag of ``helpers.__version__``),
    so a notebook from an older commit gets the helpers it was written for, not today's main. If
    that tag is not published yet (a notebook newer than the last release), it says so and
    installs main instead. Each pip call has a deadline.
    """
    return f'''# Set-up for Colab or any kernel without this project: install its `helpers` package, the
# release these outputs were made with. Locally (make lab) it is installed already: no-op.
import importlib, importlib.metadata, importlib.util, subprocess, sys
PROJECT, VERSION = "{distribution_name()}", "{helpers_version()}"
REPOSITORY = "git+{repo_url()}.git"
try:
    import helpers
except ImportError:
    helpers = None
if getattr(helpers, "PROJECT", None) != PROJECT:  # missing, or another module called helpers
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    tag = f"{{REPOSITORY}}@v{{VERSION}}"  # the release's tag: tools/project.py release_tag()
    if subprocess.run(pip + [tag], capture_output=True, timeout=900).returncode:
        print(f"release v{{VERSION}} is not published yet: installing the newest helpers instead")
        subprocess.run(pip + [REPOSITORY], check=True, timeout=900)
    importlib.invalidate_caches()
    if "google.colab" in sys.modules:
        from google.colab import output
        output.enable_custom_widget_manager()
    sys.modules.pop("helpers", None)
    import helpers
    if getattr(helpers, "PROJECT", None) != PROJECT:  # a local helpers still comes first
        print(f"{{helpers.__file__}} hides this project's helpers: using the installed one")
        init = importlib.metadata.distribution(PROJECT).locate_file("helpers/__init__.py")
        spec = importlib.util.spec_from_file_location("helpers", init)
        helpers = sys.modules["helpers"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(helpers)
if helpers.__version__ != VERSION:
    print(f"These outputs were made with helpers {{VERSION}}; {{helpers.__version__}} is installed.")'''


def notebook_paths(suffix=".ipynb", folder=NOTEBOOKS):
    """The English notebooks (or those of ``folder``, e.g. ``NOTEBOOKS / "zh"``), sorted."""
    return sorted(Path(folder).glob(f"{NOTEBOOK_GLOB}{suffix}"))


def colab_url(nb_name, folder="notebooks"):
    return f"https://colab.research.google.com/github/{github_slug()}/blob/main/{folder}/{nb_name}"


def binder_url(nb_name, folder="notebooks"):
    return (f"https://mybinder.org/v2/gh/{github_slug()}/HEAD"
            f"?labpath={quote(folder + '/' + nb_name, safe='')}")


def notebook_title(path):
    """The first Markdown heading of a notebook's .py pair."""
    for line in path.with_suffix(".py").read_text(encoding="utf-8").splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    return path.stem


def badge_table(readme="README.md"):
    folder, header = READMES[readme]
    rows = [header, "|---|---|---|"]
    for path in notebook_paths(folder=ROOT / folder):
        name = path.name
        rows.append(
            f"| [{notebook_title(path)}]({folder}/{name}) "
            f"| [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(name, folder)}) "
            f"| [![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(name, folder)}) |")
    return "\n".join([BADGES_START, *rows, BADGES_END])


def readme_with_badges(text, readme="README.md"):
    """``text`` (the contents of ``readme``, a key of READMES) with its badge table rebuilt."""
    pattern = re.compile(re.escape(BADGES_START) + ".*?" + re.escape(BADGES_END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {BADGES_START} ... {BADGES_END} block")
    return pattern.sub(lambda _: badge_table(readme), text)


def write_bootstrap():
    """Replace the first code cell of each percent-format notebook with ``bootstrap_source()``:
    the English ones and their Chinese twins, whose code cells are the English ones."""
    cell = re.compile(r"(^# %%\n)(.*?)(?=^# %%)", re.DOTALL | re.MULTILINE)
    for py in notebook_paths(".py") + notebook_paths(".py", NOTEBOOKS / "zh"):
        text = py.read_text(encoding="utf-8")
        new = cell.sub(lambda m: m.group(1) + bootstrap_source() + "\n\n", text, count=1)
        if new != text:
            py.write_text(new, encoding="utf-8")
            print(f"updated {py.relative_to(ROOT)}")


def main(argv):
    if argv == ["bootstrap"]:
        write_bootstrap()
    elif argv == ["readme"]:
        for name in READMES:
            readme = ROOT / name
            readme.write_text(readme_with_badges(readme.read_text(encoding="utf-8"), name),
                              encoding="utf-8")
    elif argv == ["url"]:
        print(repo_url())
    elif argv == ["glob"]:
        print(NOTEBOOK_GLOB)
    elif argv == ["minimum-pins"]:
        print(" ".join(minimum_pins()))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
