/* Maps declared by sizes only (no __type): the kernel gets no BTF type for their values,
 * as with objects built by older tools. A per-CPU stats-like map of two u64 words per
 * action, and a 12-byte value that is not made of u64 words. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 2 * sizeof(__u64));
	__uint(max_entries, 5);
} xdp_stats_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 12);
	__uint(max_entries, 1);
} odd_sized SEC(".maps");

SEC("xdp")
int xdp_count_words(struct xdp_md *ctx)
{
	__u32 key = XDP_PASS;
	__u64 *words = bpf_map_lookup_elem(&xdp_stats_map, &key);
	__u32 zero = 0;
	__u8 *odd = bpf_map_lookup_elem(&odd_sized, &zero);

	if (!words || !odd)
		return XDP_ABORTED;
	words[0] += 1;
	words[1] += ctx->data_end - ctx->data;
	odd[11] = 0xab;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
