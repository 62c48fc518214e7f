/* SPDX-License-Identifier: MIT */
/*
 * basic04 - a stats map that outlives the program using it.
 *
 * Three programs share one per-CPU stats map. Load one, ping, load
 * another: a pinned map keeps its counters across the swap.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XDP_ACTION_MAX 5

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_ACTION_MAX);
	/*
	 * Assignment 2: ask every loader to pin this map by its name, so any
	 * loader given a pin folder (xdp-tui, xdp-loader --pin-path, ...) finds
	 * the map already there and reuses it instead of making a fresh one.
	 */
} xdp_stats_map SEC(".maps");

/* Count the frame under VERDICT (per CPU, no atomics needed) and return VERDICT. */
static __always_inline __u32 record_verdict(struct xdp_md *ctx, __u32 verdict)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct datarec *rec;

	if (verdict >= XDP_ACTION_MAX)
		return XDP_ABORTED;
	rec = bpf_map_lookup_elem(&xdp_stats_map, &verdict);
	if (!rec)
		return XDP_ABORTED;
	rec->rx_packets++;
	rec->rx_bytes += data_end - data;
	return verdict;
}

SEC("xdp")
int xdp_pass_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_PASS);
}

SEC("xdp")
int xdp_drop_func(struct xdp_md *ctx)
{
	/* Assignment 1: count the frames this program drops, like xdp_pass_func does. */
	return XDP_DROP;
}

SEC("xdp")
int xdp_abort_func(struct xdp_md *ctx)
{
	/* Assignment 1: count these too. */
	return XDP_ABORTED;
}

char _license[] SEC("license") = "GPL";
