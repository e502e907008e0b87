"""Issue 15 items 10 and 11, the sweep's side: a dead chief ends its workers, a trial the
infrastructure failed runs again and completes, a sweep whose every trial failed exits 1, a
damaged oracle.json or trial.json is one line naming it."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, load_recipe

sweep = load_recipe("sweep")
SPACE = {"learning-rate": {"double": [1e-3, 1e-2], "scale": "log"}}
DISTRIBUTED = os.path.join(ROOT, "kerasext", "tuning", "distributed.py")
SWEEP = os.path.join(ROOT, "recipes", "sweep.py")


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


@pytest.fixture
def start(tmp_path):
    """Starts `sweep.py` in tmp_path (a 2-trial sweep of 2-epoch MLPs); kills what is left at the end."""
    (tmp_path / "space.json").write_text(json.dumps(SPACE))
    started = []

    def launch(*extra):
        argv = [sys.executable, SWEEP, "--space", "space.json", "--model", "mlp", "--model-dir", "sweep",
                "--max-trials", "2", "--epochs", "2", "--timeout", "400", *extra]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
        log = len(started)
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                                   stdout=open(tmp_path / f"out{log}.log", "w"),
                                   stderr=open(tmp_path / f"err{log}.log", "w"), start_new_session=True)
        started.append(process)
        return process, tmp_path / f"err{log}.log"

    yield launch
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers
            process.wait()


def wait_for(path, deadline, err):
    while not path.exists():
        assert time.time() < deadline, err.read_text()[-3000:]
        time.sleep(0.05)


def finished_rows(process, err):
    assert process.wait(timeout=420) == 0, err.read_text()[-3000:]
    with open(err.parent / "sweep" / "trials.csv") as file:
        return list(csv.DictReader(file))


def test_a_killed_workers_trial_runs_again_and_completes(start):
    process, err = start("--workers", "1")
    deadline = time.time() + 300
    wait_for(err.parent / "sweep" / "trial_0" / "run" / "config.json", deadline, err)  # trial 0 is training
    (pid,) = re.findall(r"started worker tuner0 \(pid (\d+)\)", err.read_text())
    os.kill(int(pid), signal.SIGKILL)
    rows = finished_rows(process, err)
    text = err.read_text()
    assert "trial 0: infrastructure: worker tuner0 was killed by SIGKILL; run 1 of 3, it runs again" in text
    assert "worker tuner0 exited with code -9; restarting it (1 of 2)" in text
    assert [(r["trial"], r["status"], r["retries"]) for r in rows] == [("0", "COMPLETED", "1"), ("1", "COMPLETED", "")]
    metrics = json.loads((err.parent / "sweep" / "trial_0" / "run" / "metrics.json").read_text())
    assert float(rows[0]["val_accuracy"]) == pytest.approx(metrics["final_epoch"]["val_accuracy"])


def test_a_trial_left_running_by_a_killed_sweep_runs_again_on_resume_and_completes(start):
    process, err = start()  # one process: the sweep runs its trials itself
    wait_for(err.parent / "sweep" / "trial_0" / "run" / "config.json", time.time() + 300, err)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    process, err = start()  # the same command resumes
    rows = finished_rows(process, err)
    assert ("trial 0: infrastructure: a sweep process died while it ran (found RUNNING on resume); "
            "run 1 of 3, it runs again") in err.read_text()
    assert [(r["trial"], r["status"], r["retries"]) for r in rows] == [("0", "COMPLETED", "1"), ("1", "COMPLETED", "")]
