/* SPDX-License-Identifier: MIT */
/*
 * tracing02 - verdicts the kernel reports, and verdicts it keeps quiet about.
 *
 * xdp_abort_icmp sorts the frames that arrive on the lab's outer end:
 *
 *   ICMPv6 echo requests     -> XDP_ABORTED  (each one shows in the monitor)
 *   UDP to port DROP_PORT    -> XDP_DROP     (gone, and nobody is told)
 *   everything else          -> XDP_PASS
 *
 * Every verdict is also counted in xdp_stats_map (`xdp-tui stats`), so
 * you can compare what the program decided with what the exception
 * monitor saw (`xdp-tui monitor`, or the Live tab in the TUI).
 *
 * The starter gets all three the wrong way round. Look for "Assignment".
 */
#include "common.h"
#include "parsing_helpers.h" /* struct hdr_cursor, parse_*() */
#include "xdp_stats_kern.h"  /* xdp_stats_map, xdp_stats_record_action() */

/* The UDP port whose datagrams are dropped without a word (assignment 3). */
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
	int eth_type, ip_type;

	/*
	 * Assignment 2: the verdict for every frame the code below does not
	 * decide about. XDP_ABORTED says "my program has a bug": as the
	 * default it reports ordinary traffic as errors, and throws it away.
	 */
	__u32 action = XDP_ABORTED;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type != bpf_htons(ETH_P_IPV6))
		goto out;

	ip_type = parse_ip6hdr(&nh, data_end, &ip6h);
	if (ip_type == IPPROTO_ICMPV6) {
		/*
		 * Assignment 1: echo requests are to be aborted, so that each
		 * one shows up in the exception monitor. XDP_DROP throws them
		 * away just as well, but silently.
		 */
		if (parse_icmp6hdr(&nh, data_end, &icmp6h) == ICMPV6_ECHO_REQUEST)
			action = XDP_DROP;
		goto out;
	}

	/*
	 * Assignment 3: UDP datagrams to DROP_PORT are unwanted, not a bug:
	 * parse the UDP header (parse_udphdr) and drop them with XDP_DROP.
	 */
out:
	return xdp_stats_record_action(ctx, action);
}
