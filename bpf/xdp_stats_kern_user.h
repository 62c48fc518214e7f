/* SPDX-License-Identifier: MIT */
/*
 * xdp_stats_kern_user.h - the layout of one stats-map value.
 *
 * Shared by BPF programs and anything in user space that reads the map
 * raw, so both sides agree on the 16-byte value.
 */
#ifndef XDP_STATS_KERN_USER_H
#define XDP_STATS_KERN_USER_H

#include <linux/types.h>

/* One slot per XDP verdict: ABORTED, DROP, PASS, TX, REDIRECT. */
#ifndef XDP_ACTION_MAX
#define XDP_ACTION_MAX 5
#endif

/* What we count for one verdict. */
struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
};

#endif /* XDP_STATS_KERN_USER_H */
