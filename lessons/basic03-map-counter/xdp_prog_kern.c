/* SPDX-License-Identifier: MIT */
/*
 * basic03 - counting packets in a BPF map.
 *
 * The program keeps a small table (a BPF map) that user space can read
 * while the program runs: `xdp-tui stats` or the TUI's stats panel show
 * it live. The map is an array with one slot per XDP verdict.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* One slot per verdict: ABORTED=0, DROP=1, PASS=2, TX=3, REDIRECT=4. */
#define XDP_ACTION_MAX 5

/* What one slot holds. */
struct datarec {
	__u64 rx_packets;
	/* Assignment 1: add a second __u64 counter, rx_bytes. */
};

/*
 * A BTF-defined map: the fields describe its type and shape, and libbpf
 * creates it before the program is loaded.
 */
struct {
	/* Assignment 3: make this a per-CPU array. */
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_ACTION_MAX);
} xdp_stats_map SEC(".maps");

/* Count the frame in CTX under VERDICT, then hand VERDICT back. */
static __always_inline __u32 record_verdict(struct xdp_md *ctx, __u32 verdict)
{
	/* Assignment 2: use the verdict as the key, not always XDP_PASS. */
	__u32 key = XDP_PASS;
	struct datarec *rec;

	/* The verifier insists: a lookup may find nothing, check before use. */
	rec = bpf_map_lookup_elem(&xdp_stats_map, &key);
	if (!rec)
		return XDP_ABORTED;

	/* Several CPUs may update this slot at once: add atomically. */
	__sync_fetch_and_add(&rec->rx_packets, 1);

	/*
	 * Assignment 1: also add the frame's length in bytes. The frame runs
	 * from ctx->data to ctx->data_end (cast them through long to pointers).
	 */

	return verdict;
}

/* Passes everything and counts it. */
SEC("xdp")
int xdp_stats1_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_PASS);
}

/* Drops everything and counts it: useful to see a second slot move. */
SEC("xdp")
int xdp_drop_count_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
