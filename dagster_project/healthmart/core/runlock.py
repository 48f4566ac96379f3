"""One run at a time per warehouse: the run lock `<warehouse_path>.lock`.

`healthmart run` holds an exclusive `flock` on the lock file for the whole run and writes its
PID into it. A second run on the same warehouse waits up to HEALTHMART_RUN_LOCK_TIMEOUT
seconds (default 0: it stops at once) for the lock, then stops with a message naming the lock
file and the PID holding it; it never touches the warehouse or the serving file meanwhile.

The operating system releases the lock when the holding process ends, however it ends (a
crash or `kill -9` leaves no stale lock). The file itself stays: deleting it would let a
waiting run and a new run lock two different files. The descriptor is not inherited by
child processes (dbt), so a lock never outlives its run.

The lock is re-entrant within a process: `healthmart run` holds it around the whole command
(sample exports, the job) and the job's `run_lock` resource, which takes it for the runs the
schedule, the sensor or the UI start, finds it held by its own process.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

ENV_RUN_LOCK_TIMEOUT = "HEALTHMART_RUN_LOCK_TIMEOUT"
_POLL_SECONDS = 0.2
# lock file -> how many blocks of this process hold it
_held: dict[Path, int] = {}


class RunLockBusy(RuntimeError):
    """Another run holds the run lock and did not release it within the timeout."""

    def __init__(self, lock_file: Path, holder_pid: int | None, timeout: float) -> None:
        self.lock_file = lock_file
        self.holder_pid = holder_pid
        self.timeout = timeout
        holder = f"PID {holder_pid}" if holder_pid is not None else "a process (PID not known)"
        waited = f"waited {timeout:g} s" if timeout > 0 else "did not wait"
        super().__init__(
            f"Another healthmart run is in progress: {holder} holds the run lock {lock_file} "
            f"({waited}; set {ENV_RUN_LOCK_TIMEOUT} to the seconds to wait). "
            "Nothing was changed."
        )


def lock_file_for(warehouse_path: Path) -> Path:
    """The run lock of a warehouse: `<warehouse_path>.lock`, beside it."""
    return warehouse_path.with_name(warehouse_path.name + ".lock")


def lock_timeout(environ: Mapping[str, str] | None = None) -> float:
    """Seconds to wait for the run lock: HEALTHMART_RUN_LOCK_TIMEOUT, default 0."""
    env = os.environ if environ is None else environ
    raw = (env.get(ENV_RUN_LOCK_TIMEOUT) or "0").strip()
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also rejects nan
        raise ValueError(f"{ENV_RUN_LOCK_TIMEOUT} must be a number of seconds >= 0, got {raw!r}")
    return seconds


@contextmanager
def run_lock(warehouse_path: Path, timeout: float = 0.0) -> Iterator[Path]:
    """Hold the run lock of warehouse_path while the block runs; raise RunLockBusy when
    another process holds it for longer than timeout seconds."""
    lock_file = lock_file_for(warehouse_path)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    key = lock_file.resolve()
    if _held.get(key):
        _held[key] += 1
        try:
            yield lock_file
        finally:
            _held[key] -= 1
        return
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RunLockBusy(lock_file, holder_pid(lock_file), timeout) from None
                time.sleep(min(_POLL_SECONDS, remaining))
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = 1
        try:
            yield lock_file
        finally:
            _held.pop(key, None)
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def holder_pid(lock_file: Path) -> int | None:
    """The PID written in a lock file by the run holding it; None when empty or unreadable."""
    try:
        text = lock_file.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
