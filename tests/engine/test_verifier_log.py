"""Reading a verifier log: the failing instruction, its C line, the plain-words reason.

The logs are written here in the kernel's format (level 1, BTF line info), so
the parser is tested without root or a kernel; tests/engine/test_load.py gets
real logs from real refusals.
"""

from __future__ import annotations

import errno
from pathlib import Path

from xdp_tui.engine import verifier

PACKET_LOG = """\
func#0 @0
0: R1=ctx() R10=fp0
; void *data_end = (void *)(long)ctx->data_end; @ prog.c:9
0: (61) r2 = *(u32 *)(r1 +4)          ; R1=ctx() R2_w=pkt_end()
; void *data = (void *)(long)ctx->data; @ prog.c:10
1: (61) r1 = *(u32 *)(r1 +0)          ; R1_w=pkt(r=0)
; if (eth->h_proto == 0) @ prog.c:12
2: (71) r3 = *(u8 *)(r1 +12)
invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)
R1 offset is outside of the packet
processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""

LOOP_LOG = """\
back-edge from insn 9 to 7
processed 10 insns (limit 1000000) max_states_per_insn 0 total_states 1 peak_states 1 mark_read 1
"""


def test_the_failing_instruction_and_its_c_line(tmp_path: Path) -> None:
    source = tmp_path / "prog.c"
    source.write_text("\n" * 11 + "    if (eth->h_proto == 0)\n")
    report = verifier.parse_log(PACKET_LOG, tmp_path / "prog.o", source)
    assert report.insn == 2
    assert (report.source_file, report.source_line) == (str(source.resolve()), 12)
    assert report.source_text == "if (eth->h_proto == 0)"  # read from the file
    assert report.error_text.startswith("invalid access to packet, off=12")
    assert "data_end" in report.explanation
    assert report.location == f"{source.resolve()}:12"


def test_the_logged_text_stands_in_for_a_missing_source() -> None:
    report = verifier.parse_log(PACKET_LOG)
    assert (report.source_file, report.source_line) == ("prog.c", 12)
    assert report.source_text == "if (eth->h_proto == 0)"


def test_a_loop_names_its_instruction_in_words() -> None:
    report = verifier.parse_log(LOOP_LOG)
    assert report.insn == 9
    assert report.error_text == "back-edge from insn 9 to 7"
    assert "loop" in report.explanation and report.location is None


def test_unknown_complaints_get_the_general_explanation() -> None:
    assert verifier.explain("R9 is fishy").startswith("the verifier could not prove")
    report = verifier.parse_log("")
    assert report.error_text == "(no reason in the log)" and report.insn is None


def test_the_verifier_error_reads_as_one_located_message(tmp_path: Path) -> None:
    error = verifier.explain_load_failure(
        "xdp_parse", errno.EACCES, PACKET_LOG, "", tmp_path / "prog.o"
    )
    assert isinstance(error, verifier.VerifierError)
    assert error.message.startswith(
        "the verifier refused 'xdp_parse' at instruction 2 (if (eth->h_proto == 0)):"
    )
    assert error.location == "prog.c:12" and error.detail == PACKET_LOG


def test_a_failure_before_the_verifier_names_the_errno(tmp_path: Path) -> None:
    libbpf_log = "libbpf: prog 'xdp_parse': failed to load: -1\n"
    error = verifier.explain_load_failure(
        "xdp_parse", errno.EPERM, "", libbpf_log, tmp_path / "prog.o"
    )
    assert not isinstance(error, verifier.VerifierError)
    assert error.message == (
        "could not load 'xdp_parse': Operation not permitted (EPERM)"
        " (prog 'xdp_parse': failed to load: -1)"
    )
    assert error.hint is not None and "root" in error.hint
    libbpf_own = verifier.explain_load_failure("p", 4007, "", "", tmp_path / "prog.o")
    assert "libbpf error 4007" in libbpf_own.message


# What this kernel logged for advanced01's starter TC program (metadata read unchecked).
META_LOG = """\
0: R1=ctx() R10=fp0
; struct meta_info *meta = (void *)(long)skb->data_meta; @ xdp_prog_kern.c:68
0: (61) r2 = *(u32 *)(r1 +140)        ; R1=ctx() R2=pkt_meta(r=0)
1: (b7) r6 = 1                        ; R6=1
; __u64 *count, first = 1; @ xdp_prog_kern.c:70
2: (7b) *(u64 *)(r10 -16) = r6        ; R6=1 R10=fp0 fp-16=1
; class_id = meta->class_id; @ xdp_prog_kern.c:74
3: (61) r2 = *(u32 *)(r2 +0)
invalid access to packet, off=0 size=4, R2(id=0,off=0,r=0)
R2 offset is outside of the packet
processed 4 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
"""


def test_an_unchecked_metadata_read_is_explained_against_data() -> None:
    """advanced01: the advice was the packet's (compare with data_end, return XDP_DROP) for a
    TC program reading the metadata, whose bound is data."""
    report = verifier.parse_log(META_LOG)
    assert report.insn == 3 and report.source_line == 74
    assert "metadata" in report.explanation and "> data)" in report.explanation
    assert "data_end" not in report.explanation and "XDP_DROP" not in report.explanation
    assert "data_end" in verifier.parse_log(PACKET_LOG).explanation  # packet reads unchanged


def test_arithmetic_on_data_end_is_explained() -> None:
    """experiment01 assignment 2 got the general 'could not prove the program safe'."""
    log = (
        "; last = data_end - 1; @ xdp_prog_kern.c:93\n"
        "2: (07) r2 += -1\n"
        "R2 pointer arithmetic on pkt_end prohibited\n"
    )
    report = verifier.parse_log(log)
    assert "compare with it, never compute from it" in report.explanation
