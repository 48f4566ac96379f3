"""Run one command as its own process and measure it: wall clock and peak RSS of its tree.

The peak RSS is the largest sum of the resident memory of the process and all of its
descendants (dbt runs as a child of Dagster), sampled from /proc every `interval` seconds;
without /proc it falls back to the largest single process (getrusage of the children).
A command that runs longer than `timeout` seconds or whose tree grows beyond `max_rss_bytes`
is stopped (its whole process group), and the measurement says why.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass
class Measurement:
    command: list[str]
    seconds: float
    peak_rss_bytes: int
    returncode: int
    stopped: str | None = None  # why the harness stopped it (timeout / memory), else None
    log: str | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.stopped is None

    def as_dict(self) -> dict:
        out = asdict(self)
        out["peak_rss_mb"] = round(self.peak_rss_bytes / 2**20, 1)
        out["seconds"] = round(self.seconds, 2)
        return out


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name (field 2) may hold spaces and parentheses: split after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all of its descendants."""
    children = _children_map()
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += _rss_bytes(pid)
        stack.extend(children.get(pid, []))
    return total


def run_measured(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    log_path: Path | None = None,
    timeout: float | None = None,
    max_rss_bytes: int | None = None,
    interval: float = 0.1,
) -> Measurement:
    """Run `command` to completion (or until stopped); output goes to `log_path`."""
    log_path = Path(log_path) if log_path else None
    if log_path:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    out = open(log_path, "w") if log_path else subprocess.DEVNULL  # noqa: SIM115
    use_proc = PROC.joinpath("self", "status").exists()
    peak, stopped = 0, None
    started = time.perf_counter()
    proc = subprocess.Popen(
        list(command),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops its children
    )
    try:
        while proc.poll() is None:
            if use_proc:
                peak = max(peak, tree_rss_bytes(proc.pid))
            elapsed = time.perf_counter() - started
            if timeout is not None and elapsed > timeout:
                stopped = f"timeout after {timeout:.0f} s"
            elif max_rss_bytes is not None and peak > max_rss_bytes:
                stopped = f"memory over {max_rss_bytes / 2**30:.1f} GiB after {elapsed:.0f} s"
            if stopped:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(interval)
        seconds = time.perf_counter() - started
    finally:
        if log_path:
            out.close()
    if not use_proc:
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return Measurement(
        command=list(command),
        seconds=seconds,
        peak_rss_bytes=peak,
        returncode=proc.returncode,
        stopped=stopped,
        log=str(log_path) if log_path else None,
    )
