"""The layout of ``helpers``: one idea per module, no import circle, no private reach-ins.

Read from the source (``ast``), so function-level imports count as much as top-level ones, and
checked by importing every module alone in a fresh interpreter.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from project import notebook_paths

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "helpers"
# A module is one idea, read in one sitting: 500 lines is about twenty minutes of reading. The
# limit is a smoke alarm set above the modules we think well shaped, not a target at today's
# maximum: a module that nears it is split by idea, never squeezed to fit.
MAX_LINES = 500

# helpers.<name> for every module and package under helpers/
MODULES = sorted(
    ".".join(("helpers",) + p.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py"))
# Modules that draw (and the slider machinery that shows their figures); the rest compute.
DRAWING = {"helpers.plots", "helpers.widgets"}

# The public contract (../shared/API.md): each name, importable from where it has always been.
API = {
    "helpers.sampling": ["normal_pdf", "normal_cdf", "normal_icdf", "inverse_cdf_sample",
                         "tabulated_icdf"],
    "helpers.evidence": ["log_mean_exp", "LinearGaussian", "naive_mc_log_evidence"],
    "helpers.elbo": ["gaussian_kl", "elbo_terms"],
    "helpers.vae": ["GaussianVAE", "negative_elbo", "importance_log_likelihood"],
    "helpers.data": ["load_digits"],
}


def _path(module):
    rel = Path(*module.split(".")[1:])
    if (PACKAGE / rel).is_dir():
        return PACKAGE / rel / "__init__.py"
    return PACKAGE / rel.with_suffix(".py")


def _is_drawing(module):
    return any(module == d or module.startswith(d + ".") for d in DRAWING)


def _imports(module):
    """Every (imported module, [names]) in ``module``'s source, resolved to absolute names."""
    path = _path(module)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            names = [a.name for a in node.names]
            out.append((target, names))
            # ``from . import x``: x may be a module of the package
            out += [(f"{target}.{n}", []) for n in names if f"{target}.{n}" in MODULES]
    return out


def _graph():
    graph = {}
    for module in MODULES:
        deps = set()
        for target, _ in _imports(module):
            parts = target.split(".")
            # importing helpers.a.b runs helpers.a first: count every enclosing package
            deps |= {".".join(parts[:i]) for i in range(2, len(parts) + 1)
                     if ".".join(parts[:i]) in MODULES}
        graph[module] = deps - {module}
    return graph


def test_every_module_is_found():
    assert {"helpers.gaussian", "helpers.plots.live", "helpers.vae"} <= set(MODULES)


def test_the_import_graph_has_no_circle():
    graph = _graph()
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for dep in sorted(graph[m]):
            if state.get(dep) == "open":
                circle = stack[stack.index(dep):] + [dep]
                pytest.fail("import circle: " + " -> ".join(circle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[m] = "done"

    for m in MODULES:
        if m not in state:
            visit(m)


def test_mathematics_does_not_import_figures():
    """A module that computes imports neither matplotlib nor helpers.plots (not even lazily)."""
    bad = {m: sorted({t for t, _ in _imports(m)
                      if t.split(".")[0] == "matplotlib" or t.startswith("helpers.plots")})
           for m in MODULES if not _is_drawing(m)}
    assert not {m: t for m, t in bad.items() if t}, bad


def test_no_module_reaches_into_another_modules_private_names():
    found = []
    for module in MODULES:
        for target, names in _imports(module):
            if target.startswith("helpers") and target != module:
                found += [f"{module}: from {target} import {n}" for n in names
                          if n.startswith("_") and not n.startswith("__")]
        # obj._name, where _name is no private function or attribute of this module: someone
        # else's (another helpers module's, or a library's such as matplotlib's Legend._loc)
        tree = ast.parse(_path(module).read_text())
        own = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        targets = [t for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign))
                   for t in (n.targets if isinstance(n, ast.Assign) else [n.target])]
        own |= {t.attr for t in targets + [e for t in targets if isinstance(t, ast.Tuple)
                                           for e in t.elts] if isinstance(t, ast.Attribute)}
        found += [f"{module}:{node.lineno}: .{node.attr}" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and node.attr.startswith("_")
                  and not node.attr.startswith("__") and node.attr not in own]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("module", MODULES)
def test_module_is_small_and_says_what_it_serves(module):
    path = _path(module)
    n_lines = len(path.read_text().splitlines())
    assert n_lines <= MAX_LINES, f"{module} has {n_lines} lines: split it by idea"
    doc = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert doc, f"{module} has no module docstring"
    if not module.split(".")[-1].startswith("_"):
        assert "notebook" in doc.lower(), f"{module}'s docstring names no notebook it serves"


def test_every_module_imports_alone_and_importing_helpers_is_cheap():
    """Each module in a fresh set of helpers modules, so none works only after another."""
    code = f"""
import importlib, sys
import helpers
heavy = [m for m in ("torch", "matplotlib") if m in sys.modules]
assert not heavy, f"import helpers loaded {{heavy}}"
for name in {MODULES!r}:
    for loaded in [m for m in sys.modules if m == "helpers" or m.startswith("helpers.")]:
        del sys.modules[loaded]
    importlib.import_module(name)
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-3000:]


@pytest.mark.parametrize("module", sorted(API))
def test_api_names_import_from_where_they_always_have(module):
    import importlib

    mod = importlib.import_module(module)
    missing = [n for n in API[module] if not hasattr(mod, n)]
    assert not missing, f"{module} lost {missing}"


def test_notebooks_import_no_private_name():
    found = []
    for py in notebook_paths(".py"):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("helpers"):
                private = [p for p in node.module.split(".") if p.startswith("_")]
                private += [a.name for a in node.names if a.name.startswith("_")]
                if private:
                    found.append(f"{py.name}:{node.lineno}: from {node.module} import "
                                 f"{', '.join(a.name for a in node.names)}")
            elif isinstance(node, ast.Import):
                found += [f"{py.name}:{node.lineno}: import {a.name}" for a in node.names
                          if a.name.startswith("helpers") and
                          any(p.startswith("_") for p in a.name.split("."))]
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------------------------------
# One vocabulary (issue 17): the same idea has the same name in every public function.
# ---------------------------------------------------------------------------------------------

TRAINING = {"helpers.naive_decoder": ("train_naive_decoder",), "helpers.vae": ("train_vae",),
            "helpers.denoiser": ("train_eps_model", "train_eps_fn"),
            "helpers.guidance": ("train_guided_eps_fn",),
            "helpers.vae_density": ("train_density_vae",),
            "helpers.flow_matching": ("train_velocity",)}
TRAINING_RESULTS = {"train_naive_decoder": "NaiveDecoderRun", "train_vae": "TrainResult",
                    "train_eps_model": "TrainedEpsModel", "train_eps_fn": "TrainedEpsFn",
                    "train_guided_eps_fn": "GuidedEpsFn",
                    "train_density_vae": "TrainedDensityVAE", "train_velocity": "TrainedVelocity"}
# Old spellings of the vocabulary's ideas; only deprecated aliases may still accept them.
RETIRED = {"n_steps", "num_steps", "show_progress", "verbose", "wall_time", "train_time",
           "random_state", "n_iter"}


def _public_callables():
    """(module name, name, object) for every name in a helpers module's ``__all__``."""
    import importlib

    out = []
    for module in MODULES:
        mod = importlib.import_module(module)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if callable(obj) and getattr(obj, "__module__", "") == module:
                out.append((module, name, obj))
    return out


def _signature(obj):
    import inspect

    return inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)


@pytest.mark.parametrize("module, name", [(m, n) for m in sorted(TRAINING) for n in TRAINING[m]])
def test_training_functions_speak_the_vocabulary(module, name):
    import importlib

    fn = getattr(importlib.import_module(module), name)
    params = _signature(fn).parameters
    missing = {"steps", "batch_size", "lr", "seed", "progress"} - set(params)
    assert not missing, f"{module}.{name} lacks {sorted(missing)}"
    assert params["progress"].default is True
    result = getattr(importlib.import_module(module), TRAINING_RESULTS[name])
    import dataclasses

    fields = {f.name for f in dataclasses.fields(result)}
    assert {"train_s", "history"} <= fields, f"{result.__name__} fields: {sorted(fields)}"


def test_samplers_take_steps_d_and_rng_as_keywords_in_one_order():
    import inspect

    from helpers.diffusion import ddim_sample, ddpm_sample

    for fn in (ddpm_sample, ddim_sample):
        params = list(inspect.signature(fn).parameters.values())
        assert [p.name for p in params[:3]] == ["eps_model", "schedule", "n"], fn.__name__
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params[:3]), fn.__name__
        keywords = [p.name for p in params[3:]]
        assert all(p.kind is p.KEYWORD_ONLY for p in params[3:]), fn.__name__
        assert keywords[:3] == ["steps", "d", "rng"], f"{fn.__name__}: {keywords}"
        assert inspect.signature(fn).parameters["rng"].default is None


def test_randomness_is_rng_with_one_default_and_seed_only_for_training():
    found = []
    for module, name, obj in _public_callables():
        params = _signature(obj).parameters
        if "rng" in params and params["rng"].default is not None:
            found.append(f"{module}.{name}: rng defaults to {params['rng'].default!r}, not None")
        if "seed" in params and name not in TRAINING.get(module, ()):
            found.append(f"{module}.{name} takes seed: only training functions do; use rng")
        retired = RETIRED & set(params)
        if retired:
            found.append(f"{module}.{name} takes {sorted(retired)}")
    assert not found, "\n".join(found)


def test_results_are_frozen_dataclasses_read_by_attribute_only():
    import dataclasses
    import importlib
    import inspect

    found = []
    for module in MODULES:
        mod = importlib.import_module(module)
        for name, cls in inspect.getmembers(mod, inspect.isclass):
            if cls.__module__ != module or not dataclasses.is_dataclass(cls):
                continue
            if not cls.__dataclass_params__.frozen:
                found.append(f"{module}.{name} is not frozen")
            if hasattr(cls, "__getitem__") or hasattr(cls, "keys"):
                found.append(f"{module}.{name} can be read like a dict")
            retired = RETIRED & {f.name for f in dataclasses.fields(cls)}
            if retired:
                found.append(f"{module}.{name} has fields {sorted(retired)}")
    assert not found, "\n".join(found)


# --- One type per result and options by keyword (../shared/API.md's conventions) -------------

# Positional arguments with a default that API.md itself writes so (the contract wins): the
# density's parameters, a split, an axis, and ``rng`` of the few functions API.md gives it
# positionally. Everything else with a default is an option, and options are keyword-only.
POSITIONAL_DEFAULTS = {
    "helpers.sampling.normal_pdf": {"mu", "sigma"},
    "helpers.sampling.normal_cdf": {"mu", "sigma"},
    "helpers.sampling.normal_icdf": {"mu", "sigma"},
    "helpers.sampling.inverse_cdf_sample": {"rng"},
    "helpers.evidence.log_mean_exp": {"axis"},
    "helpers.evidence.naive_mc_log_evidence": {"rng"},
    "helpers.elbo.elbo_terms": {"rng"},
    "helpers.data.load_digits": {"split"},
    "helpers.diffusion.diffusion_elbo": {"rng"},
    "helpers.vae.negative_elbo": {"n_samples"},
    "helpers.vae.train_vae": {"x_test"},   # data, as x_train (sklearn's fit(X, y))
    "helpers.linear_gaussian.LinearGaussian.sample": {"rng"},
    "helpers.mixture.GaussianMixture1D.sample": {"rng"},
    "helpers.noise_schedule.NoiseSchedule.q_sample": {"rng"},
    "helpers.noise_schedule.NoiseSchedule.linear": {"beta_1", "beta_T"},
    "helpers.noise_schedule.NoiseSchedule.cosine": {"s"},
    # Not API.md's, but each is the data, or mirrors the interface it stands in for:
    "helpers.nets.Adam.__init__": {"lr", "betas", "eps"},   # torch.optim.Adam's signature
    "helpers.nets.Adam.step": {"loss"},                     # (deprecated) torch.optim's closure
    "helpers.nets.torch_threads.__init__": {"n"},           # its one argument
    "helpers.progress.progress_bar": {"iterable"},          # tqdm's: the data
    "helpers.mixture.GaussianMixture1D.mode_shares": {"x"},  # the data
    "helpers.plots.figure.new_figure": {"nrows"},           # the grid, as plt.subplots
    "helpers.widgets.int_slider": {"step"},                 # a slider: min, max, step
    "helpers.plots.canvas.TextCacheRenderer.draw_text": {"ismath", "mtext"},  # matplotlib's
}
# Public functions that return a pair because API.md says so.
TUPLE_RESULTS = {
    "helpers.linear_gaussian.LinearGaussian.sample", "helpers.linear_gaussian.LinearGaussian.posterior",
    "helpers.vae.GaussianVAE.encode", "helpers.noise_schedule.NoiseSchedule.q_sample",
    "helpers.noise_schedule.NoiseSchedule.q_posterior",
    "helpers.noise_schedule.NoiseSchedule.q_sample_unchecked",   # the same, for checked inputs
    "helpers.noise_schedule.NoiseSchedule.q_posterior_unchecked",
    "helpers.nets.hidden_sizes",   # one value: the tuple of layer widths
    # (levels, alpha_bar, loss weights): a training loop's triple, unpacked where it is drawn
    "helpers.denoiser.EpsNet.draw_level", "helpers.denoiser.ContinuousEpsNet.draw_level",
}


def _public_functions():
    """(qualified name, function node, is a method) for every public def in helpers' source."""
    out = []
    for module in MODULES:
        if module.split(".")[-1].startswith("_"):
            continue  # private plumbing (_checks, _logsumexp, ...)
        tree = ast.parse(_path(module).read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                out.append((f"{module}.{node.name}", node, False))
            elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and (
                            not item.name.startswith("_") or item.name in ("__init__", "__call__")):
                        out.append((f"{module}.{node.name}.{item.name}", item, True))
    return out


def test_no_public_function_changes_its_result_with_a_return_flag():
    found = [f"{name}({a.arg}=...)" for name, node, _ in _public_functions()
             for a in node.args.args + node.args.kwonlyargs if a.arg.startswith("return_")]
    assert not found, "one result type whatever the options; make a second function:\n" + "\n".join(found)


def test_public_functions_return_a_dataclass_not_a_tuple():
    found = []
    for name, node, _ in _public_functions():
        if name in TUPLE_RESULTS or name.startswith("helpers.plots."):
            continue
        returns = [r for r in ast.walk(node) if isinstance(r, ast.Return)]
        # only this function's own returns, not those of functions defined inside it
        inner = {id(r) for f in ast.walk(node) if f is not node
                 and isinstance(f, (ast.FunctionDef, ast.Lambda)) for r in ast.walk(f)}
        if any(isinstance(r.value, ast.Tuple) for r in returns if id(r) not in inner):
            found.append(name)
    assert not found, "several values come back as a frozen dataclass:\n" + "\n".join(found)


def test_options_are_keyword_only():
    found = []
    for name, node, is_method in _public_functions():
        if name.endswith((".forward", ".draw_level")) or node.name == "__call__":
            continue  # torch's and the eps interfaces' own calling conventions
        args = node.args.args[1:] if is_method else node.args.args
        with_default = args[len(args) - len(node.args.defaults):] if node.args.defaults else []
        if name.startswith("helpers.plots.") and node.args.kwonlyargs:
            with_default = []  # a slider panel: sliders' values first, its data after *
        elif name.startswith("helpers.plots.") and with_default and with_default[0] is args[0]:
            with_default = with_default[1:]  # a figure whose first argument is a slider's value
        allowed = POSITIONAL_DEFAULTS.get(name, set())
        loose = [a.arg for a in with_default if a.arg not in allowed]
        if loose:
            found.append(f"{name}: {', '.join(loose)}")
    assert not found, "options (arguments with a default) must come after *:\n" + "\n".join(found)
