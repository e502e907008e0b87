"""Issue 15 items 10 and 11, the sweep's side: a dead chief ends its workers, a sweep whose every
trial failed exits 1, a damaged oracle.json or trial.json is one line naming it."""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, load_recipe

sweep = load_recipe("sweep")
SPACE = {"learning-rate": {"double": [1e-3, 1e-2], "scale": "log"}}
DISTRIBUTED = os.path.join(ROOT, "kerasext", "tuning", "distributed.py")


@pytest.fixture
def space(run_in):
    path = run_in / "space.json"
    path.write_text(json.dumps(SPACE))
    return str(path)


def test_a_sweep_whose_every_trial_failed_exits_1(space, capsys):
    # accepted by train.py's flag checks, refused when it builds the model (8x8 grayscale digits)
    with pytest.raises(SystemExit) as exit_:
        sweep.cli(["--space", space, "--model-dir", "out", "--max-trials", "2", "--epochs", "1",
                   "--model", "MobileNetV3Small"])
    assert exit_.value.code == 1  # was 0: two failures stay under Keras Tuner's limit of 3
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "every trial failed (2); the last: " in line and "needs RGB images of at least 32x32" in line
    assert os.path.exists("out/trials.csv")  # the results are written all the same


@pytest.mark.parametrize("name, content", [
    ("oracle.json", '{"ongoing_trials": {'), ("trial_0/trial.json", "[]"), ("trial_0/trial.json", ""),
])
def test_a_damaged_oracle_or_trial_file_is_one_line_naming_it(space, capsys, name, content):
    sweep.cli(["--space", space, "--model-dir", "out", "--max-trials", "1", "--epochs", "1", "--model", "mlp"])
    with open(os.path.join("out", name), "w") as file:
        file.write(content)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        sweep.cli(["--space", space, "--model-dir", "out", "--max-trials", "2", "--epochs", "1", "--model", "mlp"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and not any("Traceback" in line for line in lines), lines
    assert lines[:-1] == [f"kerasext: resuming the sweep in {os.path.abspath('out')}"]
    assert f"{os.path.abspath(os.path.join('out', name))} is damaged" in lines[-1]
    assert "start the sweep over with --overwrite" in lines[-1]


def test_a_worker_exits_when_its_chief_is_killed(tmp_path):
    # A "chief" starts a "worker" that watches it (as `Workers` and `RecipeTrials.search` do),
    # then the chief is killed: the worker must not live on until its RPC timeout.
    worker = (
        "import importlib.util, sys, time; "
        f"spec = importlib.util.spec_from_file_location('d', {DISTRIBUTED!r}); "
        "d = importlib.util.module_from_spec(spec); spec.loader.exec_module(d); "
        "import os; d.exit_with_chief(os.getppid(), poll=0.1); print('watching', flush=True); time.sleep(120)"
    )
    chief = (
        "import subprocess, sys, time; "
        f"p = subprocess.Popen([sys.executable, '-c', {worker!r}]); print(p.pid, flush=True); time.sleep(120)"
    )
    process = subprocess.Popen([sys.executable, "-c", chief], stdout=subprocess.PIPE, text=True)
    worker_pid = int(process.stdout.readline())
    time.sleep(1.0)  # the worker is watching
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.time() + 10
    while time.time() < deadline and _alive(worker_pid):
        time.sleep(0.1)
    alive = _alive(worker_pid)
    if alive:
        os.kill(worker_pid, signal.SIGKILL)
    assert not alive  # was: it slept on (a real worker trains on, up to --rpc-timeout)


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().split()[2] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False
