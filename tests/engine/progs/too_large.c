/* Refused by the verifier: a bounded loop, but with so many turns that walking
 * every one of them passes the verifier's budget of a million instructions. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} turns SEC(".maps");

SEC("xdp")
int xdp_too_large(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *total;

	for (__u32 i = 0; i < 5000000; i++) {
		total = bpf_map_lookup_elem(&turns, &key);
		if (total)
			*total += i;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
