/* SPDX-License-Identifier: MIT */
/*
 * playground: your own XDP program, for your own use case.
 *
 * Nothing to fix here and no assignment: a skeleton that finds the
 * Ethernet header and passes every frame, counting the verdict in
 * xdp_stats_map so that the Live tab has something to show from the start.
 * Change it into whatever you want to try. The helpers of the earlier
 * lessons are all included.
 */
#include "common.h"
#include "parsing_helpers.h" /* parse_ethhdr(), parse_ip6hdr(), parse_udphdr(), ... */
#include "rewrite_helpers.h" /* swap_src_dst_*(), vlan_tag_pop/push(), csum_replace2() */
#include "xdp_stats_kern.h"  /* xdp_stats_record_action() */

SEC("xdp")
int xdp_playground(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	__u32 action = XDP_PASS;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type < 0)
		goto out;

	/* Your use case starts here: look further into the frame with the
	 * parse_*() helpers, decide, rewrite, count in a map of your own ... */

out:
	return xdp_stats_record_action(ctx, action);
}
