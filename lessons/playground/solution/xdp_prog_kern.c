/* SPDX-License-Identifier: MIT */
/*
 * playground, an example of a use case and its cases: a tiny firewall that
 * drops UDP to port 9 ("discard") over IPv4 and IPv6 and aborts on frames
 * whose IP header is cut short. Its saved cases are in packet-cases.json
 * beside this file.
 */
#include "common.h"
#include "parsing_helpers.h"
#include "xdp_stats_kern.h"

#define BLOCKED_PORT 9

SEC("xdp")
int xdp_playground_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	struct udphdr *udph;
	int eth_type, ip_type;

/* >>> assignment 1 */
	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type == bpf_htons(ETH_P_IPV6))
		ip_type = parse_ip6hdr(&nh, data_end, &ip6h);
	else if (eth_type == bpf_htons(ETH_P_IP))
		ip_type = parse_iphdr(&nh, data_end, &iph);
	else
		return xdp_stats_record_action(ctx, XDP_PASS);
	if (ip_type < 0) /* an IP frame too short for its header */
		return xdp_stats_record_action(ctx, XDP_ABORTED);
	if (ip_type == IPPROTO_UDP && parse_udphdr(&nh, data_end, &udph) >= 0 &&
	    udph->dest == bpf_htons(BLOCKED_PORT))
		return xdp_stats_record_action(ctx, XDP_DROP);
/* <<< assignment 1 */
	return xdp_stats_record_action(ctx, XDP_PASS);
}
