"""`python -m cloud.tpu_vm --dry-run`: the exact gcloud commands, in order, and bad input."""

import os
import shlex
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from cloud import tpu_vm  # noqa: E402  (run from the repository root, not installed)
from cloud._cli import ROOT  # noqa: E402

ARGV = ["baseline", "--epochs", "5", "--project", "my-project", "--zone", "us-west4-a",
        "--tpu", "v5litepod-8", "--name", "kx-demo", "--output", "out", "--dry-run"]
WHERE = "--zone us-west4-a --project my-project"


def test_dry_run_prints_every_gcloud_command(capsys):
    assert tpu_vm.main(ARGV) == 0
    tarball = f"{tempfile.gettempdir()}/kerasext-src-XXXXXXXX.tar.gz"
    install = (
        "sudo apt-get update -qq && sudo apt-get install -y -qq python3.11 python3.11-venv"
        " && python3.11 -m venv ~/venv && mkdir -p ~/kerasext && tar xzf ~/kerasext-src.tar.gz -C ~/kerasext"
        " && ~/venv/bin/pip install -q -e ~/kerasext && ~/venv/bin/pip uninstall -q -y tensorflow tensorboard"
        " && ~/venv/bin/pip install -q tensorflow-tpu==2.20.0"
    )
    train = ("cd ~/kerasext && ~/venv/bin/python recipes/baseline.py --epochs 5"
             " --strategy tpu --tpu local --model-dir ~/kerasext-runs/kx-demo")
    assert capsys.readouterr().out.splitlines() == [
        f"# pack {len(tpu_vm.tracked_files())} tracked files of {ROOT} into a private temporary file (deleted at the end)",
        f"gcloud compute tpus tpu-vm create kx-demo {WHERE} --accelerator-type v5litepod-8 --version v2-alpha-tpuv5-lite",
        f"gcloud compute tpus tpu-vm scp {tarball} 'kx-demo:~/kerasext-src.tar.gz' {WHERE}",
        f"gcloud compute tpus tpu-vm ssh kx-demo {WHERE} --command {shlex.quote(install)}",
        f"gcloud compute tpus tpu-vm ssh kx-demo {WHERE} --command {shlex.quote(train)}",
        "mkdir -p -- out",
        f"gcloud compute tpus tpu-vm scp --recurse 'kx-demo:~/kerasext-runs/kx-demo' out {WHERE}",
        f"gcloud compute tpus tpu-vm delete kx-demo {WHERE} --quiet",
    ]


def test_keep_and_spot(capsys):
    assert tpu_vm.main([*ARGV, "--keep", "--spot", "--tpu", "v6e-4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "--accelerator-type v6e-4 --version v2-alpha-tpuv6e --spot" in lines[1]
    assert not any(" delete " in line for line in lines)


@pytest.mark.parametrize("argv, message", [
    (["baseline", "--project", "p", "--tpu", "v5litepod-16"], "--tpu must be one of"),
    (["baseline", "--zone", "z"], "--project is required"),
    (["nope", "--project", "p"], "unknown recipe"),
    (["baseline", "--project", "p", "--strategy", "mirrored"], "--strategy is set by this command"),
])
def test_bad_input_is_one_line_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        tpu_vm.main([*argv, "--dry-run"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
