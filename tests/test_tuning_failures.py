"""kerasext.tuning.failures: a trial the recipe failed is FAILED at once; one the infrastructure
failed (its worker killed, a process dead with it running, a lost RPC) runs again, bounded.

No training and no processes: the recipe's run (`RecipeHyperModel.fit`) is replaced, and the
oracle is Keras Tuner's own, in a temporary folder."""

import errno
import math

import keras_tuner
import pytest

from kerasext import tuning
from kerasext.tuning import distributed, failures
from recipes import train

SPACE = {"learning-rate": {"double": [1e-3, 1e-2], "scale": "log"}}


@pytest.fixture(autouse=True)
def local(monkeypatch):
    for name in (distributed.ID, distributed.IP, distributed.PORT):
        monkeypatch.delenv(name, raising=False)


def make(folder, max_retries=2, max_trials=1):
    hypermodel = tuning.RecipeHyperModel(train, SPACE, ["--epochs", "1", "--model", "mlp"])
    return tuning.make_tuner("random", hypermodel, str(folder), max_trials=max_trials, max_retries=max_retries)


def runs(tuner, *outcomes):
    """Replaces the recipe's run: each call takes the next outcome (an exception is raised)."""
    calls = []

    def fit(hp, argv, directory):
        outcome = outcomes[min(len(calls), len(outcomes) - 1)]
        calls.append(directory)
        if isinstance(outcome, BaseException):
            raise outcome
        return {"val_accuracy": outcome, "seconds": 0.0}

    tuner.hypermodel.fit = fit
    return calls


def rows(tuner):
    return tuning.SweepResults(tuner.project_dir, tuner.hypermodel, "max").rows(tuner.oracle)


def _raised_from(error, cause):
    error.__cause__ = cause
    return error


@pytest.mark.parametrize("error, kind", [
    (_raised_from(RuntimeError("checkpoint not written"), OSError(errno.ENOSPC, "No space left")),
     failures.InfrastructureError),
    (_raised_from(ValueError("bad value"), KeyError("x")), failures.RecipeFailed),
])
def test_the_error_a_trials_error_was_raised_from_counts(error, kind):
    assert type(failures.trial_failure(error)) is kind


@pytest.mark.parametrize("error, kind", [
    (ValueError("`--dropout` must be in [0, 1)"), failures.RecipeFailed),  # bad hyperparameters
    (ValueError("recipes/train.py exited with code 2: bad flag"), failures.RecipeFailed),
    (RuntimeError("a bug in the recipe"), failures.RecipeFailed),  # a genuine exception (exit 1)
    (MemoryError(), failures.RecipeFailed),  # too big a model: the same flags fail again
    (FileNotFoundError(errno.ENOENT, "no such file"), failures.RecipeFailed),
    (OSError(errno.ENOSPC, "No space left on device"), failures.InfrastructureError),
    (OSError(errno.EIO, "Input/output error"), failures.InfrastructureError),
    (type("UnavailableError", (Exception,), {})("socket closed"), failures.InfrastructureError),
    (type("_InactiveRpcError", (type("RpcError", (Exception,), {}),), {})("lost"), failures.InfrastructureError),
])
def test_a_trials_error_is_the_recipes_or_the_infrastructures(error, kind):
    failure = failures.trial_failure(error)
    assert type(failure) is kind
    assert isinstance(failure, keras_tuner.errors.FailedTrialError) == (kind is failures.RecipeFailed)
    assert str(failure).startswith("recipe: " if kind is failures.RecipeFailed else "infrastructure: ")
    assert type(error).__name__ in str(failure)


@pytest.mark.parametrize("value", [math.nan, math.inf, None, "0.5"])
def test_a_trial_whose_objective_is_not_finite_failed_by_itself(value):
    with pytest.raises(failures.RecipeFailed, match="recipe: the objective val_accuracy is"):
        failures.check_objective({"val_accuracy": value}, "val_accuracy")
    failures.check_objective({"val_accuracy": 0.5}, "val_accuracy")


def test_exit_codes_and_reasons_read_as_one_line():
    assert failures.describe_exit(-9) == "was killed by SIGKILL"
    assert failures.describe_exit(-15) == "was killed by SIGTERM"
    assert failures.describe_exit(1) == "exited with code 1"
    message = "Traceback (most recent call last):\n  ...\nkerasext.tuning.failures.RecipeFailed: recipe: ValueError: x\n"
    assert failures.reason(message) == "recipe: ValueError: x"
    assert failures.reason("Traceback ...\nValueError: y") == "ValueError: y"
    assert failures.reason(None) == "?"


def test_max_retries_is_checked(tmp_path):
    with pytest.raises(ValueError, match=r"`max_retries` must be an integer >= 0. Received: max_retries=-1"):
        make(tmp_path / "sweep", max_retries=-1)


def test_a_recipe_failure_is_failed_at_once_with_its_reason(tmp_path):
    tuner = make(tmp_path / "sweep")
    calls = runs(tuner, ValueError("`model` MobileNetV3Small needs RGB images of at least 32x32"))
    with pytest.raises(tuning.SweepError, match="every trial failed"):
        tuner.search()
    assert len(calls) == 1  # not retried
    (row,) = rows(tuner)
    assert row["status"] == "FAILED" and "retries" not in row
    assert row["error"] == "recipe: ValueError: `model` MobileNetV3Small needs RGB images of at least 32x32"


def test_a_nan_objective_is_failed_at_once(tmp_path):
    tuner = make(tmp_path / "sweep")
    calls = runs(tuner, math.nan)
    with pytest.raises(tuning.SweepError):
        tuner.search()
    assert len(calls) == 1  # Keras Tuner alone would make it INVALID and retry it
    assert rows(tuner)[0]["error"] == "recipe: the objective val_accuracy is nan"


def test_an_infrastructure_failure_is_retried_in_the_same_folder_and_completes(tmp_path):
    tuner = make(tmp_path / "sweep")
    calls = runs(tuner, OSError(errno.ENOSPC, "No space left on device"), 0.75)
    tuner.search()
    assert len(calls) == 2 and calls[0] == calls[1]  # the same trial folder: its run resumes there
    (row,) = rows(tuner)
    assert (row["status"], row["val_accuracy"], row["retries"]) == ("COMPLETED", 0.75, 1)
    assert "error" not in row


def test_retries_are_bounded_then_the_trial_is_failed_with_the_reason(tmp_path):
    tuner = make(tmp_path / "sweep", max_retries=1)
    calls = runs(tuner, OSError(errno.EIO, "Input/output error"))
    with pytest.raises(tuning.SweepError, match="every trial failed"):
        tuner.search()
    assert len(calls) == 2  # one run, one retry
    (row,) = rows(tuner)
    assert (row["status"], row["retries"]) == ("FAILED", 1)
    assert row["error"] == "infrastructure: OSError: [Errno 5] Input/output error"


def test_the_trial_of_a_worker_that_died_runs_again_until_its_retries_are_spent(tmp_path):
    oracle = make(tmp_path / "sweep", max_retries=2, max_trials=3).oracle
    trial = oracle.create_trial("tuner1")
    for run, (dead, asks) in enumerate([("tuner1", "tuner0"), ("tuner0", "tuner1")], start=1):
        assert failures.fail_running(oracle, dead, f"worker {dead} was killed by SIGKILL") is trial
        assert dead not in oracle.ongoing_trials
        assert trial.message.endswith(f"run {run} of 3, it runs again")
        again = oracle.create_trial(asks)  # the next worker to ask gets it back
        assert (again.trial_id, again.status) == (trial.trial_id, "RUNNING")
    failures.fail_running(oracle, "tuner1", "worker tuner1 exited with code 1")
    assert trial.status == "FAILED"
    assert trial.message == "infrastructure: worker tuner1 exited with code 1; run 3 of 3, no retry left"
    assert oracle.create_trial("tuner1").trial_id != trial.trial_id  # the sweep goes on
    assert failures.fail_running(oracle, "tuner5", "worker tuner5 was killed by SIGKILL") is None


def test_a_trial_found_running_on_resume_counts_as_a_run(tmp_path, capsys):
    folder = tmp_path / "sweep"
    trial = make(folder, max_trials=2).oracle.create_trial("tuner0")  # then the process "dies"
    resumed = make(folder, max_retries=2, max_trials=2)
    assert resumed.oracle._run_times[trial.trial_id] == 1 and resumed.oracle._retry_queue == [trial.trial_id]
    assert "(found RUNNING on resume); run 1 of 3, it runs again" in capsys.readouterr().err
    calls = runs(resumed, 0.5)
    resumed.search()
    assert calls[0].endswith(f"trial_{trial.trial_id}")  # retried first, then the next trial
    assert [(r["status"], r.get("retries")) for r in rows(resumed)] == [("COMPLETED", 1), ("COMPLETED", None)]


def test_a_trial_found_running_without_retries_left_is_failed(tmp_path):
    folder = tmp_path / "sweep"
    make(folder, max_trials=2).oracle.create_trial("tuner0")
    resumed = make(folder, max_retries=0, max_trials=2)
    (row,) = rows(resumed)
    assert row["status"] == "FAILED"
    assert row["error"] == ("infrastructure: a sweep process died while it ran (found RUNNING on resume); "
                            "run 1 of 1, no retry left")


def test_an_orderly_stop_hands_running_trials_back_uncounted(tmp_path):
    folder = tmp_path / "sweep"
    oracle = make(folder, max_trials=2).oracle
    trial = oracle.create_trial("tuner0")
    failures.release(oracle)  # Ctrl-C, --timeout, an error: not the trial's failure
    resumed = make(folder, max_retries=0, max_trials=2)
    assert resumed.oracle._retry_queue == [trial.trial_id] and not resumed.oracle._run_times[trial.trial_id]
    runs(resumed, 0.5)
    resumed.search()
    assert [(r["status"], r.get("retries")) for r in rows(resumed)] == [("COMPLETED", None)] * 2


class FakeProcess:
    """A worker process that died at once with `code`."""

    code = -9
    pid = 4242

    def __init__(self, *args, **kwargs):
        pass

    def poll(self):
        return self.code


def test_workers_report_a_dead_worker_before_restarting_it(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed.subprocess, "Popen", FakeProcess)
    workers = distributed.Workers(["worker"], 1, 1234, str(tmp_path / "workers"), max_restarts=1)
    died = []
    workers.check(lambda tuner_id, code: died.append((tuner_id, code)))
    assert died == [("tuner0", -9)] and workers.restarts == {"tuner0": 1}
    with pytest.raises(tuning.SweepError, match="worker tuner0 died 2 times"):
        workers.check(lambda tuner_id, code: died.append((tuner_id, code)))
    assert died == [("tuner0", -9)] * 2  # its trial was failed before the sweep stopped


def test_keras_tuners_stop_is_one_line():
    error = RuntimeError("Number of consecutive failures exceeded the limit of 3.\nTraceback ...\n"
                         "kerasext.tuning.failures.RecipeFailed: recipe: ValueError: bad")
    assert str(failures.keras_tuner_stopped(error)) == (
        "Keras Tuner stopped the sweep: Number of consecutive failures exceeded the limit of 3. "
        "Last: recipe: ValueError: bad")
