"""A run's folder: chosen, checked (a run is never overwritten), created, or resumed.

A run that was killed resumes when the same command runs again with the same `--model-dir`
(or `$AIP_MODEL_DIR`): its folder holds config.json, a checkpoint under `backup/` and no
metrics.json.
"""

import hashlib
import json
import logging
import os
import tempfile
import time

import tensorflow as tf

from kerasext.distribute import is_chief
from kerasext.runner import errors, files, logs
from kerasext.runner.errors import UsageError
from kerasext.runner.files import BACKUP, CONFIG, METRICS, OWNER
from kerasext.runner.run import Run

_NOT_COMPARED = ("model_dir", "config")  # flags that may differ when a run resumes


def start_run(args):
    """Creates the run's folder and writes config.json (the resolved flags), or resumes.

    The folder is `--model-dir`, else `$AIP_MODEL_DIR`, else `runs/<recipe>/<time>`.

    Returns:
        A `kerasext.runner.Run`.

    Raises:
        UsageError: as `check_model_dir`.
    """
    config = {k: v for k, v in vars(args).items() if k != "config"}
    logs.show_held()
    if not is_chief():
        # Other workers write nothing of the run, but read the chief's checkpoints (on
        # shared storage, e.g. gs://) to resume with it. The chief may already have made
        # the folder, so it is not checked again here (setup checked it).
        shared = args.model_dir or os.environ.get("AIP_MODEL_DIR")
        backup = os.environ.get("AIP_CHECKPOINT_DIR") or (
            os.path.join(shared, BACKUP) if shared else None)
        return Run(tempfile.mkdtemp(prefix="kerasext-worker-"), config, backup_dir=backup)
    directory, resuming = check_model_dir(args)
    if directory:
        tf.io.gfile.makedirs(directory)
    else:
        directory = fresh_folder(os.path.join("runs", args.recipe))
    config["model_dir"] = directory
    errors.mark_started()  # from here on, a ValueError is a failure, not the user's input
    if resuming:
        logging.getLogger("kerasext").info("kerasext: resuming the unfinished run in %s", directory)
    else:
        files.write_json(os.path.join(directory, CONFIG), config)
    run = Run(directory, config, resuming=resuming)
    owner = os.path.join(run.backup_dir, OWNER)
    if not tf.io.gfile.exists(owner):
        tf.io.gfile.makedirs(run.backup_dir)
        files.write_json(owner, owner_of(args, directory))
    return run


def check_model_dir(args):
    """Returns `(folder or None for the default, resuming)` for the requested output folder.

    An empty or missing folder starts a run; one holding an unfinished run (config.json and
    no metrics.json) started with the same flags continues it, from its newest checkpoint.
    The backup folder (`$AIP_CHECKPOINT_DIR`, else `<folder>/backup`) must be empty or hold
    this run's own checkpoints (its `owner.json`).

    Raises:
        UsageError: for a folder that is a file, lies under a file, is a dangling link or
            cannot be written; one holding a finished run, other files, a damaged
            config.json or metrics.json, or an unfinished run with different flags; or a
            backup folder that belongs to another run.
    """
    directory = args.model_dir or os.environ.get("AIP_MODEL_DIR")
    flag = "`--model-dir`" if args.model_dir else "`$AIP_MODEL_DIR`"
    resuming = False
    if directory:
        _check_folder(flag, directory)
        if tf.io.gfile.exists(directory) and tf.io.gfile.listdir(directory):
            _check_unfinished(flag, directory, args)
            resuming = True
    check_backup_owner(args, directory, resuming)
    return directory, resuming


def _check_unfinished(flag, directory, args):
    """Raises unless `directory` holds an unfinished run started with the flags in `args`."""
    saved_path = os.path.join(directory, CONFIG)
    metrics_path = os.path.join(directory, METRICS)
    # A run that wrote its config.json but not its metrics.json was stopped: the same flags
    # continue it, from its newest checkpoint if it has one (a comparison recipe, killed
    # before its checkpointed last variant, reruns its seeded variants and gets the same).
    if tf.io.gfile.exists(metrics_path):
        damaged = "" if _json_object(metrics_path) is not None else f" ({metrics_path} is not a JSON object)"
        raise UsageError(
            f"{flag} already holds files{damaged}, and a run is never overwritten. Received: {directory}")
    if not tf.io.gfile.exists(saved_path):
        raise UsageError(
            f"{flag} already holds files, and a run is never overwritten. Received: {directory}")
    saved = _json_object(saved_path)
    if saved is None:
        raise UsageError(
            f"{flag} {directory} holds a damaged {CONFIG} ({saved_path} is not a JSON object of "
            "flags), so its run cannot be resumed; pick a new folder")
    now = _comparable(args)
    changed = sorted(k for k in set(saved) | set(now)
                     if k not in _NOT_COMPARED and saved.get(k) != now.get(k))
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise UsageError(
            f"{flag} {directory} holds an unfinished run started with other flags "
            f"({details}); resume it with the same flags or pick a new folder"
        )


def _check_folder(flag, directory):
    """Refuses, before anything is written, a local folder that cannot become the run's."""
    if "://" in directory:
        return  # gs:// and the like: their errors come from the store
    if os.path.islink(directory) and not os.path.exists(directory):
        raise UsageError(f"{flag} is a symbolic link to a missing folder "
                         f"({os.readlink(directory)}). Received: {directory}")
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise UsageError(f"{flag} is a file, not a folder. Received: {directory}")
    existing = os.path.abspath(directory)
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise UsageError(f"{flag} lies under {existing}, a file, not a folder. Received: {directory}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} cannot be written ({existing} is read-only). Received: {directory}")


def check_backup_owner(args, directory, resuming):
    """Refuses a backup folder holding another run's checkpoints (it would resume and prune them).

    The backup folder is `$AIP_CHECKPOINT_DIR`, else `<directory>/backup`; `start_run`
    records its owner in `owner.json`: the run folder and a digest of the run's flags.

    Raises:
        UsageError: if the backup folder's owner is another run, or it holds checkpoints
            without an owner while this run is not resuming.
    """
    backup = os.environ.get("AIP_CHECKPOINT_DIR") or (
        os.path.join(directory, BACKUP) if directory else None)
    if not backup or not tf.io.gfile.isdir(backup):
        return
    where = "`$AIP_CHECKPOINT_DIR`" if os.environ.get("AIP_CHECKPOINT_DIR") else "the backup folder"
    owner_path = os.path.join(backup, OWNER)
    if tf.io.gfile.exists(owner_path):
        owner = _json_object(owner_path) or {}
        mine = owner_of(args, directory)
        if owner.get("run") != mine["run"] or owner.get("flags_sha256") != mine["flags_sha256"]:
            raise UsageError(
                f"{where} {backup} holds the checkpoints of another run ({owner.get('run')!r}, "
                f"per {owner_path}); a run never resumes from or deletes another run's "
                "checkpoints: point it at an empty folder"
            )
    elif not resuming and any(n.startswith("ckpt-") for n in tf.io.gfile.listdir(backup)):
        raise UsageError(
            f"{where} {backup} holds checkpoints of an unknown run (no {OWNER}); a new run never "
            "resumes from or deletes them: point it at an empty folder"
        )


def owner_of(args, directory):
    """What a backup folder's owner.json records: the run folder and a digest of its flags."""
    run = directory if directory is None or "://" in directory else os.path.realpath(directory)
    flags = {k: v for k, v in _comparable(args).items() if k not in _NOT_COMPARED}
    digest = hashlib.sha256(json.dumps(flags, sort_keys=True).encode()).hexdigest()
    return {"run": run, "flags_sha256": digest}


def _comparable(args):
    """The flags as config.json records them (JSON types)."""
    return json.loads(json.dumps(dict(vars(args)), default=files.jsonable))


def _json_object(path):
    """The JSON object in `path`, or `None` if it cannot be read as one."""
    try:
        value = files.read_json(path)
    except (OSError, ValueError, tf.errors.OpError):
        return None
    return value if isinstance(value, dict) else None


def fresh_folder(parent):
    """Creates and returns `parent/<time>`, or `<time>-2`, ... if a run started the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    os.makedirs(parent, exist_ok=True)
    for n in range(1, 1000):
        directory = os.path.join(parent, stamp if n == 1 else f"{stamp}-{n}")
        try:
            os.mkdir(directory)  # atomic: two runs never share a folder
            return directory
        except FileExistsError:
            continue
    raise UsageError(f"Cannot create a fresh run folder under {parent}")
