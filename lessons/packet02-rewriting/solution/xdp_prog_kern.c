/* SPDX-License-Identifier: MIT */
/*
 * packet02-rewriting, solution.
 */
#include "common.h"
#include "parsing_helpers.h"
#include "csum_helpers.h"
#include "xdp_stats_kern.h"

/* >>> assignment 1 */
/* Lower a port by one and keep the transport checksum right. */
static __always_inline void lower_port(__be16 *port, __sum16 *check)
{
	__be16 old_port = *port;

	*port = bpf_htons(bpf_ntohs(old_port) - 1);
	csum_replace2(check, old_port, *port);
}

static __always_inline void rewrite_udp(struct hdr_cursor *nh, void *data_end,
					int ipv4)
{
	struct udphdr *udph;

	if (parse_udphdr(nh, data_end, &udph) < 0)
		return;

	if (ipv4 && udph->check == 0) {
		/* IPv4 UDP without a checksum: only the port changes. */
		udph->dest = bpf_htons(bpf_ntohs(udph->dest) - 1);
		return;
	}
	lower_port(&udph->dest, &udph->check);
	/* In UDP a checksum field of 0 means "none"; a real 0 is sent as 0xffff. */
	if (udph->check == 0)
		udph->check = 0xffff;
}

static __always_inline void rewrite_tcp(struct hdr_cursor *nh, void *data_end)
{
	struct tcphdr *tcph;

	if (parse_tcphdr(nh, data_end, &tcph) < 0)
		return;
	lower_port(&tcph->dest, &tcph->check);
}
/* <<< assignment 1 */

SEC("xdp")
int xdp_port_rewrite_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	int eth_type, ip_type = -1;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type == bpf_htons(ETH_P_IPV6))
		ip_type = parse_ip6hdr(&nh, data_end, &ip6h);
	else if (eth_type == bpf_htons(ETH_P_IP))
		ip_type = parse_iphdr(&nh, data_end, &iph);

	/* >>> assignment 1 */
	if (ip_type == IPPROTO_UDP)
		rewrite_udp(&nh, data_end, eth_type == bpf_htons(ETH_P_IP));
	else if (ip_type == IPPROTO_TCP)
		rewrite_tcp(&nh, data_end);
		/* <<< assignment 1 */

	return xdp_stats_record_action(ctx, XDP_PASS);
}

/* >>> assignment 2 */
static __always_inline int vlan_tag_pop(struct xdp_md *ctx, struct ethhdr *eth)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct vlan_hdr *vlh = (void *)(eth + 1);
	struct ethhdr eth_copy;
	__be16 inner_proto;
	int vlan_id;

	if ((void *)(vlh + 1) > data_end)
		return -1;
	if (!proto_is_vlan(eth->h_proto))
		return -1;

	vlan_id = bpf_ntohs(vlh->tci) & VLAN_VID_MASK;
	inner_proto = vlh->encap_proto;
	__builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));

	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
		return -1;

	/* Every packet pointer is stale now: start over from ctx. */
	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(eth + 1) > data_end)
		return -1;

	__builtin_memcpy(eth, &eth_copy, sizeof(*eth));
	eth->h_proto = inner_proto;
	return vlan_id;
}
/* <<< assignment 2 */

/* >>> assignment 3 */
static __always_inline int vlan_tag_push(struct xdp_md *ctx,
					 struct ethhdr *eth, int vlan_id)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth_copy;
	struct vlan_hdr *vlh;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));

	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr)))
		return -1;

	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	vlh = (void *)(eth + 1);
	if ((void *)(vlh + 1) > data_end)
		return -1;

	__builtin_memcpy(eth, &eth_copy, sizeof(*eth));
	vlh->tci = bpf_htons(vlan_id & VLAN_VID_MASK);
	vlh->encap_proto = eth_copy.h_proto;
	eth->h_proto = bpf_htons(ETH_P_8021Q);
	return 0;
}
/* <<< assignment 3 */

SEC("xdp")
int xdp_vlan_swap_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;

	if (parse_ethhdr(&nh, data_end, &eth) < 0)
		return xdp_stats_record_action(ctx, XDP_PASS);

	if (proto_is_vlan(eth->h_proto))
		vlan_tag_pop(ctx, eth);
	else
		vlan_tag_push(ctx, eth, 1);

	return xdp_stats_record_action(ctx, XDP_PASS);
}
