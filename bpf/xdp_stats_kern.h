/* SPDX-License-Identifier: MIT */
/*
 * xdp_stats_kern.h - a per-verdict packet and byte counter for XDP programs.
 *
 * Include it after <linux/bpf.h> and <bpf/bpf_helpers.h> (or "common.h"),
 * then end your program with
 *
 *     return xdp_stats_record_action(ctx, action);
 *
 * The map is pinned by name, so a loader that pins maps (xdp-tui does,
 * under /sys/fs/bpf/<interface>/) keeps one xdp_stats_map per interface
 * and counters survive reloading the program.
 */
#ifndef XDP_STATS_KERN_H
#define XDP_STATS_KERN_H

#include "xdp_stats_kern_user.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, XDP_ACTION_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} xdp_stats_map SEC(".maps");

/*
 * Count this packet under ACTION and hand ACTION back. Each CPU owns its
 * slot of a per-CPU array, so plain additions are safe: no atomics.
 * An action the map has no slot for becomes XDP_ABORTED, so a bug shows
 * up in the exception tracepoint instead of passing silently.
 */
static __always_inline __u32 xdp_stats_record_action(struct xdp_md *ctx, __u32 action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct datarec *rec;

	if (action >= XDP_ACTION_MAX)
		return XDP_ABORTED;

	rec = bpf_map_lookup_elem(&xdp_stats_map, &action);
	if (!rec)
		return XDP_ABORTED;

	rec->rx_packets++;
	rec->rx_bytes += data_end - data;
	return action;
}

#endif /* XDP_STATS_KERN_H */
