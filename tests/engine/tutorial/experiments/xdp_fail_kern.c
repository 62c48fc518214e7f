/* Programs that must be refused by the verifier, one reason each. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "../common/parsing_helpers.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} seen_map SEC(".maps");

/* Reads the EtherType without proving the header is inside the packet. */
SEC("xdp_fail1")
int xdp_unchecked_read(struct xdp_md *ctx)
{
	struct ethhdr *eth = (void *)(long)ctx->data;

	if (eth->h_proto == 0)
		return XDP_DROP;
	return XDP_PASS;
}

/* Uses a hash map lookup's result without checking it for NULL. */
SEC("xdp_fail2")
int xdp_unchecked_lookup(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *count = bpf_map_lookup_elem(&seen_map, &key);

	*count += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
