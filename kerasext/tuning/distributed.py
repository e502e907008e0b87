"""Keras Tuner's distributed mode on one machine: the chief's oracle server and its worker processes.

Keras Tuner reads `KERASTUNER_TUNER_ID` (`chief`, or `tuner0`, `tuner1`, ...),
`KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`: the chief serves its oracle over gRPC
and workers ask it for trials and report results. What this adds, against upstream stalls:

- `serve` runs the chief's server as `oracle_chief.start_server` does, but checks every
  half second (upstream sleeps 20 s between checks), writes the results as trials end,
  stops at a deadline, and stops its server. Upstream's chief also never returns when a
  worker dies for good: the worker's trial stays "ongoing" and its id "active"
  (keras-tuner #915; #254 was the chief not exiting at all).
- `Workers` starts the worker processes, each logging to `<sweep>/workers/<id>.log`, and
  restarts one that dies (killed, or a gRPC error as in #915) with the same tuner id, so
  its unfinished trial counts as an infrastructure failure and runs again, resumed from its
  checkpoint, by the next worker to ask (`failures.fail_running`; a trial that failed by
  itself is never retried): no trial is lost or run by two processes. After `max_restarts`
  it gives up and the sweep stops with an error; the same command resumes.
- A worker that `Workers` started exits when its chief dies (`exit_with_chief`): upstream's
  waits up to its RPC timeout, so a rerun's worker would train the same trial beside it.
- A sweep in which every trial failed stops with a `SweepError` (exit code 1), not 0.
"""

import os
import socket
import subprocess
import sys
import threading
import time
from concurrent import futures

ID, IP, PORT = "KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"
CHIEF_PID = "KERASEXT_SWEEP_CHIEF_PID"  # set by `Workers`: the process whose death ends a worker
HOST = "127.0.0.1"


class SweepError(RuntimeError):
    """A sweep that cannot finish (a worker that keeps dying, a deadline): exit code 1."""


def free_port(host=HOST):
    """A TCP port free on `host` now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def role():
    """`"chief"`, `"worker"`, or `None` outside Keras Tuner's distributed mode."""
    if IP not in os.environ:
        return None
    missing = [v for v in (ID, PORT) if not os.environ.get(v)]
    if missing:
        raise ValueError(f"{IP} is set, so {' and '.join(missing)} must be too. Received: {IP}={os.environ[IP]}")
    return "chief" if "chief" in os.environ[ID] else "worker"


def set_rpc_timeout(seconds):
    """Sets how long a worker's gRPC call waits for the chief (upstream: 1 hour, keras-tuner #990)."""
    from keras_tuner.src.distribute import oracle_client

    oracle_client.TIMEOUT = seconds


def serve(tuner, on_change=None, workers=None, timeout=None, poll=0.5):
    """Runs the chief: serves `tuner`'s oracle until every worker has been told to stop.

    Args:
        tuner: the chief's tuner (built with `KERASTUNER_TUNER_ID=chief`).
        on_change: called when a trial ends: writes the results.
        workers: the `Workers` this process started, checked and restarted (the trial of
            one that died runs again while it has retries left); `None` for workers
            started elsewhere.
        timeout: seconds until the sweep stops with a `SweepError`; `None` waits for ever.
        poll: seconds between checks. Defaults to `0.5`.

    Raises:
        SweepError: at the deadline, when a worker died more than `max_restarts` times,
            when Keras Tuner stops after too many failed trials in a row, or when every
            trial failed.
    """
    import grpc
    from keras_tuner.src import protos
    from keras_tuner.src.distribute import oracle_chief

    from kerasext.tuning import failures  # here: this module stays light for the workers' watch

    oracle = tuner.oracle
    tuner.save()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=1))
    servicer = oracle_chief.OracleServicer(oracle)
    protos.get_service_grpc().add_OracleServicer_to_server(servicer, server)
    address = f"{os.environ[IP]}:{os.environ[PORT]}"
    if not server.add_insecure_port(address):
        raise SweepError(f"the chief cannot listen on {address}")
    server.start()
    deadline = time.time() + timeout if timeout else None
    ended = None
    try:
        while not (servicer.stop_triggered and oracle_chief.exit_chief(oracle)):
            time.sleep(poll)
            if on_change is not None and len(oracle.end_order) != ended:
                ended = len(oracle.end_order)
                on_change()
            if workers is not None:
                workers.check(lambda tuner_id, code: failures.fail_running(
                    oracle, tuner_id, f"worker {tuner_id} {failures.describe_exit(code)}"))
            if deadline and time.time() > deadline:
                raise SweepError(
                    f"the sweep ran past --timeout {timeout:g} s; ongoing trials: "
                    f"{', '.join(t.trial_id for t in oracle.ongoing_trials.values()) or 'none'}")
    finally:
        server.stop(grace=2).wait()
    check_some_trial_completed(oracle)


def check_some_trial_completed(oracle):
    """Raises a `SweepError` when the sweep ran trials and every one of them failed."""
    from kerasext.tuning.failures import reason

    trials = sorted(dict(oracle.trials).values(), key=lambda t: int(t.trial_id))
    if trials and not any(t.status == "COMPLETED" for t in trials):
        messages = [reason(t.message) for t in trials if (t.message or "").strip()]
        raise SweepError(f"every trial failed ({len(trials)}); the last: {messages[-1] if messages else '?'}")


def exit_with_chief(pid, poll=1.0):
    """Ends this process (exit code 3) once the process `pid`, its parent, is gone.

    A worker started by `Workers` calls it: a chief that is killed then leaves no worker
    training, so a rerun of the sweep never has two processes on one trial.
    """

    def watch():
        while os.getppid() == pid:
            time.sleep(poll)
        _say(f"the sweep's chief (pid {pid}) is gone: this worker stops")
        os._exit(3)

    threading.Thread(target=watch, name="kerasext-chief-watch", daemon=True).start()


class Workers:
    """Worker processes of a sweep on this machine, restarted when they die.

    Args:
        command: the worker's command line (`[python, sweep.py, ...flags]`).
        count: how many workers (`tuner0` ... `tuner<count-1>`).
        port: the chief's port.
        log_dir: where `<tuner id>.log` goes (stdout and stderr of each worker).
        max_restarts: restarts allowed per worker. Defaults to `2`.
    """

    def __init__(self, command, count, port, log_dir, max_restarts=2):
        self.command = list(command)
        self.port = port
        self.log_dir = log_dir
        self.max_restarts = max_restarts
        self.restarts = {f"tuner{i}": 0 for i in range(count)}
        self.processes = {}
        os.makedirs(log_dir, exist_ok=True)
        for tuner_id in self.restarts:
            self._start(tuner_id)

    def _start(self, tuner_id):
        env = {**os.environ, ID: tuner_id, IP: HOST, PORT: str(self.port), CHIEF_PID: str(os.getpid())}
        with open(os.path.join(self.log_dir, f"{tuner_id}.log"), "a") as log:
            self.processes[tuner_id] = subprocess.Popen(
                self.command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _say(f"started worker {tuner_id} (pid {self.processes[tuner_id].pid})")

    def check(self, on_exit=None):
        """Restarts workers that died.

        Args:
            on_exit: `None`, or called as `on_exit(tuner_id, exit_code)` for a worker that
                died, before it is restarted (the sweep fails its trial there).

        Raises:
            SweepError: for a worker out of restarts.
            UsageError: for a worker that exited with code 2 (bad input), with its last log line.
        """
        for tuner_id, process in self.processes.items():
            code = process.poll()
            if code in (None, 0):
                continue
            log = os.path.join(self.log_dir, f"{tuner_id}.log")
            if code == 2:  # bad input (an objective no run writes, ...): the sweep's exit code too
                from kerasext.runner.errors import UsageError  # here: this module stays light

                raise UsageError(f"worker {tuner_id} refused its input: {_last_line(log)}")
            if on_exit is not None:
                on_exit(tuner_id, code)
            if self.restarts[tuner_id] >= self.max_restarts:
                raise SweepError(
                    f"worker {tuner_id} died {self.restarts[tuner_id] + 1} times (last exit code "
                    f"{code}: {_last_line(log)}); rerun the same command to resume the sweep")
            self.restarts[tuner_id] += 1
            _say(f"worker {tuner_id} exited with code {code}; restarting it "
                 f"({self.restarts[tuner_id]} of {self.max_restarts})")
            self._start(tuner_id)

    def stop(self, grace=10):
        """Ends the workers still running: SIGTERM, then SIGKILL after `grace` seconds."""
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _say(text):
    print(f"kerasext: {text}", file=sys.stderr, flush=True)


def _last_line(path):
    try:
        with open(path, errors="replace") as file:
            lines = [line.strip() for line in file if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "no output"
