/* SPDX-License-Identifier: MIT */
/*
 * tracing02 solution: abort ICMPv6 echo requests (they show in the
 * exception monitor), drop UDP to DROP_PORT silently, pass the rest.
 */
#include "common.h"
#include "parsing_helpers.h"
#include "xdp_stats_kern.h"

#define DROP_PORT 9999

SEC("xdp")
int xdp_abort_icmp(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct icmp6hdr *icmp6h;
	/* >>> assignment 3 */
	struct udphdr *udph;
	/* <<< assignment 3 */
	int eth_type, ip_type;
	/* >>> assignment 2 */
	__u32 action = XDP_PASS; /* what we do not decide about goes on */
	/* <<< assignment 2 */

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type != bpf_htons(ETH_P_IPV6))
		goto out;

	ip_type = parse_ip6hdr(&nh, data_end, &ip6h);
	if (ip_type == IPPROTO_ICMPV6) {
		/* >>> assignment 1 */
		/* Reported: the tracepoint xdp:xdp_exception fires for each one. */
		if (parse_icmp6hdr(&nh, data_end, &icmp6h) == ICMPV6_ECHO_REQUEST)
			action = XDP_ABORTED;
			/* <<< assignment 1 */
		goto out;
	}

	/* >>> assignment 3 */
	if (ip_type == IPPROTO_UDP && parse_udphdr(&nh, data_end, &udph) >= 0 &&
	    udph->dest == bpf_htons(DROP_PORT))
		action = XDP_DROP; /* not reported anywhere but our own stats map */
		/* <<< assignment 3 */
out:
	return xdp_stats_record_action(ctx, action);
}
