/* SPDX-License-Identifier: MIT */
/*
 * basic04 solution - every program records its verdict in one stats map,
 * and the map asks to be pinned by name so every loader reuses it.
 * (bpf/xdp_stats_kern.h holds the same map and recorder for later lessons.)
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define XDP_ACTION_MAX 5

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

/* >>> assignment 2 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_ACTION_MAX);
	/* Pinned as <pin folder>/xdp_stats_map; reused when the shape matches. */
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_stats_map SEC(".maps");
/* <<< assignment 2 */

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

/* >>> assignment 1 */
SEC("xdp")
int xdp_drop_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_DROP);
}

SEC("xdp")
int xdp_abort_func(struct xdp_md *ctx)
{
	return record_verdict(ctx, XDP_ABORTED);
}
/* <<< assignment 1 */

char _license[] SEC("license") = "GPL";
