/* SPDX-License-Identifier: MIT */
/*
 * tracing01-xdp-simple: count XDP's failures from outside XDP.
 *
 *   xdp_abort_func       the program that fails: it aborts IPv6 ICMP (every
 *                        ping) and returns a number that is no XDP action
 *                        for IPv6 UDP. Both end in the xdp:xdp_exception
 *                        tracepoint. Attach it to the lab.
 *   trace_xdp_exception  runs at that tracepoint for every XDP program on
 *                        the machine; counts aborts per interface in
 *                        xdp_stats_map (assignments 1 and 2).
 *
 * Look for "Assignment" below.
 */
#include "common.h"
#include "parsing_helpers.h"

/* Not an XDP action: the kernel treats it like XDP_ABORTED but reports it
 * with its own number (and warns once in the kernel log). */
#define XDP_NOT_AN_ACTION 7

/*
 * The context of the xdp:xdp_exception tracepoint, as
 * /sys/kernel/tracing/events/xdp/xdp_exception/format lays it out.
 */
struct xdp_exception_ctx {
	__u64 common;   /* offset 0: type, flags, preempt count, pid */
	__s32 prog_id;  /* offset 8 */
	__u32 act;      /* offset 12 */
	__s32 ifindex;  /* offset 16 */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __s32);   /* ifindex */
	__type(value, __u64); /* aborted frames */
	__uint(max_entries, 256);
} xdp_stats_map SEC(".maps");

SEC("xdp")
int xdp_abort_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	int proto;

	if (parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	proto = parse_ip6hdr(&nh, data_end, &ip6h);
	if (proto == IPPROTO_ICMPV6)
		return XDP_ABORTED;
	if (proto == IPPROTO_UDP)
		return XDP_NOT_AN_ACTION;
	return XDP_PASS;
}

SEC("tracepoint/xdp/xdp_exception")
int trace_xdp_exception(struct xdp_exception_ctx *ctx)
{
	__s32 key = ctx->ifindex;
	__u64 *count;

	/* Assignment 2: this tracepoint fires for other failures too (an
	 * action number that does not exist, a TX that could not be sent).
	 * Count only real aborts: ctx->act == XDP_ABORTED. */
	/* Assignment 1: add one to this interface's count in xdp_stats_map.
	 * The map is a hash: the first abort of an interface finds no entry
	 * and must insert one (bpf_map_update_elem with BPF_NOEXIST). It is
	 * also per-CPU: the value you get is this CPU's own. */
	(void)key;
	(void)count;
	return 0;
}
