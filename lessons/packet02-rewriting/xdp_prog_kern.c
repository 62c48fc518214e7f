/* SPDX-License-Identifier: MIT */
/*
 * packet02-rewriting: change packets on their way through.
 *
 *   xdp_port_rewrite_func  lowers the destination port of UDP and TCP by one
 *   xdp_vlan_swap_func     removes the VLAN tag of tagged frames and tags
 *                          untagged frames with VLAN id 1
 *
 * Every verdict is counted in xdp_stats_map (`xdp-tui stats`).
 * Look for "Assignment" below.
 */
#include "common.h"
#include "parsing_helpers.h" /* struct hdr_cursor, parse_*(), struct vlan_hdr */
#include "csum_helpers.h"    /* csum_replace2() */
#include "xdp_stats_kern.h"

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

	/*
	 * Assignment 1: the cursor now points at the transport header.
	 * For IPPROTO_UDP: parse_udphdr(), then set the destination port to
	 * one less (ports are in network byte order: bpf_ntohs/bpf_htons)
	 * and fix udp->check with csum_replace2(). Two special cases:
	 *   - IPv4 UDP may carry no checksum at all (check == 0): leave it 0;
	 *   - a computed checksum of 0 goes on the wire as 0xffff.
	 * For IPPROTO_TCP: parse_tcphdr(), same port change, fix tcp->check.
	 */
	(void)ip_type;

	return xdp_stats_record_action(ctx, XDP_PASS);
}

/*
 * Assignment 2: remove the outermost VLAN tag. `eth` points at the start
 * of the packet. Return the VLAN id, or -1 if there is no tag.
 *   1. prove that eth and one struct vlan_hdr fit; check proto_is_vlan();
 *   2. keep copies of what you still need: the Ethernet header, the VLAN
 *      id and the inner EtherType (adjust_head invalidates the pointers);
 *   3. bpf_xdp_adjust_head(ctx, sizeof(struct vlan_hdr)) moves the start
 *      4 bytes forward; it returns non-zero on failure;
 *   4. re-read ctx->data / ctx->data_end, prove the new Ethernet header
 *      fits, write the copy back and set h_proto to the inner EtherType.
 */
static __always_inline int vlan_tag_pop(struct xdp_md *ctx, struct ethhdr *eth)
{
	return -1;
}

/*
 * Assignment 3: add a VLAN tag with id VLAN_ID in front of the EtherType.
 * Return 0, or -1 on failure. Copy the Ethernet header, grow the packet
 * at the front with bpf_xdp_adjust_head(ctx, -(int)sizeof(struct vlan_hdr)),
 * re-read and re-check the pointers, write the Ethernet header back, fill
 * the tag (TCI = VLAN id, then the old EtherType) and set h_proto to
 * ETH_P_8021Q.
 */
static __always_inline int vlan_tag_push(struct xdp_md *ctx,
					 struct ethhdr *eth, int vlan_id)
{
	return -1;
}

/* Given: pop the tag of tagged frames, tag untagged frames with id 1. */
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
