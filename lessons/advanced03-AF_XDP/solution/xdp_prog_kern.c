/* SPDX-License-Identifier: MIT */
/*
 * advanced03-AF_XDP, solution.
 *
 *   xdp_sock_all     sends every frame to the AF_XDP socket of its RX queue
 *   xdp_sock_some    sends every other ICMPv6 echo request to the socket;
 *                    everything else goes up the kernel's stack
 *   xdp_echo_reply   not attached anywhere: user space runs it on each frame
 *                    its socket received and sends the result through the
 *                    TX ring when it returns XDP_TX
 *
 * Every verdict of the two steering programs is counted in xdp_stats_map.
 * Look for "Assignment" in the starter.
 */
#include "common.h"
#include "parsing_helpers.h" /* parse_*() */
#include "rewrite_helpers.h" /* swap_src_dst_*(), csum_replace2() */
#include "xdp_stats_kern.h"

/* Slot N holds the AF_XDP socket bound to RX queue N (user space puts it there). */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 64);
} xsks_map SEC(".maps");

/* ICMPv6 echo requests seen per RX queue, for xdp_sock_some. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} echo_count SEC(".maps");

/* An ICMPv6 echo request? Then true, with the three headers found. */
static __always_inline int parse_echo_request(struct xdp_md *ctx, struct ethhdr **eth,
					      struct ipv6hdr **ip6h,
					      struct icmp6hdr **icmp6h)
{
	void *data_end = (void *)(long)ctx->data_end;
	struct hdr_cursor nh = { .pos = (void *)(long)ctx->data };

	return parse_ethhdr(&nh, data_end, eth) == bpf_htons(ETH_P_IPV6) &&
	       parse_ip6hdr(&nh, data_end, ip6h) == IPPROTO_ICMPV6 &&
	       parse_icmp6hdr(&nh, data_end, icmp6h) == ICMPV6_ECHO_REQUEST;
}

SEC("xdp")
int xdp_sock_all(struct xdp_md *ctx)
{
	__u32 action = XDP_PASS;

	/* >>> assignment 1 */
	/* The last argument is what happens when no socket sits in the slot. */
	action = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
	/* <<< assignment 1 */
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_sock_some(struct xdp_md *ctx)
{
	struct icmp6hdr *icmp6h;
	struct ipv6hdr *ip6h;
	struct ethhdr *eth;
	__u32 action = XDP_PASS;
	/* >>> assignment 2 */
	__u32 queue = ctx->rx_queue_index;
	__u64 *seen;
	/* <<< assignment 2 */

	if (!parse_echo_request(ctx, &eth, &ip6h, &icmp6h))
		goto out;

	/* >>> assignment 2 */
	seen = bpf_map_lookup_elem(&echo_count, &queue);
	if (!seen)
		goto out;
	/* One counter per queue, shared by every CPU: count atomically. */
	if (__sync_fetch_and_add(seen, 1) & 1)
		goto out; /* the 2nd, 4th, ... request: the kernel answers it */
	action = bpf_redirect_map(&xsks_map, queue, XDP_PASS);
	/* <<< assignment 2 */
out:
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_echo_reply(struct xdp_md *ctx)
{
	struct icmp6hdr *icmp6h;
	struct ipv6hdr *ip6h;
	struct ethhdr *eth;
	__u32 action = XDP_PASS; /* to user space: "do not answer this one" */
	/* >>> assignment 3 */
	__be16 old_word;
	/* <<< assignment 3 */

	if (!parse_echo_request(ctx, &eth, &ip6h, &icmp6h))
		goto out;

	/* >>> assignment 3 */
	/* Type and code are the first 16-bit word the checksum covers. */
	old_word = *(__be16 *)icmp6h;
	icmp6h->icmp6_type = ICMPV6_ECHO_REPLY;
	csum_replace2(&icmp6h->icmp6_cksum, old_word, *(__be16 *)icmp6h);
	swap_src_dst_ipv6(ip6h);
	swap_src_dst_mac(eth);
	action = XDP_TX; /* to user space: "send this frame back" */
	/* <<< assignment 3 */
out:
	return action;
}
