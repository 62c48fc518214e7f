"""The room's parsing and rules, without any host: bad input is one short reason."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from xdp_tui.errors import XdpTuiError
from xdp_tui.room import inventory
from xdp_tui.room.inventory import RoomHost, load_inventory
from xdp_tui.room.model import MalformedOutput, StuckRule, parse_doctor, parse_progress

NOW = 1_800_000_000.0


def _user(**extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "user": "ann",
        "passed": 1,
        "total": 25,
        "lessons": [{"lesson": "basic01-xdp-pass", "passed": ["1"], "total": 1, "assignments": {}}],
    }
    return row | extra


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not JSON (starts 'nothing')"),
        ("Traceback (most recent", "not JSON"),
        ("[1, 2]", "the output is list, not dict"),
        ('{"users": 3}', "users is int, not list"),
        (json.dumps({"users": [_user(passed="1")]}), "passed is str, not int"),
        (json.dumps({"users": [_user(passed=True)]}), "passed is bool, not int"),
        (json.dumps({"users": [_user(last_check={"lesson": 5})]}), "last_check.lesson is int"),
    ],
)
def test_malformed_output_says_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(MalformedOutput, match=re.escape(reason)):
        parse_progress(text, NOW, StuckRule())


def test_older_hosts_without_the_new_fields_still_parse() -> None:
    # progress --all-users --json from before hostname/current_lesson/last_check
    hostname, learners = parse_progress(json.dumps({"users": [_user()]}), NOW, StuckRule())
    assert hostname is None and learners[0].current_lesson is None
    assert learners[0].last_check is None and not learners[0].stuck


def test_stuck_by_failures_or_by_idle_time_but_never_when_done() -> None:
    rule = StuckRule(failures=3, idle_s=600)
    failing = {"lesson": "basic02-prog-by-name", "assignment": "1", "passed": False,
               "detail": "x", "checked_at": NOW - 5, "failures": 3}  # fmt: skip
    rows = [
        _user(user="ann", last_check=failing, last_progress=NOW - 5),
        _user(user="bob", last_check=failing | {"failures": 2}, last_progress=NOW - 601),
        _user(user="cyd", last_check=failing | {"failures": 2}, last_progress=NOW - 60),
        _user(user="dee", passed=25, last_check=failing, last_progress=NOW - 9999),
    ]
    _, learners = parse_progress(json.dumps({"users": rows}), NOW, rule)
    by_user = {learner.user: learner for learner in learners}
    assert by_user["ann"].stuck_reason == "basic02-prog-by-name #1 failed 3 times in a row"
    assert by_user["bob"].stuck_reason == "no progress for 10 min"
    assert not by_user["cyd"].stuck and not by_user["dee"].stuck


def test_doctor_verdict_names_the_failing_checks() -> None:
    text = json.dumps(
        {"ok": False, "checks": [{"name": "bpffs", "ok": False}, {"name": "btf", "ok": True}]}
    )
    assert parse_doctor(text) == (False, ("bpffs",))


def test_fallback_parser_reads_groups_children_vars_and_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inventory, "_ansible_inventory_tool", lambda: None)
    path = tmp_path / "room.ini"
    path.write_text(
        "# the room\n"
        "solo ansible_host=192.0.2.9\n"
        "[left]\n"
        "lab01 ansible_host=192.0.2.11 ansible_port=2222\n"
        "lab02 ansible_user=root\n"
        "[left:vars]\n"
        "ansible_user=learner\n"
        "[room:children]\n"
        "left\n"
        "[room:vars]\n"
        "ansible_user=instructor\n"
        "xdp_tui_command=/opt/xdp-tui/.venv/bin/xdp-tui\n"
    )
    hosts = {host.name: host for host in load_inventory(path)}
    assert hosts["lab01"] == RoomHost(
        "lab01", "192.0.2.11", 2222, "learner", None, "/opt/xdp-tui/.venv/bin/xdp-tui"
    )
    assert hosts["lab02"].user == "root" and hosts["lab02"].address == "lab02"
    assert hosts["solo"] == RoomHost("solo", "192.0.2.9")
    assert (
        hosts["solo"].remote("progress", "--user", "a b") == "sudo -n xdp-tui progress --user 'a b'"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[room\nlab01\n", "unclosed section header"),
        ("[room:bogus]\n", "unknown section kind"),
        ("lab01 ansible_port\n", "host variables must be key=value"),
        ("lab01 ansible_port=ssh\n", "ansible_port 'ssh' is not a number"),
        ("# nothing\n", "the inventory names no hosts"),
    ],
)
def test_bad_inventories_are_one_located_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    monkeypatch.setattr(inventory, "_ansible_inventory_tool", lambda: None)
    path = tmp_path / "bad.ini"
    path.write_text(text)
    with pytest.raises(XdpTuiError, match=message) as caught:
        load_inventory(path)
    assert caught.value.location is not None and str(path) in caught.value.location


def test_ansible_reads_ranges_the_small_parser_does_not_need_to(tmp_path: Path) -> None:
    if inventory._ansible_inventory_tool() is None:
        pytest.skip("Ansible is not installed")
    path = tmp_path / "room.ini"
    path.write_text("[room]\nlab[01:03] ansible_user=root\n")
    assert [h.name for h in load_inventory(path)] == ["lab01", "lab02", "lab03"]
    assert all(h.command == "xdp-tui" for h in load_inventory(path))  # root: no sudo
    path.write_text("[room\n")
    with pytest.raises(XdpTuiError, match="ansible-inventory refused it|names no hosts"):
        load_inventory(path)


@pytest.mark.parametrize("ansible", [True, False])
def test_a_device_or_a_huge_file_is_refused_before_anything_reads_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ansible: bool
) -> None:
    if not ansible:
        monkeypatch.setattr(inventory, "_ansible_inventory_tool", lambda: None)
    with pytest.raises(XdpTuiError, match="not a regular file") as caught:
        load_inventory(Path("/dev/zero"))  # ansible-inventory read it for a minute
    assert caught.value.location == "/dev/zero"
    huge = tmp_path / "huge.ini"
    with huge.open("wb") as out:
        out.truncate(inventory._INVENTORY_LIMIT + 1)
    with pytest.raises(XdpTuiError, match="an inventory is at most"):
        load_inventory(huge)
