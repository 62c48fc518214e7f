/* Every second UDP frame is dropped, decided by the value an atomic add
 * returns (clang needs BPF CPU v3 for that on a 32-bit counter). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../common/parsing_helpers.h"

struct udp_counts {
	__u32 seen;
	__u32 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct udp_counts);
	__uint(max_entries, 1);
} udp_count_map SEC(".maps");

SEC("xdp_every_other")
int xdp_drop_every_other_udp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor nh = { .pos = (void *)(long)ctx->data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct udp_counts *counts;
	__u32 key = 0;
	__u32 before;

	if (parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	if (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_UDP)
		return XDP_PASS;
	counts = bpf_map_lookup_elem(&udp_count_map, &key);
	if (!counts)
		return XDP_ABORTED;
	before = __sync_fetch_and_add(&counts->seen, 1);
	if (before & 1) {
		__sync_fetch_and_add(&counts->dropped, 1);
		return XDP_DROP;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
