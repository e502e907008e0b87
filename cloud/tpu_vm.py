"""Run a recipe on a Cloud TPU VM: create it, install the project, train, fetch, delete.

    python -m cloud.tpu_vm RECIPE [recipe flags] --project P --zone Z [--tpu v5litepod-8] [--dry-run]

Each step is one `gcloud` command (`--dry-run` prints them, runs nothing): pack the working
tree, create the VM, copy the tarball, install Python 3.11, the project and the TPU build of
TensorFlow, run `recipes/RECIPE.py FLAGS --strategy tpu --tpu local`, copy the run's folder
back into `--output`, and delete the VM — also when a step fails, unless `--keep`.
Single-host slices only (up to 8 chips): the recipe runs on worker 0.
"""

import os
import shlex
import subprocess
import sys
import tempfile
import time

from cloud._cli import ROOT, ArgumentParser, parse_recipe_command

# TPU type -> the TPU VM software version to boot (Cloud TPU docs, "TPU software versions").
RUNTIMES = {
    "v2-8": "tpu-ubuntu2204-base",
    "v3-8": "tpu-ubuntu2204-base",
    "v4-8": "tpu-ubuntu2204-base",
    "v5litepod-1": "v2-alpha-tpuv5-lite",
    "v5litepod-4": "v2-alpha-tpuv5-lite",
    "v5litepod-8": "v2-alpha-tpuv5-lite",
    "v6e-1": "v2-alpha-tpuv6e",
    "v6e-4": "v2-alpha-tpuv6e",
    "v6e-8": "v2-alpha-tpuv6e",
}
# The TPU build of TensorFlow; libtpu comes with it from PyPI. PyPI has no tensorflow-tpu
# 2.21 yet (newest 2.20.0, wanting tensorboard 2.20): see cloud/README.md, "TPU builds".
TF_TPU = "tensorflow-tpu==2.20.0"
OWNED_FLAGS = {
    "--strategy": "always tpu here", "--tpu": "always local here",
    "--model-dir": "the run goes to ~/kerasext-runs on the VM, then --output",
}
TARBALL = "kerasext-src.tar.gz"


def build_parser(prog="python -m cloud.tpu_vm"):
    parser = ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        usage=f"{prog} RECIPE [recipe flags] --project P --zone Z [options]",
    )
    parser.add_argument("recipe", help="a recipe name: recipes/RECIPE.py")
    parser.add_argument("--project", help="Google Cloud project id (required)")
    parser.add_argument("--zone", default="us-west4-a", help="a zone with the TPU type (default us-west4-a)")
    parser.add_argument("--tpu", default="v5litepod-8", help=f"TPU type: {', '.join(RUNTIMES)} (default v5litepod-8)")
    parser.add_argument("--runtime-version", default=None, help="TPU VM software version (default: by --tpu)")
    parser.add_argument("--name", default=None, help="TPU VM name (default kerasext-RECIPE-<time>)")
    parser.add_argument("--output", default="runs/tpu_vm", help="local folder the run's folder is copied into")
    parser.add_argument("--spot", action="store_true", help="a Spot TPU VM (cheaper, preemptible)")
    parser.add_argument("--keep", action="store_true", help="keep the VM afterwards (default: delete it)")
    parser.add_argument("--dry-run", action="store_true", help="print the gcloud commands; run nothing")
    return parser


def parse_args(argv=None, parser=None):
    parser = parser or build_parser()
    args = parse_recipe_command(parser, argv, OWNED_FLAGS)
    if args.tpu not in RUNTIMES:
        raise ValueError(f"--tpu must be one of {', '.join(RUNTIMES)} (single-host). Received: {args.tpu!r}")
    args.runtime_version = args.runtime_version or RUNTIMES[args.tpu]
    args.name = args.name or f"kerasext-{args.recipe.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    return args


def commands(args):
    """The steps as `(label, argv)` pairs; the last one, delete, runs even after a failure."""
    where = ["--zone", args.zone, "--project", args.project]
    tpu_vm = ["gcloud", "compute", "tpus", "tpu-vm"]
    run_dir = f"kerasext-runs/{args.name}"
    recipe = shlex.join([f"recipes/{args.recipe}.py", *args.recipe_flags,
                         "--strategy", "tpu", "--tpu", "local", "--model-dir", f"~/{run_dir}"])
    recipe = recipe.replace(f"'~/{run_dir}'", f"~/{run_dir}")  # let the remote shell expand ~
    install = " && ".join([
        "sudo apt-get update -qq",
        "sudo apt-get install -y -qq python3.11 python3.11-venv",
        "python3.11 -m venv ~/venv",
        f"mkdir -p ~/kerasext && tar xzf ~/{TARBALL} -C ~/kerasext",
        "~/venv/bin/pip install -q -e ~/kerasext",
        # tensorflow-tpu replaces the CPU build setup.cfg pulls in (both own tensorflow/)
        "~/venv/bin/pip uninstall -q -y tensorflow tensorboard",
        f"~/venv/bin/pip install -q {TF_TPU}",
    ])
    tarball = os.path.join(tempfile.gettempdir(), f"{args.name}.tar.gz")
    create = [*tpu_vm, "create", args.name, *where, "--accelerator-type", args.tpu,
              "--version", args.runtime_version] + (["--spot"] if args.spot else [])
    return [
        ("pack", ["tar", "czf", tarball, "-C", ROOT,
                  "--exclude=./.git", "--exclude=./.venv", "--exclude=./runs", "."]),
        ("create", create),
        ("copy", [*tpu_vm, "scp", tarball, f"{args.name}:~/{TARBALL}", *where]),
        ("install", [*tpu_vm, "ssh", args.name, *where, "--command", install]),
        ("train", [*tpu_vm, "ssh", args.name, *where, "--command",
                   f"cd ~/kerasext && ~/venv/bin/python {recipe}"]),
        ("outdir", ["mkdir", "-p", args.output]),
        ("fetch", [*tpu_vm, "scp", "--recurse", f"{args.name}:~/{run_dir}", args.output, *where]),
        ("delete", [*tpu_vm, "delete", args.name, *where, "--quiet"]),
    ]


def main(argv=None):
    parser = build_parser()
    try:
        args = parse_args(argv, parser)
    except ValueError as error:
        parser.error(error)
    steps = commands(args)
    if args.dry_run:
        for label, command in steps:
            if not (label == "delete" and args.keep):
                print(shlex.join(command))
        return 0
    failed = None
    try:
        for label, command in steps[:-1]:
            print(f"[{label}] {shlex.join(command)}", flush=True)
            code = subprocess.call(command)
            if code:
                failed = (label, code)
                break
    except FileNotFoundError as error:
        parser.error(f"{error.filename} not found: install the Google Cloud CLI (gcloud) first")
    finally:
        if not args.keep and (failed is None or failed[0] != "pack"):  # a failed create may leave a VM
            print(f"[delete] {shlex.join(steps[-1][1])}", flush=True)
            subprocess.call(steps[-1][1])
    if failed:
        sys.stderr.write(f"{parser.prog}: error: step {failed[0]} failed with exit code {failed[1]}\n")
        return 1
    print(f"outputs: {os.path.join(args.output, args.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
