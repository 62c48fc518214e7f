"""Fixtures of the room tests: a real room of namespaced sshd hosts with learners."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.room.sshroom import SshHost, SshRoom, ssh_room
from xdp_tui.lessons import HOME_PROGRESS, Progress


def add_learner(host: SshHost, user: str, results: list[tuple[str, str, bool, str]]) -> Path:
    """A learner home on HOST with these (lesson, assignment, passed, detail) checks, in order."""
    progress = Progress.load(host.homes / user / HOME_PROGRESS)
    for lesson, assignment, passed, detail in results:
        progress.mark(lesson, assignment, passed, detail)
    return host.homes / user


@pytest.fixture
def room(monkeypatch: pytest.MonkeyPatch) -> Iterator[SshRoom]:
    """Five hosts: 1 and 2 with learners, 3 answers garbage, 4 refuses our key, 5 is slow."""
    with ssh_room(5) as made:
        one, two, garbage, wrong_key, slow = made.hosts
        fail = ("basic02-prog-by-name", "1", False, "no program named xdp_drop_func")
        add_learner(one, "ann", [("basic01-xdp-pass", "1", True, "ok"), fail, fail, fail])
        add_learner(one, "bob", [("basic01-xdp-pass", "1", True, "ok")])
        add_learner(two, "cyd", [("basic01-xdp-pass", "1", False, "not loaded")])
        made.misbehave(garbage, "#!/bin/sh\necho 'Traceback (most recent call last): {oops'\n")
        made.refuse_instructor(wrong_key)
        made.misbehave(slow, "#!/bin/sh\nsleep 30\n")
        # In-process pollers use the instructor's ~/.ssh like the CLI does.
        for key, value in made.env().items():
            monkeypatch.setenv(key, value)
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        yield made
