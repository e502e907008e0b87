"""Imports point one way: core <- callbacks <- data, distribute, plot <- runner <- tuning.

Every module under kerasext/ is parsed (module- and function-level imports alike); none may
import a kerasext package of a higher rank, nor another package's `_private` module (only
`kerasext._validation` is shared). And `import kerasext` changes nothing in the process.
"""

import ast
import os
import subprocess
import sys

import pytest
from conftest import ROOT

PACKAGE = os.path.join(ROOT, "kerasext")
RANKS = {
    "_validation": 0,
    "layers": 1, "losses": 1, "schedules": 1, "initializers": 1,
    "models": 2,
    "callbacks": 3,
    "data": 4, "distribute": 4, "plot": 4,
    "runner": 5,
    "tuning": 6,
}
ROOT_RANK = RANKS["callbacks"]  # kerasext/__init__.py: `kerasext.find_lr`, imported lazily
BACKEND_NEUTRAL = RANKS["callbacks"]  # up to here: no TensorFlow (they run under JAX)
SHARED_PRIVATE = {"kerasext._validation"}


def module_names():
    """`{dotted name: path}` of every module under kerasext/."""
    names = {}
    for folder, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
                names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


MODULES = module_names()


def imports_of(name, path, at_import_only=False):
    """`(line, imported module)` for every import in the file, at any depth (or, with
    `at_import_only`, only those run when the module is imported: outside functions)."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    tree = ast.parse(open(path).read(), path)
    if at_import_only:
        inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f)}
    found = []
    for node in ast.walk(tree):
        if at_import_only and id(node) in inside:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if full in MODULES else base))
    return found


def rank(module):
    parts = module.split(".")
    if parts == ["kerasext"]:
        return ROOT_RANK
    return RANKS[parts[1]]


def test_every_package_has_a_rank():
    packages = {name.split(".")[1] for name in MODULES if name != "kerasext"}
    assert packages <= set(RANKS), f"give these a rank here and in ARCHITECTURE.md: {packages - set(RANKS)}"


def layering_problems(modules):
    problems = []
    for name, path in sorted(modules.items()):
        where = os.path.relpath(path, ROOT)
        for line, imported in imports_of(name, path):
            if imported.split(".")[0] != "kerasext" or imported == "kerasext":
                continue
            if rank(imported) > rank(name):
                problems.append(f"{where}:{line} imports {imported} (rank {rank(imported)} > {rank(name)})")
            own = name.split(".")[:2]
            private = any(p.startswith("_") for p in imported.split(".")[1:])
            if private and imported not in SHARED_PRIVATE and imported.split(".")[:2] != own:
                problems.append(f"{where}:{line} imports another package's private {imported}")
    return problems


def test_no_module_imports_upward_or_another_packages_private_module():
    problems = layering_problems(MODULES)
    assert not problems, "\n".join(problems)


def test_backend_neutral_packages_do_not_import_tensorflow():
    """The core imports TensorFlow only inside functions run on the TensorFlow backend (XLA
    fusion); kerasext.callbacks never does."""
    problems = [
        f"{os.path.relpath(path, ROOT)}:{line} imports {imported}"
        for name, path in sorted(MODULES.items()) if name != "kerasext" and rank(name) <= BACKEND_NEUTRAL
        for line, imported in imports_of(name, path, at_import_only=rank(name) < RANKS["callbacks"])
        if imported.split(".")[0] == "tensorflow"
    ]
    assert not problems, "\n".join(problems)


def test_the_walk_sees_function_level_relative_upward_and_private_imports(tmp_path, monkeypatch):
    source = tmp_path / "probe.py"
    source.write_text("import keras\n\ndef f():\n    from kerasext.runner import run\n    from . import cutout\n"
                      "    from kerasext.data import _private\n    from kerasext import _validation\n")
    monkeypatch.setitem(MODULES, "kerasext.layers.probe", str(source))
    monkeypatch.setitem(MODULES, "kerasext.data._private", str(source))
    assert imports_of("kerasext.layers.probe", str(source)) == [
        (1, "keras"), (4, "kerasext.runner.run"), (5, "kerasext.layers.cutout"),
        (6, "kerasext.data._private"), (7, "kerasext._validation")]
    assert imports_of("kerasext.layers.probe", str(source), at_import_only=True) == [(1, "keras")]
    found = [p.split(" ", 1)[1] for p in layering_problems({"kerasext.layers.probe": str(source)})]
    assert found == ["imports kerasext.runner.run (rank 5 > 1)", "imports kerasext.data._private (rank 4 > 1)",
                     "imports another package's private kerasext.data._private"]


PROBE = """
import os, sys
calls = []
for name in ("dup", "dup2"):
    real = getattr(os, name)
    setattr(os, name, lambda *a, _real=real, _name=name: (calls.append(_name), _real(*a))[1])
environ, before = dict(os.environ), os.fstat(2)
import kerasext
after = os.fstat(2)
heavy = sorted(m for m in ("tensorflow", "keras", "jax", "matplotlib", "numpy") if m in sys.modules)
assert not heavy, f"import kerasext imported {heavy}"
assert dict(os.environ) == environ, "import kerasext changed os.environ"
assert not calls, f"import kerasext called os.{calls}"
assert (before.st_dev, before.st_ino) == (after.st_dev, after.st_ino), "fd 2 was replaced"
print("ok")
"""


def test_import_kerasext_has_no_side_effects():
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout == "ok\n" and result.stderr == ""


@pytest.mark.parametrize("module", ["kerasext.runner", "kerasext.tuning"])
def test_runner_and_tuning_start_tensorflow_quietly(module):
    """The command line's entry: importing it starts TensorFlow without its C++ start-up lines."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    code = f"import {module}, sys; assert 'tensorflow' in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=300)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]
