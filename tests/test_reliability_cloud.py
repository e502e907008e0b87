"""Issue 15, items 6 and 12: what `cloud.tpu_vm` sends and runs, and what `cloud.submit`
checks before a paid job exists."""

import os
import shlex
import stat
import subprocess
import sys
import tarfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # `cloud` is run from the repository root, not installed
from cloud import submit, submit_sweep, tpu_vm  # noqa: E402

TPU_VM = ["--project", "my-project", "--zone", "us-west4-a", "--name", "kx-demo", "--output", "out"]
SUBMIT = ["--project", "p", "--bucket", "gs://b"]


def refused(main, argv, capsys):
    """Runs `main(argv)`, expecting one line on stderr and exit 2; returns that line."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    return captured.err


def make_tree(root, git):
    """A project with tracked files beside untracked secrets (.env, a key file)."""
    (root / "kerasext").mkdir(parents=True)
    (root / "kerasext" / "core.py").write_text("x = 1\n")
    (root / "setup.cfg").write_text("[metadata]\n")
    if git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        subprocess.run(["git", "-C", str(root), "add", "kerasext/core.py", "setup.cfg"], check=True)
    (root / ".env").write_text("API_KEY=secret\n")
    (root / "kerasext" / "service-key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (root / "kerasext" / "notes.py").write_text("untracked = True\n")


@pytest.mark.parametrize("git, sent", [
    (True, ["kerasext/core.py", "setup.cfg"]),
    (False, ["kerasext/core.py", "kerasext/notes.py", "setup.cfg"]),  # no git: the explicit list
])
def test_pack_sends_tracked_files_only(tmp_path, git, sent):
    root = tmp_path / "project"
    make_tree(root, git)
    path = tmp_path / "src.tar.gz"
    assert tpu_vm.pack(str(path), str(root)) == len(sent)
    with tarfile.open(path) as tar:
        assert sorted(tar.getnames()) == sent


def test_tarball_is_private_and_deleted(monkeypatch, tmp_path, capsys):
    root = tmp_path / "project"
    make_tree(root, git=True)
    monkeypatch.setattr(tpu_vm, "ROOT", str(root))
    calls, seen = [], {}

    def call(command):
        calls.append(command)
        if command[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "scp"] and command[5] != "--recurse":
            path = command[5]
            seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
            with tarfile.open(path) as tar:
                seen["names"] = sorted(tar.getnames())
            seen["path"] = path
        return 0

    monkeypatch.setattr(tpu_vm.subprocess, "call", call)
    assert tpu_vm.main(["baseline", *TPU_VM]) == 0
    assert seen["mode"] == 0o600 and seen["names"] == ["kerasext/core.py", "setup.cfg"]
    assert os.path.basename(seen["path"]) != "kx-demo.tar.gz"  # not a predictable name
    assert not os.path.exists(seen["path"])
    assert calls[-1][4] == "delete"


def test_tarball_is_deleted_when_a_step_fails(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tpu_vm, "ROOT", str(tmp_path))
    paths = []
    monkeypatch.setattr(tpu_vm, "pack", lambda path: paths.append(path) or 0)
    monkeypatch.setattr(tpu_vm.subprocess, "call", lambda command: int("create" in command))
    assert tpu_vm.main(["baseline", *TPU_VM]) == 1
    assert "step create failed with exit code 1" in capsys.readouterr().err
    assert paths and not os.path.exists(paths[0])


@pytest.mark.parametrize("name", ["../../x", "a;touch /tmp/pwned", "Upper", "9lives", "trailing-",
                                  "a" * 64, "x y", "-x", ""])
def test_bad_tpu_vm_name_is_refused(name, capsys):
    err = refused(tpu_vm.main, ["baseline", *TPU_VM, f"--name={name}", "--dry-run"], capsys)
    assert "--name must be a TPU VM name" in err and f"Received: {name!r}" in err


@pytest.mark.parametrize("name", ["a", "kx-demo-2", "k" + "x" * 62])
def test_good_tpu_vm_names_pass(name, capsys):
    assert tpu_vm.main(["baseline", *TPU_VM, "--name", name, "--dry-run"]) == 0


def test_remote_command_quotes_every_recipe_flag(capsys):
    value = "x; touch /tmp/pwned $(id) `id` 'q'"
    assert tpu_vm.main(["baseline", "--dataset", value, *TPU_VM, "--dry-run"]) == 0
    train = [line for line in capsys.readouterr().out.splitlines() if "~/venv/bin/python recipes/" in line][0]
    remote = shlex.split(train)[-1]  # what gcloud hands the remote shell
    assert shlex.split(remote) == [
        "cd", "~/kerasext", "&&", "~/venv/bin/python", "recipes/baseline.py", "--dataset", value,
        "--strategy", "tpu", "--tpu", "local", "--model-dir", "~/kerasext-runs/kx-demo",
    ]


@pytest.mark.parametrize("main, common", [(submit.main, SUBMIT), (tpu_vm.main, TPU_VM)])
@pytest.mark.parametrize("flags, message", [
    (["--model-d", "x"], "recipe flag --model-d (short for --model-dir) is set by this command"),
    (["--model-dir=x"], "recipe flag --model-dir is set by this command"),
    (["--epochs", "0"], "recipes/baseline.py refuses its flags: argument --epochs: must be an integer >= 1"),
    (["--bogus", "1"], "recipes/baseline.py refuses its flags: unrecognized arguments: --bogus 1"),
    (["--dry"], "unrecognized arguments: --dry"),  # no abbreviation of --dry-run either
])
def test_recipe_flags_are_checked_before_anything_is_created(monkeypatch, main, common, flags, message, capsys):
    def paid(*args, **kwargs):
        raise AssertionError("a job or VM was created")

    monkeypatch.setattr(submit, "job_service", paid)
    monkeypatch.setattr(tpu_vm.subprocess, "call", paid)
    assert message in refused(main, ["baseline", *flags, *common], capsys)


def test_a_recipe_flag_that_prefixes_an_owned_one_passes_when_the_recipe_has_it(capsys):
    assert submit.main(["train", "--model", "mlp", *SUBMIT, "--dry-run"]) == 0  # --model, not --model-dir


def test_sweep_is_refused_as_a_vertex_job(capsys):
    err = refused(submit.main, ["sweep", "--max-trials", "2", *SUBMIT, "--dry-run"], capsys)
    assert "recipe sweep cannot run as one Vertex AI job" in err and "python -m cloud.submit_sweep" in err


@pytest.mark.parametrize("build", [submit.build_parser, submit_sweep.build_parser, tpu_vm.build_parser])
def test_cloud_parsers_take_no_abbreviations(build):
    assert build().allow_abbrev is False
