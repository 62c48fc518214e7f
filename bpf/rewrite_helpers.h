/* SPDX-License-Identifier: MIT */
/*
 * rewrite_helpers.h - change packets inside an XDP program.
 *
 *   vlan_tag_pop / vlan_tag_push   remove or add an 802.1Q tag (moves the
 *                                  packet start with bpf_xdp_adjust_head)
 *   swap_src_dst_mac/_ipv6/_ipv4   turn a packet around
 *   (csum_replace2 and friends come from csum_helpers.h)
 *
 * Writing to a packet needs the same bounds proof as reading it. After
 * bpf_xdp_adjust_head() every packet pointer the program held is invalid:
 * the verifier forgets them, so re-read ctx->data / ctx->data_end and prove
 * the bounds again before touching the packet.
 */
#ifndef XDP_TUI_REWRITE_HELPERS_H
#define XDP_TUI_REWRITE_HELPERS_H

#include "parsing_helpers.h"
#include "csum_helpers.h"

/*
 * Remove the outermost VLAN tag. `eth` must point at the Ethernet header at
 * the start of the packet. Returns the removed VLAN id, or -1 if the frame
 * has no tag or the move failed. Afterwards `eth` is stale: parse again
 * from ctx->data.
 *
 *   before: | dst | src | 0x8100 | TCI | type | payload
 *   after:        | dst | src | type | payload        (start moved +4)
 */
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

	/* Keep what we need: adjust_head invalidates both pointers. */
	vlan_id = bpf_ntohs(vlh->tci) & VLAN_VID_MASK;
	inner_proto = vlh->encap_proto;
	__builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));

	/* A positive delta moves the start of the packet forward (shrinks). */
	if (bpf_xdp_adjust_head(ctx, (int)sizeof(struct vlan_hdr)))
		return -1;

	eth = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if ((void *)(eth + 1) > data_end)
		return -1;

	__builtin_memcpy(eth, &eth_copy, sizeof(*eth));
	eth->h_proto = inner_proto;
	return vlan_id;
}

/*
 * Add an 802.1Q tag carrying `vlan_id` (priority 0) in front of the
 * EtherType. Returns 0, or -1 on failure. Afterwards `eth` is stale.
 *
 *   before:       | dst | src | type | payload
 *   after:  | dst | src | 0x8100 | TCI | type | payload  (start moved -4)
 */
static __always_inline int vlan_tag_push(struct xdp_md *ctx,
					 struct ethhdr *eth, int vlan_id)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth_copy;
	struct vlan_hdr *vlh;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(&eth_copy, eth, sizeof(eth_copy));

	/* A negative delta grows the packet at the front, into the headroom. */
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

/* Exchange source and destination MAC addresses. */
static __always_inline void swap_src_dst_mac(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
}

/* Exchange IPv6 addresses. The ICMPv6/UDP/TCP checksum stays valid:
 * the pseudo-header sum does not depend on the order of the addresses. */
static __always_inline void swap_src_dst_ipv6(struct ipv6hdr *ip6h)
{
	struct in6_addr tmp = ip6h->saddr;

	ip6h->saddr = ip6h->daddr;
	ip6h->daddr = tmp;
}

/* Exchange IPv4 addresses; the header checksum stays valid for the same
 * reason. */
static __always_inline void swap_src_dst_ipv4(struct iphdr *iph)
{
	__be32 tmp = iph->saddr;

	iph->saddr = iph->daddr;
	iph->daddr = tmp;
}

#endif /* XDP_TUI_REWRITE_HELPERS_H */
