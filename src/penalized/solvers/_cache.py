"""The files next to the ahead-of-time module in the cache directory, and how they heal.

For the module ``<name><EXT_SUFFIX>`` (see :mod:`._loader`) the cache holds:

- ``<name>.sha256``: ``"<sha256 hex> <size in bytes>"`` of the module as it was built, written
  (atomically, by rename) *before* the module is renamed into place. A module is dlopened only
  when its bytes match this record: a truncated, overwritten or empty file (a full disk, a
  killed copy, a bad sync) would crash the process (SIGBUS, SIGILL) or make it fall back to the
  JIT forever. A module that fails the check is removed (unless a build is under way) and
  rebuilt; meanwhile the kernels run under numba's JIT.
- ``<name>.lock``: held by the one process that builds, ``"<host> <pid> <start>"`` (``start``: the
  process's start time, where the OS gives it, so that a reused pid is not mistaken for the
  owner). A lock whose owner is gone (same host, process dead or a zombie) is stale and taken
  over at once; a lock written on another host (a shared home directory) expires after
  :data:`FOREIGN_LOCK_S`.
- ``<name>.failed``: why the last build failed. It stops *background* builds for
  :data:`FAILED_RETRY_S` (one failed attempt per day, not one per process), never
  ``penalized warmup``, which always retries; :func:`penalized.solvers._loader.describe`
  reports it with the command to retry. The name carries the build key (kernel source,
  versions, CPU), so a new version of penalized retries too.
- ``<name>.log``: the background build's output.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
from pathlib import Path

FOREIGN_LOCK_S = 3600.0  # a lock from another host: its process cannot be checked
UNWRITTEN_LOCK_S = 60.0  # a lock file still empty this long: its writer died between create and write
FAILED_RETRY_S = 24 * 3600.0  # a failed build is retried in the background after this long
RETRY_COMMAND = "penalized warmup"


def sidecar(module_path, suffix):
    """``<cache>/<name><suffix>`` for module ``<cache>/<name><EXT_SUFFIX>``."""
    module_path = Path(module_path)
    return module_path.with_name(module_path.name.split(".", 1)[0] + suffix)


# -------------------------------------------------------------------------- checksum
def digest(path):
    """``(sha256 hex, size)`` of the file at ``path``."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def record_checksum(built, module_path):
    """Write the checksum of ``built`` (the module before its rename) for ``module_path``."""
    hexdigest, size = digest(built)
    target = sidecar(module_path, ".sha256")
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{hexdigest} {size}\n")
    os.replace(tmp, target)


def verify(module_path):
    """``None`` if the module at ``module_path`` matches its recorded checksum, else why not."""
    record = sidecar(module_path, ".sha256")
    try:
        expected_hex, expected_size = record.read_text().split()
        expected_size = int(expected_size)
    except FileNotFoundError:
        return "no checksum recorded"
    except (OSError, ValueError):
        return "its checksum record is unreadable"
    try:
        size = Path(module_path).stat().st_size
        if size != expected_size:
            return f"{size} bytes, {expected_size} expected"
        if digest(module_path)[0] != expected_hex:
            return "its bytes differ from the build's (sha256)"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    return None


def discard(module_path):
    """Remove a module that failed its check, with its checksum (best effort)."""
    for path in (Path(module_path), sidecar(module_path, ".sha256")):
        try:
            path.unlink()
        except OSError:
            pass


# ------------------------------------------------------------------------------ lock
def _start_time(pid):
    """The process's start time in clock ticks since boot (Linux), else ``"-"``."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return fields[19]  # field 22 of stat(5); fields[0] is field 3 (the state)
    except (OSError, IndexError):
        return "-"


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def owner_line():
    """What a lock holder writes into the lock: host, pid and start time."""
    pid = os.getpid()
    return f"{socket.gethostname()} {pid} {_start_time(pid)}"


def alive(pid, start="-"):
    """Is process ``pid`` (started at ``start``, if known) still running on this host?"""
    if pid <= 0:
        return False
    if os.name != "posix":  # os.kill would terminate it on Windows: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    if _state(pid) in ("Z", "X"):  # a killed build its parent has not reaped
        return False
    return start == "-" or _start_time(pid) in ("-", start)  # else the pid was reused


def holder(lock):
    """``(host, pid, start)`` written in ``lock``, or None if unreadable or not written yet."""
    try:
        parts = Path(lock).read_text().split()
    except OSError:
        return None
    if len(parts) == 1 and parts[0].isdigit():  # an older penalized wrote the pid alone
        parts = [socket.gethostname(), parts[0], "-"]
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1]), parts[2]


def stale(lock):
    """Whether ``lock`` no longer guards a build (its owner is gone); False if it does not exist."""
    try:
        age = time.time() - Path(lock).stat().st_mtime
    except OSError:
        return False
    owner = holder(lock)
    if owner is None:
        return age > UNWRITTEN_LOCK_S
    host, pid, start = owner
    if host != socket.gethostname():
        return age > FOREIGN_LOCK_S
    return not alive(pid, start)


def held(lock):
    """Is a build under way (``lock`` exists and is not stale)?"""
    return Path(lock).exists() and not stale(lock)


def acquire(lock):
    """Take ``lock`` (creating it exclusively), taking over a stale one; False if a build holds it."""
    lock = Path(lock)
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            if not stale(lock):
                return False
            try:
                lock.unlink()  # its owner is gone
            except FileNotFoundError:
                pass
            continue
        try:
            os.write(fd, owner_line().encode())
        finally:
            os.close(fd)
        return True
    return False


def release(lock):
    """Remove ``lock`` if this process holds it."""
    owner = holder(lock)
    if owner is not None and owner[1] == os.getpid() and owner[0] == socket.gethostname():
        Path(lock).unlink(missing_ok=True)


# ------------------------------------------------------------------------ failures
def record_failure(module_path, message):
    sidecar(module_path, ".failed").write_text(message.strip() + "\n")


def clear_failure(module_path):
    sidecar(module_path, ".failed").unlink(missing_ok=True)


def failure(module_path):
    """``(message, age in s)`` of the last failed build, or None."""
    marker = sidecar(module_path, ".failed")
    try:
        return marker.read_text().strip() or "unknown error", time.time() - marker.stat().st_mtime
    except OSError:
        return None


def failure_blocks_background(module_path):
    """Did a build fail less than :data:`FAILED_RETRY_S` ago (no background retry yet)?"""
    found = failure(module_path)
    return found is not None and found[1] < FAILED_RETRY_S


def failure_note(module_path):
    """One sentence on the last failed build and how to retry it, or ''."""
    found = failure(module_path)
    if found is None:
        return ""
    message = found[0].splitlines()[-1][:300]
    log = sidecar(module_path, ".log")
    where = f"; log: {log}" if log.exists() else ""
    return (f"the ahead-of-time build failed ({message}{where}); the kernels run under numba's JIT. "
            f"Retry with: {RETRY_COMMAND}")
