"""The credentials agent: one small process per open role incident that keeps the incident's
credentials in memory and hands them to later `role assume` runs of the same requester and role
(an aws CLI profile's credential_process, a shell, an SDK), so one emergency is one incident and
one AssumeRole, not one per command.

In the spirit of ssh-agent: the agent listens on a Unix socket in the user's runtime directory
(`$XDG_RUNTIME_DIR/breakglass`, else `/tmp/breakglass-UID`; the directory 0700, the socket
0600, and a peer of another uid is refused), is not dumpable, gets the credentials through a
pipe (never argv, the environment or a file), and exits when they expire or when told to stop
(`close` does). This module uses the standard library only: the agent starts in a few
milliseconds and never imports an AWS SDK."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "AgentUnavailable",
    "agent_dir",
    "ask",
    "held",
    "running",
    "socket_for",
    "start",
    "stop_incident",
]

DIR_MODE = 0o700
SOCKET_MODE = 0o600
_ANSWER_LIMIT = 64 * 1024
_TIMEOUT = 2.0


class AgentUnavailable(Exception):
    """No agent can be used here (an unsafe or unusable runtime directory, a failed start)."""


def agent_dir(environ: Mapping[str, str] | None = None, create: bool = True) -> Path:
    """The per-user directory of the agents' sockets: created 0700; refused if anyone else could
    enter it (a symlink, another owner, group or world permissions)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_RUNTIME_DIR", "")
    path = Path(base) / "breakglass" if base and Path(base).is_absolute() else _fallback()
    if create:
        try:
            path.mkdir(mode=DIR_MODE, parents=False)
        except FileExistsError:
            pass
        except OSError as err:
            raise AgentUnavailable(f"{path} cannot be made: {err.strerror}") from err
    try:
        info = path.lstat()
    except FileNotFoundError as err:
        raise AgentUnavailable(f"{path} does not exist") from err
    except OSError as err:
        raise AgentUnavailable(f"{path}: {err.strerror}") from err
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise AgentUnavailable(f"{path} is not a private directory of this user (mode 0700, owned by you)")
    return path


def _fallback() -> Path:
    return Path(tempfile.gettempdir()) / f"breakglass-{os.getuid()}"


def socket_for(folder: Path, role_arn: str, identity: str) -> Path:
    """One socket per (role, requester's credentials): nothing is shared across either."""
    digest = hashlib.sha256(f"{role_arn}\0{identity}".encode()).hexdigest()[:24]
    return folder / f"{digest}.sock"


@contextlib.contextmanager
def held(path: Path) -> Iterator[None]:
    """An exclusive lock next to the socket: consumers starting together wait for the first to
    open the incident and start its agent, then use it."""
    fd = os.open(path.with_suffix(".lock"), os.O_RDWR | os.O_CREAT, SOCKET_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def ask(path: Path, request: dict[str, Any]) -> dict[str, Any] | None:
    """One request to the agent at `path`; None if none answers (a dead agent's socket is removed)."""
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(_TIMEOUT)
    try:
        client.connect(str(path))
        client.sendall(json.dumps(request).encode() + b"\n")
        client.shutdown(socket.SHUT_WR)
        data = _read_all(client)
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(OSError):
            if path.exists() and stat.S_ISSOCK(path.lstat().st_mode):
                path.unlink()  # nobody listens: an agent killed without cleaning up
        return None
    except OSError:
        return None
    finally:
        client.close()
    try:
        answer = json.loads(data)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _read_all(conn: socket.socket) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < _ANSWER_LIMIT:
        chunk = conn.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def running(folder: Path) -> list[dict[str, Any]]:
    """What every live agent in `folder` serves (without the secrets)."""
    found = []
    for path in sorted(folder.glob("*.sock")):
        answer = ask(path, {"op": "describe"})
        if answer is not None:
            found.append({**answer, "socket": str(path)})
    return found


def stop_incident(incident_id: str, environ: Mapping[str, str] | None = None) -> int:
    """Stop every agent of this user serving `incident_id`; how many were stopped."""
    try:
        folder = agent_dir(environ, create=False)
    except AgentUnavailable:
        return 0
    stopped = 0
    for path in sorted(folder.glob("*.sock")):
        answer = ask(path, {"op": "stop", "incident_id": incident_id})
        stopped += bool(answer and answer.get("stopped"))
    return stopped


def start(path: Path, served: dict[str, Any], timeout: float = 10.0) -> int:
    """Start an agent serving `served` (credentials included) at `path`; its pid. The secrets
    go through a pipe; the agent runs in its own session with no terminal, no inherited file
    descriptors, no AWS variables, and outlives this process."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "TMPDIR")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "breakglass_aws.role.agent", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
        cwd="/",
        env=env,
    )
    stdin, stdout = proc.stdin, proc.stdout
    if stdin is None or stdout is None:  # pragma: no cover - PIPE was asked for
        raise AgentUnavailable("the agent's pipes were not opened")
    try:
        stdin.write(json.dumps(served).encode())
        stdin.close()
        ready, _, _ = select.select([stdout], [], [], timeout)
        line = stdout.readline().decode().strip() if ready else ""
    except OSError as err:
        line = f"error: {err.strerror}"
    finally:
        stdout.close()
    if line != "ready":
        proc.kill()
        proc.wait()
        raise AgentUnavailable(f"the agent did not start ({line or 'no answer'})")
    return proc.pid


# --- the agent process -------------------------------------------------------------------------


def _not_dumpable() -> None:
    """No core dump and no ptrace by other processes of the user (Linux); best effort elsewhere."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def _peer_is_me(conn: socket.socket) -> bool:
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:  # the 0700 directory and the 0600 socket still keep others out
        return True
    data = conn.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _, uid, _ = struct.unpack("3i", data)
    return bool(uid == os.getuid())


def _bind(path: Path) -> tuple[socket.socket, int]:
    """Bind at a fresh name, then rename over `path`: a consumer never finds a half-made socket,
    and an agent it replaces keeps its own file out of the way."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    fresh = path.with_name(f".{path.stem}.{os.getpid()}.sock")
    old = os.umask(0o177)
    try:
        server.bind(str(fresh))
    finally:
        os.umask(old)
    os.chmod(fresh, SOCKET_MODE)
    server.listen(16)
    inode = fresh.stat().st_ino
    os.replace(fresh, path)
    return server, inode


def _answer(request: dict[str, Any], served: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    public = {k: v for k, v in served.items() if k != "credentials"}
    public["pid"] = os.getpid()
    op = request.get("op")
    if op == "get":
        return {**public, "credentials": served["credentials"]}, False
    if op == "describe":
        return public, False
    if op == "stop" and request.get("incident_id") in (None, served.get("incident_id")):
        return {"stopped": True, **public}, True
    return {"stopped": False}, False


def serve(path: Path, served: dict[str, Any], until: float, ready: Any) -> None:
    server, inode = _bind(path)
    ready.write("ready\n")
    ready.flush()
    try:
        while (left := until - time.time()) > 0:
            readable, _, _ = select.select([server], [], [], min(left, 30.0))
            if not readable:
                continue
            conn, _ = server.accept()
            with conn:
                conn.settimeout(_TIMEOUT)
                if not _peer_is_me(conn):
                    continue
                try:
                    request = json.loads(_read_all(conn) or b"{}")
                except (OSError, ValueError):
                    continue
                answer, stop = _answer(request if isinstance(request, dict) else {}, served)
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(answer).encode())
                if stop:
                    return
    finally:
        server.close()
        with contextlib.suppress(OSError):
            if path.stat().st_ino == inode:  # still ours, not a newer agent's
                path.unlink()


def main(argv: list[str]) -> int:
    _not_dumpable()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    served = json.loads(sys.stdin.read())
    sys.stdin.close()
    until = float(served["expires_epoch"])
    serve(Path(argv[0]), served, until, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
