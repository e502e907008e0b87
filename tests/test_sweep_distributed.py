"""`recipes/sweep.py --workers N`: Keras Tuner's distributed mode for real, a chief and worker
processes on 127.0.0.1 over gRPC, with a worker killed mid-trial."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT

SWEEP = os.path.join(ROOT, "recipes", "sweep.py")
SPACE = {"learning-rate": {"double": [1e-3, 1e-2], "scale": "log"},
         "optimizer": {"categorical": ["adam", "rmsprop"]}}


@pytest.fixture
def launched(tmp_path):
    """Starts a sweep with 2 workers; kills whatever is left of it when the test ends."""
    started = []

    def launch(*extra):
        (tmp_path / "space.json").write_text(json.dumps(SPACE))
        argv = [sys.executable, SWEEP, "--tuner", "random", "--space", "space.json", "--model", "mlp",
                "--model-dir", "sweep", "--workers", "2", "--timeout", "400", "--rpc-timeout", "120", *extra]
        env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=open(tmp_path / "out.log", "w"),
                                   stderr=open(tmp_path / "err.log", "w"), start_new_session=True)
        started.append(process)
        return process

    yield launch
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the sweep and its workers
            process.wait()


def claims(folder):
    """`(tuner id, trial id)` for each trial a worker started, from the workers' logs."""
    found = []
    for name in sorted(os.listdir(folder / "workers")):
        text = (folder / "workers" / name).read_text(errors="replace")
        found += re.findall(r"kerasext: (tuner\d) runs trial (\d+)", text)
    return found


def check_finished(tmp_path, process, trials):
    assert process.wait(timeout=420) == 0, (tmp_path / "err.log").read_text()[-3000:]
    folder = tmp_path / "sweep"
    with open(folder / "trials.csv") as file:
        rows = list(csv.DictReader(file))
    assert [r["trial"] for r in rows] == [str(i) for i in range(trials)]  # each trial once
    assert {r["status"] for r in rows} == {"COMPLETED"}
    for row in rows:  # scored by the trial's own finished run
        metrics = json.loads((folder / f"trial_{row['trial']}" / "run" / "metrics.json").read_text())
        assert float(row["val_accuracy"]) == pytest.approx(metrics["final_epoch"]["val_accuracy"])
    assert (folder / "best.json").exists() and (folder / "sweep_trials.png").exists()
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", (tmp_path / "err.log").read_text())]
    for pid in pids:  # no worker outlives the sweep
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    return folder, rows


@pytest.mark.multiprocess
def test_chief_and_two_workers_run_every_trial_exactly_once(tmp_path, launched):
    process = launched("--max-trials", "4", "--epochs", "1")
    folder, rows = check_finished(tmp_path, process, 4)
    started = claims(folder)
    assert sorted(t for _, t in started) == ["0", "1", "2", "3"]  # no trial run by two workers
    assert {w for w, _ in started} <= {"tuner0", "tuner1"}


@pytest.mark.slow  # about a minute on 2 cores: kept out of `make test`'s 15-minute budget
@pytest.mark.multiprocess
def test_a_worker_killed_mid_trial_is_restarted_and_no_trial_is_lost_or_counted_twice(tmp_path, launched):
    process = launched("--max-trials", "4", "--epochs", "2")
    folder, deadline = tmp_path / "sweep", time.time() + 300
    victim = trial = None
    while time.time() < deadline and trial is None:  # tuner1's first trial, once its run has started
        pids = dict(re.findall(r"started worker (tuner\d) \(pid (\d+)\)", (tmp_path / "err.log").read_text()))
        mine = [t for w, t in claims(folder) if w == "tuner1"] if (folder / "workers").exists() else []
        if mine and (folder / f"trial_{mine[0]}" / "run" / "config.json").exists():
            victim, trial = int(pids["tuner1"]), mine[0]
        time.sleep(0.05)
    assert trial is not None, (tmp_path / "err.log").read_text()[-3000:]
    os.kill(victim, signal.SIGKILL)
    folder, rows = check_finished(tmp_path, process, 4)
    err = (tmp_path / "err.log").read_text()
    assert "worker tuner1 exited with code -9; restarting it (1 of 2)" in err
    assert f"trial {trial}: infrastructure: worker tuner1 was killed by SIGKILL; run 1 of 3, it runs again" in err
    started = claims(folder)
    # its unfinished trial ran again (by the next worker to ask), once, and is counted as retried once
    assert [t for _, t in started].count(trial) == 2
    assert sorted(set(t for _, t in started)) == ["0", "1", "2", "3"] and len(started) == 5
    assert [r.get("retries") or "0" for r in rows] == ["1" if r["trial"] == trial else "0" for r in rows]
