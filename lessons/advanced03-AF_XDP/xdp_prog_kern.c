/* SPDX-License-Identifier: MIT */
/*
 * advanced03-AF_XDP: frames to user space through an AF_XDP socket.
 *
 *   xdp_sock_all     sends every frame to the AF_XDP socket of its RX queue
 *   xdp_sock_some    sends every other ICMPv6 echo request to the socket;
 *                    everything else goes up the kernel's stack
 *   xdp_echo_reply   not attached anywhere: user space runs it on each frame
 *                    its socket received and sends the result through the
 *                    TX ring when it returns XDP_TX
 *
 * Every verdict of the two steering programs is counted in xdp_stats_map.
 * Look for "Assignment" below.
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

	/* Assignment 1: send the frame to the socket in the xsks_map slot of
	 * the queue it arrived on (ctx->rx_queue_index). When no socket is
	 * there, the frame should still reach the kernel. */
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_sock_some(struct xdp_md *ctx)
{
	struct icmp6hdr *icmp6h;
	struct ipv6hdr *ip6h;
	struct ethhdr *eth;
	__u32 action = XDP_PASS;

	if (!parse_echo_request(ctx, &eth, &ip6h, &icmp6h))
		goto out;

	/* Assignment 2: count this request in echo_count[queue]; send the
	 * 1st, 3rd, 5th, ... to the socket and let the kernel have the others. */
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

	if (!parse_echo_request(ctx, &eth, &ip6h, &icmp6h))
		goto out;

	/* Assignment 3: turn the request into its reply, in place, and
	 * return XDP_TX so that user space sends it through the TX ring. */
out:
	return action;
}
