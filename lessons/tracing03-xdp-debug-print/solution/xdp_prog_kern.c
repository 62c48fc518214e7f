/* SPDX-License-Identifier: MIT */
/*
 * tracing03 solution - one debug line per Ethernet frame:
 * source MAC, destination MAC and EtherType, all in the order people read them.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
/* >>> assignment 1 */
#include <bpf/bpf_endian.h>
/* <<< assignment 1 */

/*
 * The six bytes of a MAC address as one number, first byte most
 * significant, so that "%012llx" prints them as `ip link` shows them
 * (without the colons).
 */
/* >>> assignment 2 */
static __always_inline __u64 mac_to_u64(const unsigned char *mac)
{
	__u64 value = 0;
	int i;

	for (i = 0; i < ETH_ALEN; i++)
		value = (value << 8) | mac[i];
	return value;
}
/* <<< assignment 2 */

SEC("xdp")
int xdp_prog_simple(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	/* Three values: the most one bpf_trace_printk() call can take. */
	/* >>> assignment 1 */
	bpf_printk("xdp-debug src=%012llx dst=%012llx proto=%u",
		   mac_to_u64(eth->h_source), mac_to_u64(eth->h_dest),
		   bpf_ntohs(eth->h_proto));
		   /* <<< assignment 1 */
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
