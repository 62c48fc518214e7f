/* SPDX-License-Identifier: MIT */
/*
 * packet03-redirecting: send packets somewhere else than up the stack.
 *
 *   xdp_icmp_echo_func     answers pings itself (XDP_TX)
 *   xdp_redirect_func      sends everything to another interface (bpf_redirect)
 *   xdp_redirect_map_func  the same, steered by maps filled from user space
 *   xdp_router_func        forwards between labs using the kernel's routes
 *   xdp_pass_func          passes everything
 *
 * Every verdict is counted in xdp_stats_map (`xdp-tui stats`).
 * Look for "Assignment" below.
 */
#include "common.h"
#include "parsing_helpers.h" /* parse_*() */
#include "rewrite_helpers.h" /* swap_src_dst_*(), csum_replace2() */
#include "xdp_stats_kern.h"

/* The address family numbers bpf_fib_lookup() wants (from <sys/socket.h>). */
#define AF_INET 2
#define AF_INET6 10

/* Where xdp_redirect_func sends frames: filled in from user space. */
struct redirect_target {
	__u32 ifindex;                /* the interface to transmit on */
	unsigned char dst_mac[ETH_ALEN]; /* the new destination MAC */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct redirect_target);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} redirect_target SEC(".maps");

/* xdp_redirect_map_func: slot 0 holds the interface to send to. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 256);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tx_port SEC(".maps");

/* xdp_redirect_map_func: source MAC -> the destination MAC to write. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, unsigned char[ETH_ALEN]);
	__type(value, unsigned char[ETH_ALEN]);
	__uint(max_entries, 16);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} redirect_params SEC(".maps");

SEC("xdp")
int xdp_icmp_echo_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct icmphdr_common *icmph; /* ICMP and ICMPv6 start alike */
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	__u32 action = XDP_PASS;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type == bpf_htons(ETH_P_IPV6)) {
		if (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_ICMPV6)
			goto out;
		if (parse_icmphdr_common(&nh, data_end, &icmph) != ICMPV6_ECHO_REQUEST)
			goto out;
		/* Assignment 1 (IPv6 part): swap the IPv6 addresses; the reply
		 * type is ICMPV6_ECHO_REPLY (129). */
	} else if (eth_type == bpf_htons(ETH_P_IP)) {
		if (parse_iphdr(&nh, data_end, &iph) != IPPROTO_ICMP)
			goto out;
		if (parse_icmphdr_common(&nh, data_end, &icmph) != ICMP_ECHO)
			goto out;
		/* Assignment 1 (IPv4 part): swap the IPv4 addresses; the reply
		 * type is ICMP_ECHOREPLY (0). */
	} else {
		goto out;
	}

	/*
	 * Assignment 1 (common part): make the request a reply and send it
	 * back where it came from:
	 *   - set icmph->type to the reply type and fix icmph->cksum: only the
	 *     16-bit word holding type and code changed, so csum_replace2()
	 *     with the old and the new word does it (swapping addresses keeps
	 *     every checksum valid);
	 *   - swap the MAC addresses;
	 *   - action = XDP_TX.
	 */

out:
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_redirect_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct redirect_target *target;
	struct ethhdr *eth;
	__u32 key = 0;
	__u32 action = XDP_PASS;

	if (parse_ethhdr(&nh, data_end, &eth) < 0)
		goto out;

	target = bpf_map_lookup_elem(&redirect_target, &key);
	if (!target || !target->ifindex)
		goto out; /* nobody told us where to send: pass */

	/*
	 * Assignment 2: write target->dst_mac into the Ethernet destination
	 * and let bpf_redirect(target->ifindex, 0) give you the verdict
	 * (XDP_REDIRECT when the ifindex is usable).
	 */

out:
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_redirect_map_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	__u32 action = XDP_PASS;

	if (parse_ethhdr(&nh, data_end, &eth) < 0)
		goto out;

	/*
	 * Assignment 3: look up eth->h_source in redirect_params. If there is
	 * an entry, copy it into eth->h_dest and take the verdict of
	 * bpf_redirect_map(&tx_port, 0, 0). No entry: pass.
	 */

out:
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_router_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;
	__u32 action = XDP_PASS;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type < 0)
		goto out;

	/*
	 * Assignment 4: route IPv6 and IPv4 packets yourself.
	 *   1. fill `fib`: family (AF_INET6 / AF_INET), the addresses, the
	 *      L4 protocol, tot_len, flowinfo or tos, and
	 *      fib.ifindex = ctx->ingress_ifindex;
	 *   2. rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	 *   3. BPF_FIB_LKUP_RET_SUCCESS: lower the hop limit / TTL (IPv4: fix
	 *      the header checksum), copy fib.dmac and fib.smac into the
	 *      Ethernet header, action = bpf_redirect(fib.ifindex, 0);
	 *      BLACKHOLE, UNREACHABLE, PROHIBIT: XDP_DROP; anything else:
	 *      XDP_PASS (the kernel's stack knows what to do).
	 */
	(void)fib;

out:
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_pass_func(struct xdp_md *ctx)
{
	return xdp_stats_record_action(ctx, XDP_PASS);
}
