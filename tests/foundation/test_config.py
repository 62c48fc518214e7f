"""config.py and userfiles.py: settings, remembered state, and the learner's symlinks.

The learner's home is a temporary folder ($HOME, no SUDO_USER), so every
path here is the real code path below a home; nothing is faked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from xdp_tui import config
from xdp_tui.errors import XdpTuiError
from xdp_tui.userfiles import read_user_file, write_user_file


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    learner = tmp_path / "home"
    learner.mkdir()
    monkeypatch.setenv("HOME", str(learner))
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("XDP_TUI_CONFIG", raising=False)
    monkeypatch.delenv("XDP_TUI_DATA_DIR", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    return learner


def _write_config(home: Path, text: str) -> Path:
    path = home / ".config" / "xdp-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_no_file_means_defaults(home: Path) -> None:
    assert config.config_path() == home / ".config" / "xdp-tui" / "config.toml"
    assert config.load_settings() == config.Settings()


def test_theme_and_keymap(home: Path) -> None:
    _write_config(home, 'theme = "textual-light"\n[keymap]\n"workshop.build_attach" = "f5"\n')
    settings = config.load_settings()
    assert settings.theme == "textual-light"
    assert dict(settings.keymap) == {"workshop.build_attach": "f5"}
    assert settings.problems == ()


def test_a_syntax_error_is_located_and_the_defaults_used(home: Path) -> None:
    path = _write_config(home, 'theme = "ok"\n\n[keymap\n')
    settings = config.load_settings()
    assert (settings.theme, dict(settings.keymap)) == (None, {})
    (problem,) = settings.problems
    assert problem.location is not None and problem.location.startswith(f"{path}:3:")
    assert problem.message.startswith("not valid TOML: ")
    assert "\n" not in problem.message


def test_bad_values_are_named_and_the_good_ones_kept(home: Path) -> None:
    path = _write_config(
        home,
        'theme = 3\ncolour = "red"\n[keymap]\n"workshop.check" = "f6"\n"workshop.ping" = 7\n',
    )
    settings = config.load_settings()
    assert dict(settings.keymap) == {"workshop.check": "f6"}
    assert settings.theme is None
    assert sorted(str(p.location) for p in settings.problems) == [
        f"{path}: colour",
        f"{path}: keymap.workshop.ping",
        f"{path}: theme",
    ]


def test_not_text(home: Path) -> None:
    path = _write_config(home, "")
    path.write_bytes(b"theme = \xff\n")
    (problem,) = config.load_settings().problems
    assert problem.render() == f"{path}: is not UTF-8 text"


def test_a_symlinked_file_is_not_followed(home: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.toml"
    elsewhere.write_text('theme = "textual-light"\n')
    path = home / ".config" / "xdp-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.symlink_to(elsewhere)
    (problem,) = config.load_settings().problems
    assert "symbolic link" in problem.message and problem.location == str(path)


def test_a_symlinked_folder_is_not_followed(home: Path, tmp_path: Path) -> None:
    """~/.config -> somewhere else: neither read through nor written through."""
    outside = tmp_path / "outside"
    (outside / "xdp-tui").mkdir(parents=True)
    (outside / "xdp-tui" / "config.toml").write_text('theme = "textual-light"\n')
    (home / ".config").symlink_to(outside)
    (problem,) = config.load_settings().problems
    assert "symbolic link" in problem.message
    with pytest.raises(XdpTuiError, match="symbolic link"):
        write_user_file(home / ".config" / "xdp-tui" / "state.json", b"{}")
    assert sorted(p.name for p in (outside / "xdp-tui").iterdir()) == ["config.toml"]


def test_a_fifo_is_refused_without_waiting(home: Path) -> None:
    path = home / ".config" / "xdp-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    os.mkfifo(path)
    (problem,) = config.load_settings().problems
    assert problem.message == "is not a regular file"


def test_a_huge_file_is_refused(home: Path) -> None:
    _write_config(home, "# padding\n" * 10_000)
    (problem,) = config.load_settings().problems
    assert "larger than 65536 bytes" in problem.message


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file away needs root")
def test_a_file_owned_by_someone_else_is_not_read(home: Path) -> None:
    path = _write_config(home, 'theme = "textual-light"\n')
    os.chown(path, 65534, 65534)  # nobody
    (problem,) = config.load_settings().problems
    assert "belongs to uid 65534" in problem.message


def test_a_config_nested_too_deeply_is_a_problem_not_a_crash(home: Path) -> None:
    path = _write_config(home, "theme = " + "[" * 5000 + "]" * 5000 + "\n")
    (problem,) = config.load_settings().problems  # tomllib raised RecursionError
    assert problem.location == str(path) and "nested too deeply" in problem.message


def test_state_round_trip_creates_its_folders(home: Path) -> None:
    assert config.load_state() == config.State()
    config.save_state(config.State(theme="textual-light", last_lesson="basic02-prog-by-name"))
    path = home / ".local" / "share" / "xdp-tui" / "state.json"
    assert path.is_file()
    assert config.load_state() == config.State("textual-light", "basic02-prog-by-name")
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temporary left


def test_a_damaged_state_is_forgotten(home: Path) -> None:
    path = home / ".local" / "share" / "xdp-tui" / "state.json"
    path.parent.mkdir(parents=True)
    for damaged in ("[1, 2]", "{nope", '{"theme": 5}', "[" * 16000):  # the last: too deep
        path.write_text(damaged)
        assert config.load_state() == config.State()


def test_a_symlinked_state_file_is_replaced_not_followed(home: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    path = home / ".local" / "share" / "xdp-tui" / "state.json"
    path.parent.mkdir(parents=True)
    path.symlink_to(victim)
    config.save_state(config.State(theme="textual-dark"))
    assert victim.read_text() == "precious\n"
    assert not path.is_symlink() and config.load_state().theme == "textual-dark"


def test_read_user_file_outside_the_home_trusts_the_folder(tmp_path: Path) -> None:
    """An XDP_TUI_* override chosen by whoever started us: its folder is taken as given."""
    target = tmp_path / "given" / "config.toml"
    target.parent.mkdir()
    target.write_text("x")
    assert read_user_file(target, max_bytes=10) == b"x"
    assert read_user_file(tmp_path / "given" / "absent.toml", max_bytes=10) is None


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDP_TUI_RUN_DIR", "XDP_TUI_BPFFS", "XDP_TUI_CLANG", "XDP_TUI_THEME"):
        monkeypatch.delenv(name, raising=False)
    assert (config.run_dir(), config.bpffs_root(), config.clang()) == (
        Path("/run/xdp-tui"),
        Path("/sys/fs/bpf"),
        "clang",
    )
    assert config.theme_override() is None
    monkeypatch.setenv("XDP_TUI_CLANG", "clang-19")
    monkeypatch.setenv("XDP_TUI_THEME", "nord")
    assert (config.clang(), config.theme_override()) == ("clang-19", "nord")


def test_an_error_words_its_hint_for_each_face() -> None:
    from xdp_tui.errors import XdpTuiError

    both = XdpTuiError("no lab", hint="run `xdp-tui env setup`")
    assert both.hint_for("tui") == both.hint_for("cli") == "run `xdp-tui env setup`"
    own = XdpTuiError("busy", location="dev x", hint="pass --force", tui_hint="press b again")
    assert own.render() == "dev x: busy\n  hint: pass --force"
    assert own.render("tui") == "dev x: busy\n  hint: press b again"
    assert XdpTuiError("x", hint="pass --log", tui_hint="").hint_for("tui") is None
    assert own.to_dict()["hint"] == "pass --force"  # --json is the CLI's
