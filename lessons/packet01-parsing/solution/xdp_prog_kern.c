/* SPDX-License-Identifier: MIT */
/*
 * packet01-parsing, solution: drop ICMP(v6) echo requests with an even
 * sequence number, pass everything else; VLAN tags are skipped.
 */
#include <linux/if_ether.h>
/* >>> assignment 5 */
#include <linux/ip.h>
/* <<< assignment 5 */
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
/* >>> assignment 5 */
#include <linux/in.h>
/* <<< assignment 5 */

#include "common.h"
/* >>> assignment 5 */
#include "icmp_defs.h" /* struct icmphdr; see the README why not <linux/icmp.h> */
/* <<< assignment 5 */
#include "xdp_stats_kern.h"

/* >>> assignment 4 */
#define VLAN_MAX_DEPTH 2
/* <<< assignment 4 */

struct hdr_cursor {
	void *pos;
};

/* >>> assignment 4 */
/* An 802.1Q/802.1AD tag; the uapi headers have no struct for it. */
struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) ||
	       h_proto == bpf_htons(ETH_P_8021AD);
}
/* <<< assignment 4 */

/* Ethernet header plus up to VLAN_MAX_DEPTH tags; returns the inner type. */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;
	/* >>> assignment 4 */
	struct vlan_hdr *vlh;
	__u16 h_proto;
	int i;
	/* <<< assignment 4 */

	/* >>> assignment 1 */
	if ((void *)(eth + 1) > data_end)
		return -1;
		/* <<< assignment 1 */

	/* >>> assignment 4 */
	*ethhdr = eth;
	h_proto = eth->h_proto;
	vlh = (void *)(eth + 1);

	/* A loop with a constant bound: the verifier sees that it ends. */
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!proto_is_vlan(h_proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			break;
		h_proto = vlh->encap_proto;
		vlh++;
	}

	nh->pos = vlh;
	return h_proto;
	/* <<< assignment 4 */
}

/* >>> assignment 2 */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end,
					struct ipv6hdr **ip6hdr)
{
	struct ipv6hdr *ip6h = nh->pos;

	if ((void *)(ip6h + 1) > data_end)
		return -1;

	nh->pos = ip6h + 1;
	*ip6hdr = ip6h;
	return ip6h->nexthdr;
}
/* <<< assignment 2 */

/* >>> assignment 3 */
static __always_inline int parse_icmp6hdr(struct hdr_cursor *nh,
					  void *data_end,
					  struct icmp6hdr **icmp6hdr)
{
	struct icmp6hdr *icmp6h = nh->pos;

	if ((void *)(icmp6h + 1) > data_end)
		return -1;

	nh->pos = icmp6h + 1;
	*icmp6hdr = icmp6h;
	return icmp6h->icmp6_type;
}
/* <<< assignment 3 */

/* >>> assignment 5 */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end,
				       struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;
	int hdrsize;

	/* Step 1: the fixed part, so that reading ihl is allowed. */
	if ((void *)(iph + 1) > data_end)
		return -1;

	/* Step 2: the real length, options included. */
	hdrsize = iph->ihl * 4;
	if (hdrsize < (int)sizeof(*iph))
		return -1;
	if (nh->pos + hdrsize > data_end)
		return -1;

	nh->pos += hdrsize;
	*iphdr = iph;
	return iph->protocol;
}

static __always_inline int parse_icmphdr(struct hdr_cursor *nh, void *data_end,
					 struct icmphdr **icmphdr)
{
	struct icmphdr *icmph = nh->pos;

	if ((void *)(icmph + 1) > data_end)
		return -1;

	nh->pos = icmph + 1;
	*icmphdr = icmph;
	return icmph->type;
}
/* <<< assignment 5 */

/* >>> assignment 3 */
/* The verdict for an echo request: even sequence numbers are dropped. */
static __always_inline __u32 verdict_for_seq(__be16 sequence)
{
	return (bpf_ntohs(sequence) % 2 == 0) ? XDP_DROP : XDP_PASS;
}
/* <<< assignment 3 */

SEC("xdp")
int xdp_parser_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct icmp6hdr *icmp6h;
	struct iphdr *iph;
	struct icmphdr *icmph;
	__u32 action = XDP_PASS;
	int nh_type;

	nh_type = parse_ethhdr(&nh, data_end, &eth);

	/* >>> assignment 2 */
	if (nh_type == bpf_htons(ETH_P_IPV6)) {
		if (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_ICMPV6)
			goto out;
			/* <<< assignment 2 */
		/* >>> assignment 3 */
		if (parse_icmp6hdr(&nh, data_end, &icmp6h) != ICMPV6_ECHO_REQUEST)
			goto out;
		action = verdict_for_seq(icmp6h->icmp6_sequence);
		/* <<< assignment 3 */
	/* >>> assignment 5 */
	} else if (nh_type == bpf_htons(ETH_P_IP)) {
		if (parse_iphdr(&nh, data_end, &iph) != IPPROTO_ICMP)
			goto out;
		if (parse_icmphdr(&nh, data_end, &icmph) != ICMP_ECHO)
			goto out;
		action = verdict_for_seq(icmph->un.echo.sequence);
	}
	/* <<< assignment 5 */
out:
	return xdp_stats_record_action(ctx, action);
}
