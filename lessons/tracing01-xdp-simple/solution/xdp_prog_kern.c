/* SPDX-License-Identifier: MIT */
/*
 * tracing01-xdp-simple, solution.
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

/* >>> assignment 2 */
	if (ctx->act != XDP_ABORTED)
		return 0;
/* <<< assignment 2 */
/* >>> assignment 1 */
	count = bpf_map_lookup_elem(&xdp_stats_map, &key);
	if (!count) {
		__u64 first = 1;

		bpf_map_update_elem(&xdp_stats_map, &key, &first, BPF_NOEXIST);
		return 0;
	}
	/* Per-CPU: this CPU's own slot, nobody else writes it. */
	*count += 1;
/* <<< assignment 1 */
	return 0;
}
