"""`xdp-tui room` against a real room: namespaced sshd hosts on this machine."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.room.conftest import add_learner
from tests.room.sshroom import SshRoom
from xdp_tui.lessons import HOME_PROGRESS, get_lesson
from xdp_tui.room import RoomPoller, load_inventory

pytestmark = pytest.mark.kernel


def _room_json(room: SshRoom, inventory: Path, *extra: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "xdp_tui", "room", "--json", "-i", str(inventory), *extra],
        env=room.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return json.loads(done.stdout)


def test_room_json_reads_every_host_and_each_failure_stays_on_its_row(room: SshRoom) -> None:
    data = _room_json(room, room.write_inventory(), "--timeout", "2")
    assert set(data) >= {"time", "hosts"}
    hosts = {row["host"]: row for row in data["hosts"]}
    one, two, garbage, wrong_key, slow = (hosts[h.name] for h in room.hosts)

    assert one["reachable"] and one["error"] is None and one["hostname"] == room.host(0).name
    assert one["doctor_ok"] in (True, False)  # doctor ran; its verdict depends on the namespace
    learners = {row["user"]: row for row in one["learners"]}
    ann, bob = learners["ann"], learners["bob"]
    assert set(ann) >= {"user", "passed", "total", "current_lesson", "last_check", "stuck"}
    assert ann["stuck"] and "failed 3 times in a row" in ann["stuck_reason"]
    assert ann["current_lesson"] == "basic02-prog-by-name"
    assert ann["last_check"]["detail"] == "no program named xdp_drop_func"
    assert (ann["passed"], bob["passed"], bob["stuck"]) == (1, 1, False)
    assert ann["lessons"]["basic01-xdp-pass"] == "passed"
    assert ann["lessons"]["basic02-prog-by-name"] == "failing"
    assert ann["lessons"]["basic03-map-counter"] == "untouched"
    assert [row["user"] for row in two["learners"]] == ["cyd"]

    assert garbage["reachable"] and garbage["error"].startswith("malformed output: not JSON")
    assert garbage["learners"] == []
    assert not wrong_key["reachable"] and "authentication refused" in wrong_key["error"]
    assert wrong_key["doctor_ok"] is None
    assert slow["reachable"] and "no answer within 2 s" in slow["error"]


def test_the_stuck_thresholds_come_from_the_command_line(room: SshRoom) -> None:
    inventory = room.write_inventory(room.hosts[:1])
    data = _room_json(room, inventory, "--no-doctor", "--stuck-failures", "4")
    (ann,) = [row for row in data["hosts"][0]["learners"] if row["user"] == "ann"]
    assert not ann["stuck"] and data["hosts"][0]["doctor_ok"] is None
    data = _room_json(room, inventory, "--no-doctor", "--stuck-minutes", "0.0001")
    stuck = {row["user"]: row["stuck_reason"] for row in data["hosts"][0]["learners"]}
    assert stuck["bob"] == "no progress for 0 min" and "in a row" in stuck["ann"]


def test_yaml_and_ini_inventories_read_the_same_with_and_without_ansible(
    room: SshRoom, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xdp_tui.room import inventory

    ini, yaml = room.write_inventory(), room.write_inventory(yaml=True)
    by_ansible = load_inventory(ini)
    assert load_inventory(yaml) == by_ansible
    first = by_ansible[0]
    assert (first.address, first.port, first.user) == (room.host(0).address, 22, "root")
    assert first.command == str(room.host(0).command)
    assert first.key_file == str(room.key)
    monkeypatch.setattr(inventory, "_ansible_inventory_tool", lambda: None)
    assert load_inventory(ini) == by_ansible
    assert load_inventory(yaml) == by_ansible


def test_a_host_stopped_mid_session_shows_unreachable_and_the_rest_carry_on(
    room: SshRoom,
) -> None:
    hosts = [h for h in load_inventory(room.write_inventory()) if h.name != room.host(4).name]

    async def scenario() -> tuple:
        poller = RoomPoller(hosts, timeout_s=2.0, doctor=False)
        try:
            before = await poller.poll()
            room.stop(room.host(1))
            add_learner(room.host(0), "dee", [("basic01-xdp-pass", "1", True, "ok")])
            after = await poller.poll()
            detail = await poller.detail(room.host(0).name, "ann")
            gone = await poller.detail(room.host(1).name, "cyd")
            return before, after, detail, gone
        finally:
            await poller.close()

    source = (
        room.host(0).homes / "ann" / HOME_PROGRESS.parent / "workspace" / "basic02-prog-by-name"
    )
    source.mkdir(parents=True)
    lesson = get_lesson("basic02-prog-by-name")
    (source / lesson.source_name).write_text(
        lesson.starter_source.read_text() + "// ann was here\n"
    )
    before, after, detail, gone = asyncio.run(scenario())

    stopped = room.host(1).name
    assert next(h for h in before.hosts if h.host == stopped).reachable
    row = next(h for h in after.hosts if h.host == stopped)
    assert not row.reachable and row.error and "unreachable" in row.error
    first = next(h for h in after.hosts if h.host == room.host(0).name)
    assert [learner.user for learner in first.learners] == ["ann", "bob", "dee"]
    assert after.learners()[0][1].user == "ann"  # stuck first
    assert detail.error is None and detail.lesson == "basic02-prog-by-name"
    assert "-// ann was here" in detail.diff
    assert detail.last_check is not None and detail.last_check.failures == 3
    assert gone.error and gone.diff == ""


def test_a_missing_inventory_is_one_clear_line(room: SshRoom, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "xdp_tui", "room", "--json", "-i", str(tmp_path / "nope.ini")],
        env=room.env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("xdp-tui: error: ") and "no such inventory" in done.stderr
    assert "Traceback" not in done.stderr
