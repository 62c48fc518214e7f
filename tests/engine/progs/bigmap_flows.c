/* Test program for big-map reads (engine/bigmap.py): UDP frames counted per
 * source port in a hash map (shared counters) and per IPv6 source address in
 * a per-CPU hash map. `flows` is allocated on demand so a test can fill it
 * from user space to a million entries without the kernel reserving them all.
 * bigmap_flows_100k.c includes this file with FLOWS_MAX_ENTRIES set lower. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef FLOWS_MAX_ENTRIES
#define FLOWS_MAX_ENTRIES (1 << 20)
#endif

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32); /* UDP source port */
	__type(value, struct flow_stats);
	__uint(max_entries, FLOWS_MAX_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct in6_addr); /* IPv6 source address */
	__type(value, struct flow_stats);
	__uint(max_entries, 1024);
} by_src SEC(".maps");

static __always_inline void count(void *map, const void *key, __u64 len, int shared)
{
	struct flow_stats *stats = bpf_map_lookup_elem(map, key);
	struct flow_stats fresh = { 1, len };

	if (!stats) {
		if (bpf_map_update_elem(map, key, &fresh, BPF_NOEXIST) == 0)
			return; /* a new key, counted */
		stats = bpf_map_lookup_elem(map, key); /* another CPU made it first */
		if (!stats)
			return;
	}
	if (shared) {
		__sync_fetch_and_add(&stats->packets, 1);
		__sync_fetch_and_add(&stats->bytes, len);
	} else {
		stats->packets += 1;
		stats->bytes += len;
	}
}

SEC("xdp")
int xdp_count_flows(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip6 + 1);
	__u64 len = data_end - data;
	__u32 port;

	if ((void *)(udp + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6) || ip6->nexthdr != IPPROTO_UDP)
		return XDP_PASS;
	port = bpf_ntohs(udp->source);
	count(&flows, &port, len, 1);
	count(&by_src, &ip6->saddr, len, 0);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
