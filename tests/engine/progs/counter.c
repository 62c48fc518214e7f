/* Counts packets and bytes per XDP action in a per-CPU array, like the lessons' stats map. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, 5);
} xdp_stats_map SEC(".maps");

static __always_inline int count(struct xdp_md *ctx, __u32 action)
{
	struct datarec *rec = bpf_map_lookup_elem(&xdp_stats_map, &action);
	if (!rec)
		return XDP_ABORTED;
	rec->rx_packets++;
	rec->rx_bytes += ctx->data_end - ctx->data;
	return action;
}

SEC("xdp")
int xdp_count_pass(struct xdp_md *ctx)
{
	return count(ctx, XDP_PASS);
}

SEC("xdp")
int xdp_count_drop(struct xdp_md *ctx)
{
	return count(ctx, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
