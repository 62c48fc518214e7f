/* Same map name as counter.c but a different shape: its pin cannot be reused. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 5);
} xdp_stats_map SEC(".maps");

SEC("xdp")
int xdp_count_other(struct xdp_md *ctx)
{
	__u32 key = XDP_PASS;
	__u64 *n = bpf_map_lookup_elem(&xdp_stats_map, &key);
	if (n)
		*n += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
