/* SPDX-License-Identifier: MIT */
/*
 * packet03-redirecting, solution.
 *
 *   xdp_icmp_echo_func     answers pings itself (XDP_TX)
 *   xdp_redirect_func      sends everything to another interface (bpf_redirect)
 *   xdp_redirect_map_func  the same, steered by maps filled from user space
 *   xdp_router_func        forwards between labs using the kernel's routes
 *   xdp_pass_func          passes everything
 *
 * Every verdict is counted in xdp_stats_map (`xdp-tui stats`).
 * Look for "ASSIGNMENT" below.
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

/* >>> assignment 1 */
/* Turn an echo request around into an echo reply, in place. */
static __always_inline void make_echo_reply(struct icmphdr_common *icmph,
					    __u8 reply_type)
{
	/* type and code form the first 16-bit word of the ICMP header */
	__be16 old_word = *(__be16 *)icmph;

	icmph->type = reply_type;
	csum_replace2(&icmph->cksum, old_word, *(__be16 *)icmph);
}
/* <<< assignment 1 */

SEC("xdp")
int xdp_icmp_echo_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct icmphdr_common *icmph;
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	__u32 action = XDP_PASS;
	__u8 reply_type;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type == bpf_htons(ETH_P_IPV6)) {
		if (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_ICMPV6)
			goto out;
		if (parse_icmphdr_common(&nh, data_end, &icmph) != ICMPV6_ECHO_REQUEST)
			goto out;
		/* >>> assignment 1 */
		swap_src_dst_ipv6(ip6h);
		reply_type = ICMPV6_ECHO_REPLY;
		/* <<< assignment 1 */
	} else if (eth_type == bpf_htons(ETH_P_IP)) {
		if (parse_iphdr(&nh, data_end, &iph) != IPPROTO_ICMP)
			goto out;
		if (parse_icmphdr_common(&nh, data_end, &icmph) != ICMP_ECHO)
			goto out;
		/* >>> assignment 1 */
		swap_src_dst_ipv4(iph);
		reply_type = ICMP_ECHOREPLY;
		/* <<< assignment 1 */
	} else {
		goto out;
	}

	/* >>> assignment 1 */
	make_echo_reply(icmph, reply_type);
	swap_src_dst_mac(eth);
	action = XDP_TX;
	/* <<< assignment 1 */
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
		goto out;

	/* >>> assignment 2 */
	__builtin_memcpy(eth->h_dest, target->dst_mac, ETH_ALEN);
	action = bpf_redirect(target->ifindex, 0);
	/* <<< assignment 2 */
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
	unsigned char *dst_mac;
	__u32 action = XDP_PASS;

	if (parse_ethhdr(&nh, data_end, &eth) < 0)
		goto out;

	/* >>> assignment 3 */
	/* The key is read straight out of the packet: 6 bytes at h_source. */
	dst_mac = bpf_map_lookup_elem(&redirect_params, eth->h_source);
	if (!dst_mac)
		goto out;

	__builtin_memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	action = bpf_redirect_map(&tx_port, 0, 0);
	/* <<< assignment 3 */
out:
	return xdp_stats_record_action(ctx, action);
}

/* >>> assignment 4 */
/* IPv4 TTL - 1; TTL and protocol share one 16-bit word of the checksum. */
static __always_inline void ipv4_lower_ttl(struct iphdr *iph)
{
	__be16 old_word = *(__be16 *)&iph->ttl;

	iph->ttl--;
	csum_replace2(&iph->check, old_word, *(__be16 *)&iph->ttl);
}
/* <<< assignment 4 */

SEC("xdp")
int xdp_router_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct bpf_fib_lookup fib = {};
	struct ethhdr *eth;
	struct ipv6hdr *ip6h = NULL;
	struct iphdr *iph = NULL;
	__u32 action = XDP_PASS;
	int eth_type, rc;

	/* >>> assignment 4 */
	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type == bpf_htons(ETH_P_IPV6)) {
		if (parse_ip6hdr(&nh, data_end, &ip6h) < 0)
			goto out;
		if (ip6h->hop_limit <= 1)
			goto out; /* the stack sends "time exceeded" */
		fib.family = AF_INET6;
		/* version (4 bits) | traffic class (8) | flow label (20) */
		fib.flowinfo = *(__be32 *)ip6h & bpf_htonl(0x0fffffff);
		fib.l4_protocol = ip6h->nexthdr;
		fib.tot_len = bpf_ntohs(ip6h->payload_len);
		__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, sizeof(fib.ipv6_dst));
	} else if (eth_type == bpf_htons(ETH_P_IP)) {
		if (parse_iphdr(&nh, data_end, &iph) < 0)
			goto out;
		if (iph->ttl <= 1)
			goto out;
		fib.family = AF_INET;
		fib.tos = iph->tos;
		fib.l4_protocol = iph->protocol;
		fib.tot_len = bpf_ntohs(iph->tot_len);
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else {
		goto out;
	}
	fib.ifindex = ctx->ingress_ifindex;

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		if (ip6h)
			ip6h->hop_limit--;
		else if (iph)
			ipv4_lower_ttl(iph);
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
		action = bpf_redirect(fib.ifindex, 0);
		break;
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		action = XDP_DROP;
		break;
	default:
		/* not forwarded, forwarding off, no neighbour yet, ...: the
		 * kernel's own stack handles those */
		action = XDP_PASS;
		break;
	}
	/* <<< assignment 4 */
out:
	return xdp_stats_record_action(ctx, action);
}

SEC("xdp")
int xdp_pass_func(struct xdp_md *ctx)
{
	return xdp_stats_record_action(ctx, XDP_PASS);
}
