/* SPDX-License-Identifier: MIT */
/*
 * playground: your own XDP program. Nothing to fix here; write what you
 * want to try, then keep frames that show it works as saved cases in the
 * packet workbench (see the README), and `c` checks them all.
 *
 * The shared headers are all available:
 *   parsing_helpers.h  parse_ethhdr(), parse_ip6hdr(), parse_udphdr(), ...
 *   rewrite_helpers.h  swap_src_dst_mac(), vlan_tag_pop()/push(), ...
 *   csum_helpers.h     csum_replace2(), ...
 *   xdp_stats_kern.h   xdp_stats_record_action(): per-action counters
 */
#include "common.h"
#include "parsing_helpers.h"
#include "xdp_stats_kern.h"

SEC("xdp")
int xdp_playground_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	/* Assignment 1: your use case from here on; your saved cases say
	 * what it must do. */
	(void)eth_type;

	return xdp_stats_record_action(ctx, XDP_PASS);
}
