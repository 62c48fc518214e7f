"""The verifier log view from canned logs (no kernel): line-0 instructions, loops, no lines."""

from __future__ import annotations

from xdp_tui.engine.verifier import log_view, parse_log, render_log_view

LINE_ZERO_LOG = """\
func#0 @0
0: R1=ctx() R10=fp0
; if (!is_vlan(proto)) @ prog.c:34
10: (15) if r2 == 0xa888 goto pc+1    ; R2=scalar()
11: (55) if r2 != 0x81 goto pc+10     ; R2=129
;  @ prog.c:0
12: (71) r3 = *(u8 *)(r1 +16)
invalid access to packet, off=16 size=1, R1(id=0,off=16,r=14)
R1 offset is outside of the packet
processed 13 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 0
"""


def test_line_zero_takes_the_line_before_and_says_so() -> None:
    report = parse_log(LINE_ZERO_LOG)
    assert (report.insn, report.source_line, report.line_approximate) == (12, 34, True)
    assert report.source_text == "if (!is_vlan(proto))"  # the file is not there: as logged
    view = log_view(report)
    assert "prog.c:34, nearest line" in view.headline
    kinds = [line.kind for line in view.lines]
    assert kinds == [
        "other",
        "state",
        "source",
        "insn",
        "insn",
        "source",
        "insn",
        "error",
        "error",
        "summary",
    ]
    assert view.failing_index == 6 and view.lines[6].insn == 12
    assert view.lines[5].source_line is None and "compiler" in view.lines[5].text
    text = render_log_view(view)
    assert "\n      ? | (no C line: code the compiler made)\n" in text
    assert "\n>> invalid access to packet, off=16" in text


def test_an_exact_line_is_not_approximate() -> None:
    log = "; x = *p; @ prog.c:9\n3: (61) r0 = *(u32 *)(r1 +0)\ninvalid mem access 'scalar'\n"
    report = parse_log(log)
    assert (report.insn, report.source_line, report.line_approximate) == (3, 9, False)
    assert "nearest" not in log_view(report).headline


def test_a_loop_marks_the_instruction_it_names() -> None:
    log = (
        "; for (;;) @ loop.c:10\n7: (05) goto pc-1\n8: (05) goto pc-2\n"
        "back-edge from insn 8 to 7\nprocessed 9 insns\n"
    )
    view = log_view(parse_log(log))
    assert view.failing_index is not None
    assert view.lines[view.failing_index].insn == 8


def test_a_log_without_line_info_still_renders() -> None:
    report = parse_log("0: (b7) r0 = 0\nR0 !read_ok\n")
    view = log_view(report)
    assert report.source_line is None and view.location is None
    assert view.headline == "the verifier refused the program at instruction 0"
    assert render_log_view(view).startswith(view.headline + "\nwhy: the function can reach")
