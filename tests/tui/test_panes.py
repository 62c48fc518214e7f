"""The workshop's panes: every key reaches an action of its own pane (pure, no root)."""

from __future__ import annotations

import ast

from xdp_tui.screens.main import PANES, WORKSHOP_KEYS, WorkshopScreen


def _pane_action(action: str) -> tuple[str, str]:
    call = ast.parse(action, mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
    assert call.func.id == "pane"
    name, method = (ast.literal_eval(arg) for arg in call.args)
    return name, method


def test_every_pane_key_runs_an_action_of_its_own_pane() -> None:
    names = [pane.NAME for pane in PANES]
    assert len(set(names)) == len(names) and all(names)
    for pane in PANES:
        for key in pane.KEYS:
            name, method = _pane_action(key.action)
            assert name == pane.NAME, key
            assert callable(getattr(pane, f"action_{method}", None)), key


def test_binding_ids_are_unique_and_the_screen_has_them_all() -> None:
    ids = [key.id for key in WORKSHOP_KEYS]
    assert len(set(ids)) == len(ids) and all(i and i.startswith("workshop.") for i in ids)
    assert WorkshopScreen.BINDINGS == WORKSHOP_KEYS
    assert {"workshop.build_attach", "workshop.check", "workshop.ping", "workshop.help"} <= set(ids)
