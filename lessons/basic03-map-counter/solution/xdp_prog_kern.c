/* SPDX-License-Identifier: MIT */
/*
 * basic03 solution - per-CPU packet and byte counters, one slot per verdict.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XDP_ACTION_MAX 5

/* >>> assignment 1 */
struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};
/* <<< assignment 1 */

/* >>> assignment 3 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	/* <<< assignment 3 */
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_ACTION_MAX);
} xdp_stats_map SEC(".maps");

static __always_inline __u32 record_verdict(struct xdp_md *ctx, __u32 verdict)
{
	/* >>> assignment 1 */
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	/* <<< assignment 1 */
	/* >>> assignment 2 */
	__u32 key = verdict;
	/* <<< assignment 2 */
	struct datarec *rec;

	rec = bpf_map_lookup_elem(&xdp_stats_map, &key);
	if (!rec)
		return XDP_ABORTED;

	/* >>> assignment 3 */
	/*
	 * Each CPU has its own copy of the slot, so nobody else writes to it
	 * while we do: plain additions are enough. User space adds the copies up.
	 */
	/* >>> assignment 1 */
	rec->rx_packets++;
	/* <<< assignment 3 */
	rec->rx_bytes += data_end - data;
	/* <<< assignment 1 */
	return verdict;
}

SEC("xdp")
int xdp_stats1_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_PASS);
}

SEC("xdp")
int xdp_drop_count_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
