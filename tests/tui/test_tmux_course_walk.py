"""A learner's walk through the course in a real terminal (issue #10): basic01 → basic02 →
basic03 (all three assignments, with its map-shape changes) → packet01 (all five).

Every change is typed through the app's own editor keys (E, ctrl+g, ctrl+k, typing,
ctrl+b save+build), lessons are chosen with the palette, and each assignment is
checked with `c` at the moment it should start to pass. The test only reads files
(to find line numbers and to confirm progress); nothing is written behind the app.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.tui.test_tmux_e2e import Pane, _tmux
from xdp_tui import lessons
from xdp_tui.engine import attach

XDP_TUI = Path(sys.executable).parent / "xdp-tui"

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

# A line is (anchor, new lines): the first line containing ANCHOR (after the line
# containing AFTER, when given) is replaced by NEW lines. Tabs are typed as Tab keys.
Edit = tuple[str, list[str], str]


class Terminal(Pane):
    """The e2e tests' tmux pane, plus typing text literally and a pause after escape."""

    def keys(self, *keys: str) -> None:
        super().keys(*keys)
        if "Escape" in keys:
            time.sleep(0.3)  # an escape followed too soon by a key reads as alt+key

    def type(self, text: str) -> None:
        if text:
            # tmux reads an argument's trailing ";" as a command separator: escape it.
            literal = text[:-1] + "\\;" if text.endswith(";") else text
            _tmux("send-keys", "-t", self.session, "-l", literal)


@pytest.fixture
def terminal(
    make_lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Terminal, Any]]:
    # A learner of its own: fresh workspaces and progress, whatever other tests did.
    monkeypatch.setenv("XDP_TUI_DATA_DIR", str(tmp_path / "learner"))
    lab = make_lab("walk")
    for lesson_id in ("basic01-xdp-pass", "basic02-prog-by-name", "basic03-map-counter",
                      "packet01-parsing"):  # fmt: skip
        lessons.reset_workspace(lessons.get_lesson(lesson_id))
    session = f"walk-{lab.name}"
    command = " ".join(
        [
            "env",
            "-u",  # the size comes from the terminal, not from a COLUMNS/LINES inherited
            "COLUMNS",
            "-u",
            "LINES",
            # The tmux server may be older than this run: say which code and state to use.
            f"PYTHONPATH={os.environ.get('PYTHONPATH', '')}",
            f"XDP_TUI_RUN_DIR={os.environ['XDP_TUI_RUN_DIR']}",
            f"XDP_TUI_DATA_DIR={os.environ['XDP_TUI_DATA_DIR']}",
            "TERM=xterm-256color",
            "EDITOR=",  # e and E: the app's own editor
            "VISUAL=",
            str(XDP_TUI),
            "--lab",
            lab.name,
        ]
    )
    _tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", command)
    try:
        yield Terminal(session), lab
    finally:
        _tmux("kill-session", "-t", session)


def _passed(lesson_id: str) -> set[str]:
    return set(lessons.Progress.load().passed(lesson_id))


def _open_lesson(term: Terminal, lesson_id: str) -> None:
    short = lesson_id.split("-", 1)[0]
    term.keys("C-p")
    assert term.wait_text("Search"), term.text()
    term.type(f"Lesson {short}")
    time.sleep(0.5)  # the palette searches asynchronously
    term.keys("Enter")
    assert term.wait(lambda: f"│ {lesson_id} │" in term.text()), term.text()
    assert term.wait(lambda: "Search" not in term.text()), term.text()  # the palette closed
    time.sleep(0.5)


def _edit(term: Terminal, lesson_id: str, edits: list[Edit]) -> str:
    """Apply EDITS in the in-app editor, line numbers found in the current file;
    save and build from the editor. Returns the screen once built."""
    source = lessons.workspace_source(lessons.get_lesson(lesson_id))
    term.keys("E")
    assert term.wait_text(f"editing {source.name}"), term.text()
    for anchor, new_lines, after in edits:
        lines = source.read_text().splitlines()
        start = next((i for i, line in enumerate(lines) if after in line), 0) if after else 0
        row = next(i for i, line in enumerate(lines) if i >= start and anchor in line)
        # Keys typed before the prompt has the focus would go to the text (the app
        # may be busy highlighting what was typed): wait for the prompt, both ways.
        term.keys("C-g")
        assert term.wait_text("go to line"), term.text()
        time.sleep(0.2)
        term.type(str(row + 1))
        term.keys("Enter")
        assert term.wait(lambda: "go to line" not in term.text()), term.text()
        time.sleep(0.2)
        term.keys("C-k")  # at the line's start: its text goes, its line break stays
        for index, new in enumerate(new_lines):
            if index:
                term.keys("Enter")
            term.type(new)
        term.keys("C-s")  # saved: the next edit finds its line in the file
        want = "\n".join(new_lines)
        assert term.wait(lambda want=want: want in source.read_text()), (want, term.text())
    term.keys("C-b")  # save and build, staying in the editor
    assert term.wait_text("built and attached"), term.text()
    built = term.text()
    term.keys("Escape")
    assert term.wait(lambda: "editing " not in term.text()), term.text()
    return built


def _check(term: Terminal, lesson_id: str, assignment: str) -> None:
    """c checks the highlighted assignment: the one not passed yet, i.e. ASSIGNMENT."""
    assert assignment not in _passed(lesson_id)
    term.keys("c")
    assert term.wait(lambda: assignment in _passed(lesson_id), tries=600), term.text()
    assert term.wait_text(f"#{assignment} "), term.text()


def _build(term: Terminal, lab: Any) -> None:
    term.keys("b")
    assert term.wait(lambda: attach.query(lab.outer).prog_id is not None), term.text()


BASIC02_ABORT = ['SEC("xdp")', "int xdp_abort_func(struct xdp_md *ctx)", "{",
                 "\treturn XDP_ABORTED;", "}", "", 'char _license[] SEC("license") = "GPL";']  # fmt: skip

IP6_PARSER = ["\tstruct ipv6hdr *ip6h = nh->pos;", "",
              "\tif ((void *)(ip6h + 1) > data_end)", "\t\treturn -1;",
              "\tnh->pos = ip6h + 1;", "\t*ip6hdr = ip6h;", "\treturn ip6h->nexthdr;"]  # fmt: skip
ICMP6_PARSER = ["\tstruct icmp6hdr *icmp6h = nh->pos;", "",
                "\tif ((void *)(icmp6h + 1) > data_end)", "\t\treturn -1;",
                "\tnh->pos = icmp6h + 1;", "\t*icmp6hdr = icmp6h;",
                "\treturn icmp6h->icmp6_type;"]  # fmt: skip
VLAN_SKIP = ["\t__u16 h_proto = eth->h_proto;", "\tint i;", "",
             "\tfor (i = 0; i < 2; i++) {", "\t\t__be16 *tag = nh->pos;", "",
             "\t\tif (h_proto != bpf_htons(ETH_P_8021Q) && h_proto != bpf_htons(ETH_P_8021AD))",
             "\t\t\tbreak;", "\t\tif ((void *)(tag + 2) > data_end)", "\t\t\tbreak;",
             "\t\th_proto = tag[1];", "\t\tnh->pos = tag + 2;", "\t}",
             "\treturn h_proto;"]  # fmt: skip
IP4_PARSERS = [" */", "static __always_inline int parse_iphdr(struct hdr_cursor *nh, "
               "void *data_end, struct iphdr **iphdr)", "{", "\tstruct iphdr *iph = nh->pos;",
               "\tint hdrsize;", "", "\tif ((void *)(iph + 1) > data_end)", "\t\treturn -1;",
               "\thdrsize = iph->ihl * 4;", "\tif (hdrsize < (int)sizeof(*iph))",
               "\t\treturn -1;", "\tif (nh->pos + hdrsize > data_end)", "\t\treturn -1;",
               "\tnh->pos += hdrsize;", "\t*iphdr = iph;", "\treturn iph->protocol;", "}", "",
               "static __always_inline int parse_icmphdr(struct hdr_cursor *nh, "
               "void *data_end, struct icmphdr **icmphdr)", "{",
               "\tstruct icmphdr *icmph = nh->pos;", "",
               "\tif ((void *)(icmph + 1) > data_end)", "\t\treturn -1;",
               "\tnh->pos = icmph + 1;", "\t*icmphdr = icmph;", "\treturn icmph->type;",
               "}"]  # fmt: skip
IP4_MAIN = ["\tif (nh_type == bpf_htons(ETH_P_IP)) {", "\t\tstruct iphdr *iph;",
            "\t\tstruct icmphdr *icmph;", "",
            "\t\tif (parse_iphdr(&nh, data_end, &iph) != IPPROTO_ICMP)", "\t\t\tgoto out;",
            "\t\tif (parse_icmphdr(&nh, data_end, &icmph) != ICMP_ECHO)", "\t\t\tgoto out;",
            "\t\taction = (bpf_ntohs(icmph->un.echo.sequence) % 2 == 0) ? XDP_DROP : XDP_PASS;",
            "\t\tgoto out;", "\t}", "\tif (nh_type != bpf_htons(ETH_P_IPV6))"]  # fmt: skip


def test_walk_basic01_to_packet01_through_the_app(terminal: tuple[Terminal, Any]) -> None:
    term, lab = terminal
    assert term.wait_text("basic01"), term.text()

    # basic01: the starter is complete. Build, attach, check.
    _open_lesson(term, "basic01-xdp-pass")
    _build(term, lab)
    _check(term, "basic01-xdp-pass", "1")

    # basic02: moving on detaches basic01's program (and says so).
    _open_lesson(term, "basic02-prog-by-name")
    assert term.wait(lambda: attach.query(lab.outer).prog_id is None), term.text()
    _edit(term, "basic02-prog-by-name",
          [("\treturn XDP_PASS;", ["\treturn XDP_DROP;"], "Assignment 1")])  # fmt: skip
    _check(term, "basic02-prog-by-name", "1")
    _edit(term, "basic02-prog-by-name", [("char _license", BASIC02_ABORT, "")])
    _check(term, "basic02-prog-by-name", "2")

    # basic03: rx_bytes changes the map's value size, PERCPU its type: each rebuild
    # replaces the pinned map (the app says so) instead of refusing.
    _open_lesson(term, "basic03-map-counter")
    _build(term, lab)
    built = _edit(term, "basic03-map-counter", [
        ("__u64 rx_packets;", ["\t__u64 rx_packets;", "\t__u64 rx_bytes;"], ""),
        ("__sync_fetch_and_add(&rec->rx_packets, 1);",
         ["\t__sync_fetch_and_add(&rec->rx_packets, 1);",
          "\t__sync_fetch_and_add(&rec->rx_bytes, (long)ctx->data_end - (long)ctx->data);"], ""),
    ])  # fmt: skip
    assert "replaced pinned map(s)" in built, built  # counters restart
    _check(term, "basic03-map-counter", "1")
    _edit(term, "basic03-map-counter", [("__u32 key = XDP_PASS;", ["\t__u32 key = verdict;"], "")])
    _check(term, "basic03-map-counter", "2")
    built = _edit(term, "basic03-map-counter", [("BPF_MAP_TYPE_ARRAY", [
        "\t__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);"], "")])  # fmt: skip
    assert "replaced pinned map(s)" in built, built
    _check(term, "basic03-map-counter", "3")

    # packet01: the starter is refused by the verifier; five assignments.
    _open_lesson(term, "packet01-parsing")
    _edit(term, "packet01-parsing",
          [("if (nh->pos + 1 > data_end)", ["\tif (nh->pos + hdrsize > data_end)"], "")])  # fmt: skip
    _check(term, "packet01-parsing", "1")
    _edit(term, "packet01-parsing", [
        ("return -1;", IP6_PARSER, "int parse_ip6hdr"),
        ("\taction = XDP_DROP;", ["\tstruct ipv6hdr *ip6h;",
         "\tif (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_ICMPV6)", "\t\tgoto out;",
         "\taction = XDP_DROP;"], "Until then"),
    ])  # fmt: skip
    _check(term, "packet01-parsing", "2")
    _edit(term, "packet01-parsing", [
        ("return -1;", ICMP6_PARSER, "int parse_icmp6hdr"),
        ("\taction = XDP_DROP;", ["\tstruct icmp6hdr *icmp6h;",
         "\tif (parse_icmp6hdr(&nh, data_end, &icmp6h) != ICMPV6_ECHO_REQUEST)", "\t\tgoto out;",
         "\taction = (bpf_ntohs(icmp6h->icmp6_sequence) % 2 == 0) ? XDP_DROP : XDP_PASS;"],
         "goto out;"),
    ])  # fmt: skip
    _check(term, "packet01-parsing", "3")
    _edit(term, "packet01-parsing", [("return eth->h_proto;", VLAN_SKIP, "")])
    _check(term, "packet01-parsing", "4")
    _edit(term, "packet01-parsing", [
        ("#include <linux/ipv6.h>", ["#include <linux/ip.h>", "#include <linux/ipv6.h>",
                                      "#include <linux/in.h>"], ""),
        ('#include "common.h"', ['#include "common.h"', '#include "icmp_defs.h"'], ""),
        (" */", IP4_PARSERS, "Assignment 5 (IPv4)"),
        ("if (nh_type != bpf_htons(ETH_P_IPV6))", IP4_MAIN, ""),
    ])  # fmt: skip
    _check(term, "packet01-parsing", "5")

    term.keys("C-q")
    assert term.wait(lambda: not term.alive()), term.text()
    assert attach.query(lab.outer).prog_id is None
