"""Run a recipe on a Cloud TPU VM: create it, install the project, train, fetch, delete.

    python -m cloud.tpu_vm RECIPE [recipe flags] --project P --zone Z [--tpu v5litepod-8] [--dry-run]

Each step is one `gcloud` command (`--dry-run` prints them, runs nothing): pack the files git
tracks (never untracked ones such as `.env` or keys: `git add` a new file to send it) into a
private temporary tarball, deleted at the end, create the VM, copy the tarball, install Python 3.11, the project and the TPU build of
TensorFlow, run `recipes/RECIPE.py FLAGS --strategy tpu --tpu local`, copy the run's folder
back into `--output`, and delete the VM — also when a step fails, unless `--keep`.
Single-host slices only (up to 8 chips): the recipe runs on worker 0.
"""

import os
import re
import shlex
import subprocess
import sys
import tarfile
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
DRY_RUN_TARBALL = os.path.join(tempfile.gettempdir(), "kerasext-src-XXXXXXXX.tar.gz")  # mkstemp's name
# Google Cloud's resource name pattern (RFC 1035 labels), which TPU VM names follow.
NAME = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
# What is sent outside a git checkout (tracked files otherwise): the installable project.
PACKED = ("setup.cfg", "pyproject.toml", "README.md", "kerasext", "recipes", "cloud")
PACKED_SUFFIXES = (".py", ".cfg", ".toml", ".md", ".txt", ".json", ".yaml", ".yml")


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
    if args.name is None:
        args.name = f"kerasext-{args.recipe.replace('_', '-')}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not NAME.fullmatch(args.name):
        raise ValueError(
            "--name must be a TPU VM name: a lowercase letter, then lowercase letters, digits or "
            f"hyphens, not ending in a hyphen, at most 63 characters. Received: {args.name!r}"
        )
    return args


def tracked_files(root=None):
    """The files to send: those git tracks in `root` (never untracked `.env` or key files),
    else, outside a git checkout, `PACKED` with Python, config and text files only."""
    root = root or ROOT
    try:
        listed = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=True).stdout
        names = [n for n in listed.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = []
        for top in PACKED:
            path = os.path.join(root, top)
            if os.path.isfile(path):
                names.append(top)
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
                names += [os.path.relpath(os.path.join(folder, f), root) for f in sorted(files)
                          if f.endswith(PACKED_SUFFIXES)]
    return [n for n in names if os.path.lexists(os.path.join(root, n))]  # not files deleted since


def untracked_files(root=None):
    """Files git neither tracks nor ignores in `root`: not sent, and said so."""
    root = root or ROOT
    try:
        listed = subprocess.run(["git", "-C", root, "ls-files", "-z", "--others", "--exclude-standard"],
                                capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return [n for n in listed.decode().split("\0") if n]


def pack(path, root=None):
    """Writes `tracked_files(root)` into the gzipped tarball `path`; returns how many."""
    root = root or ROOT
    names = tracked_files(root)
    with tarfile.open(path, "w:gz") as tar:
        for name in names:
            tar.add(os.path.join(root, name), arcname=name, recursive=False)
    return len(names)


def commands(args, tarball):
    """The steps as `(label, argv)` pairs after packing into `tarball`; the last one,
    delete, runs even after a failure. Every part of a remote command is shell-quoted."""
    where = ["--zone", args.zone, "--project", args.project]
    tpu_vm = ["gcloud", "compute", "tpus", "tpu-vm"]
    run_dir = f"kerasext-runs/{args.name}"
    recipe = shlex.join([f"recipes/{args.recipe}.py", *args.recipe_flags,
                         "--strategy", "tpu", "--tpu", "local", "--model-dir"])
    recipe += f" ~/{shlex.quote(run_dir)}"  # the remote shell expands ~
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
    create = [*tpu_vm, "create", args.name, *where, "--accelerator-type", args.tpu,
              "--version", args.runtime_version] + (["--spot"] if args.spot else [])
    return [
        ("create", create),
        ("copy", [*tpu_vm, "scp", tarball, f"{args.name}:~/{TARBALL}", *where]),
        ("install", [*tpu_vm, "ssh", args.name, *where, "--command", install]),
        ("train", [*tpu_vm, "ssh", args.name, *where, "--command",
                   f"cd ~/kerasext && ~/venv/bin/python {recipe}"]),
        ("outdir", ["mkdir", "-p", "--", args.output]),
        ("fetch", [*tpu_vm, "scp", "--recurse", f"{args.name}:~/{run_dir}", args.output, *where]),
        ("delete", [*tpu_vm, "delete", args.name, *where, "--quiet"]),
    ]


def main(argv=None):
    parser = build_parser()
    try:
        args = parse_args(argv, parser)
    except ValueError as error:
        parser.error(error)
    untracked = untracked_files()
    if untracked:
        shown = ", ".join(untracked[:5]) + (f" and {len(untracked) - 5} more" if len(untracked) > 5 else "")
        print(f"# not sent, as git does not track them: {shown}", file=sys.stderr)
    if args.dry_run:
        print(f"# pack {len(tracked_files())} tracked files of {ROOT} into a private temporary "
              "file (deleted at the end)")
        for label, command in commands(args, DRY_RUN_TARBALL):
            if not (label == "delete" and args.keep):
                print(shlex.join(command))
        return 0
    fd, tarball = tempfile.mkstemp(prefix="kerasext-src-", suffix=".tar.gz")  # mode 0600
    os.close(fd)
    steps = commands(args, tarball)
    failed, started = None, False  # started: the create step ran, so a VM may exist
    try:
        print(f"[pack] {pack(tarball)} tracked files of {ROOT} into {tarball}", flush=True)
        for label, command in steps[:-1]:
            print(f"[{label}] {shlex.join(command)}", flush=True)
            started = started or label == "create"
            code = subprocess.call(command)
            if code:
                failed = f"step {label} failed with exit code {code}"
                break
    except FileNotFoundError as error:
        failed, started = f"{error.filename} not found: install the Google Cloud CLI (gcloud) first", False
    except OSError as error:
        failed = f"cannot pack the project into {tarball}: {error}"
    finally:
        os.remove(tarball)
        if started and not args.keep:  # a failed create may leave a VM
            print(f"[delete] {shlex.join(steps[-1][1])}", flush=True)
            subprocess.call(steps[-1][1])
    if failed:
        sys.stderr.write(f"{parser.prog}: error: {failed}\n")
        return 1
    print(f"outputs: {os.path.join(args.output, args.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
