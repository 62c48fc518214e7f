/* SPDX-License-Identifier: MIT */
/*
 * advanced01-xdp-tc-interact, solution.
 */
#include "common.h"
#include "parsing_helpers.h"
#include <linux/pkt_cls.h> /* TC_ACT_OK */

/* What XDP leaves in front of the packet for TC to read. */
struct meta_info {
	__u32 class_id; /* the UDP destination port, host byte order */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);   /* class_id as TC read it; 0: no metadata */
	__type(value, __u64); /* frames */
	__uint(max_entries, 1024);
} tc_classes SEC(".maps");

SEC("xdp")
int xdp_classify_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct udphdr *udph;
	struct meta_info *meta;
	__u32 class_id;

	if (parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	if (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_UDP)
		return XDP_PASS;
	if (parse_udphdr(&nh, data_end, &udph) < 0)
		return XDP_PASS;
	class_id = bpf_ntohs(udph->dest);

/* >>> assignment 2 */
	/* Room for the metadata, in front of the packet. */
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*meta)))
		return XDP_PASS;
	/* All packet pointers are stale now; the metadata ends where data starts. */
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if ((void *)(meta + 1) > data)
		return XDP_PASS;
	meta->class_id = class_id;
/* <<< assignment 2 */
	return XDP_PASS;
}

SEC("tc")
int tc_count_func(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	struct meta_info *meta = (void *)(long)skb->data_meta;
	__u32 class_id = 0;
	__u64 *count, first = 1;

/* >>> assignment 1 */
	/* No metadata (or too little) is normal: prove it is there first. */
	if ((void *)(meta + 1) <= data)
		class_id = meta->class_id;
/* <<< assignment 1 */

	skb->mark = class_id; /* for the rest of the stack: routing, firewall */
	count = bpf_map_lookup_elem(&tc_classes, &class_id);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&tc_classes, &class_id, &first, BPF_NOEXIST);
	return TC_ACT_OK;
}
