"""Polling the room: every host at once over asyncssh, one bounded round at a time.

Each host keeps one SSH connection across rounds (a round then costs one
channel, not a key exchange). Every host's work sits under its own timeout and
every failure (unreachable, refused key, slow, garbage) becomes that host's
error text, so a round always completes with one row per host. `doctor` is
slower and changes rarely: it runs in the background every DOCTOR_EVERY_S and
its latest verdict rides along on the rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

import asyncssh

from xdp_tui.room.inventory import RoomHost
from xdp_tui.room.model import (
    HostReport,
    Learner,
    LearnerDetail,
    MalformedOutput,
    RoomRound,
    StuckRule,
    parse_detail,
    parse_doctor,
    parse_progress,
)

# One host's answer larger than this is refused, not buffered (bad input stays bounded).
OUTPUT_LIMIT = 4 * 1024 * 1024
DOCTOR_EVERY_S = 300.0
DOCTOR_TIMEOUT_S = 30.0
_NO_ANSWER = "no answer within"
# Failures that mean the host was not reached at all (a reconnect included).
_CONNECT_FAILURES = (
    OSError,
    asyncssh.PermissionDenied,
    asyncssh.HostKeyNotVerifiable,
    asyncssh.ConnectionLost,
)


class HostError(Exception):
    """One host's failure, already worded for its row."""


@dataclass
class _Doctor:
    ok: bool | None = None
    failures: tuple[str, ...] = ()
    asked_at: float = 0.0
    task: asyncio.Task[None] | None = None


class RoomPoller:
    """Reach all HOSTS; `poll()` returns one RoomRound, `run()` repeats it without overlap."""

    def __init__(
        self,
        hosts: list[RoomHost],
        *,
        timeout_s: float = 3.0,
        rule: StuckRule | None = None,
        doctor: bool = True,
    ) -> None:
        self.hosts = hosts
        self.timeout_s = timeout_s
        self.rule = rule or StuckRule()
        self.doctor = doctor
        self._connections: dict[str, asyncssh.SSHClientConnection] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._doctors: dict[str, _Doctor] = {host.name: _Doctor() for host in hosts}

    # ---- rounds -------------------------------------------------------------

    async def poll(self) -> RoomRound:
        started = time.time()
        clock = time.monotonic()
        reports = await asyncio.gather(*(self._poll_host(host) for host in self.hosts))
        return RoomRound(time=started, duration_s=time.monotonic() - clock, hosts=tuple(reports))

    async def run(
        self, interval_s: float, on_round: Callable[[RoomRound], Awaitable[None] | None]
    ) -> None:
        """Poll every INTERVAL_S until cancelled; a slow round delays the next, never overlaps it."""
        while True:
            clock = time.monotonic()
            outcome = on_round(await self.poll())
            if outcome is not None:
                await outcome
            await asyncio.sleep(max(0.0, interval_s - (time.monotonic() - clock)))

    async def wait_for_doctors(self, timeout_s: float = DOCTOR_TIMEOUT_S) -> None:
        """Let the background doctor runs finish, up to TIMEOUT_S (for one-shot use)."""
        tasks = [d.task for d in self._doctors.values() if d.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)

    def with_doctors(self, room: RoomRound) -> RoomRound:
        """ROOM with each host's latest doctor verdict (after wait_for_doctors)."""
        hosts = tuple(
            replace(
                h,
                doctor_ok=self._doctors[h.host].ok,
                doctor_failures=self._doctors[h.host].failures,
            )
            for h in room.hosts
        )
        return replace(room, hosts=hosts)

    async def close(self) -> None:
        for doctor in self._doctors.values():
            if doctor.task is not None:
                doctor.task.cancel()
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            connection.close()
        if connections:
            await asyncio.wait(
                [asyncio.create_task(c.wait_closed()) for c in connections], timeout=1.0
            )

    async def _poll_host(self, host: RoomHost) -> HostReport:
        clock = time.monotonic()
        reachable, error, hostname = False, None, None
        learners: list[Learner] = []
        try:
            async with asyncio.timeout(self.timeout_s):
                connection = await self._connect(host)
                reachable = True
                command = host.remote("progress", "--all-users", "--json")
                output = await self._exec(host, connection, command)
            hostname, learners = parse_progress(output, time.time(), self.rule)
        except MalformedOutput as exc:
            error = f"malformed output: {exc}"
        except Exception as exc:  # noqa: BLE001 - any failure is this host's row, never the round's
            error = describe(exc, host, self.timeout_s)
            lost = isinstance(exc, _CONNECT_FAILURES) and not isinstance(exc, TimeoutError)
            reachable = reachable and not lost
            self._forget(host)
        doctor = self._doctors[host.name]
        # A host too slow for `progress` would only pile doctor runs up.
        timed_out = error is not None and error.startswith(_NO_ANSWER)
        if reachable and self.doctor and not timed_out:
            self._maybe_start_doctor(host, doctor)
        return HostReport(
            host=host.name,
            reachable=reachable,
            error=error,
            doctor_ok=doctor.ok,
            doctor_failures=doctor.failures,
            hostname=hostname,
            learners=tuple(learners),
            elapsed_s=time.monotonic() - clock,
        )

    # ---- doctor, in the background ------------------------------------------

    def _maybe_start_doctor(self, host: RoomHost, doctor: _Doctor) -> None:
        due = time.monotonic() - doctor.asked_at >= DOCTOR_EVERY_S or doctor.ok is None
        if doctor.task is None and due:
            doctor.asked_at = time.monotonic()
            doctor.task = asyncio.create_task(self._run_doctor(host, doctor))

    async def _run_doctor(self, host: RoomHost, doctor: _Doctor) -> None:
        try:
            async with asyncio.timeout(DOCTOR_TIMEOUT_S):
                connection = await self._connect(host)
                # doctor exits 1 when a check fails; its JSON says which.
                command = host.remote("doctor", "--json")
                output = await self._exec(host, connection, command, ok_codes=(0, 1))
            doctor.ok, doctor.failures = parse_doctor(output)
        except MalformedOutput as exc:
            doctor.ok, doctor.failures = False, (f"doctor output: {exc}",)
        except Exception as exc:  # noqa: BLE001 - shown on the row; the next round retries
            doctor.ok, doctor.failures = False, (describe(exc, host, DOCTOR_TIMEOUT_S),)
        finally:
            doctor.task = None

    # ---- one learner, on demand -----------------------------------------------

    async def detail(self, host_name: str, user: str) -> LearnerDetail:
        """USER's last check in full and their current lesson's diff against the solution."""
        host = next(h for h in self.hosts if h.name == host_name)
        try:
            async with asyncio.timeout(max(self.timeout_s, 10.0)):
                connection = await self._connect(host)
                command = host.remote("progress", "--all-users", "--user", user, "--diff", "--json")
                return parse_detail(host.name, user, await self._exec(host, connection, command))
        except Exception as exc:  # noqa: BLE001 - shown in the detail pane
            return LearnerDetail(host.name, user, None, None, "", error=describe(exc, host, 10.0))

    # ---- connections ------------------------------------------------------------

    async def _connect(self, host: RoomHost) -> asyncssh.SSHClientConnection:
        # One connection per host even when a round and a doctor run ask at once.
        async with self._locks.setdefault(host.name, asyncio.Lock()):
            connection = self._connections.get(host.name)
            if connection is not None and not connection.is_closed():
                return connection
            connection = await self._open(host)
            self._connections[host.name] = connection
            return connection

    async def _open(self, host: RoomHost) -> asyncssh.SSHClientConnection:
        options: dict[str, Any] = {}
        if host.port is not None:
            options["port"] = host.port
        if host.user is not None:
            options["username"] = host.user
        if host.key_file is not None:
            options["client_keys"] = [host.key_file]
        # The instructor's ~/.ssh/config, known_hosts, keys and agent, as ssh would use them.
        return await asyncssh.connect(host.address, **options)

    async def _exec(
        self,
        host: RoomHost,
        connection: asyncssh.SSHClientConnection,
        command: str,
        ok_codes: tuple[int, ...] = (0,),
    ) -> str:
        """_run over CONNECTION; if that kept connection has died since (host
        rebooted, sshd restarted), once more over a fresh one."""
        try:
            return await _run(connection, command, ok_codes)
        except (asyncssh.ChannelOpenError, asyncssh.ConnectionLost, BrokenPipeError):
            self._forget(host)
            return await _run(await self._connect(host), command, ok_codes)

    def _forget(self, host: RoomHost) -> None:
        connection = self._connections.pop(host.name, None)
        if connection is not None:
            connection.abort()


async def _run(
    connection: asyncssh.SSHClientConnection, command: str, ok_codes: tuple[int, ...] = (0,)
) -> str:
    """COMMAND's stdout, at most OUTPUT_LIMIT bytes; HostError on a failed exit."""
    process = await connection.create_process(command, encoding=None)
    try:
        chunks: list[bytes] = []
        size = 0
        while chunk := await process.stdout.read(65536):
            size += len(chunk)
            if size > OUTPUT_LIMIT:
                raise HostError(f"output larger than {OUTPUT_LIMIT // 1024 // 1024} MiB")
            chunks.append(chunk)
        error = await process.stderr.read(4096)
        result = await process.wait()
    finally:
        # Closing without waiting: a timed-out command must not hold the round
        # until it ends on its own (the channel's context manager would wait).
        process.close()
    if result.exit_status not in ok_codes:
        lines = [line for line in error.decode(errors="replace").splitlines() if line.strip()]
        said = f": {lines[0].strip()[:200]}" if lines else ""
        raise HostError(f"`{command}` exited {result.exit_status}{said}")
    return b"".join(chunks).decode(errors="replace")


def describe(exc: BaseException, host: RoomHost, timeout_s: float) -> str:
    """One line for a host's row: what went wrong reaching HOST."""
    where = f"{host.user + '@' if host.user else ''}{host.address}{':' + str(host.port) if host.port else ''}"
    if isinstance(exc, TimeoutError):
        return f"{_NO_ANSWER} {timeout_s:g} s ({where})"
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"authentication refused ({where})"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        return f"host key not verifiable ({where}): ssh-keyscan it into ~/.ssh/known_hosts"
    if isinstance(exc, ConnectionRefusedError):
        return f"unreachable: connection refused ({where})"
    if isinstance(exc, OSError):
        return f"unreachable: {exc.strerror or exc} ({where})"
    if isinstance(exc, HostError):
        return str(exc)
    if isinstance(exc, asyncssh.Error):
        return f"ssh: {exc.reason or type(exc).__name__} ({where})"
    return f"{type(exc).__name__}: {exc}"
