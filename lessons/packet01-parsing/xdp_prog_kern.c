/* SPDX-License-Identifier: MIT */
/*
 * packet01-parsing: read the headers of a packet and decide on them.
 *
 * Goal of the lesson: drop every ICMPv6 echo request whose sequence number
 * is even and let everything else through. Every verdict is counted in
 * xdp_stats_map, so `xdp-tui stats` shows what the program decided.
 *
 * Look for "Assignment" below. Each place says what to write.
 */
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>

#include "common.h"
#include "xdp_stats_kern.h"

/* Where the next header starts. The parsers below move it forward. */
struct hdr_cursor {
	void *pos;
};

/*
 * Parse the Ethernet header at the cursor. Returns its EtherType in network
 * byte order, or -1 if the packet is too short.
 */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;
	int hdrsize = sizeof(*eth);

	/*
	 * Assignment 1: this bounds check is wrong, and the verifier refuses
	 * the whole program because of it. It proves that ONE byte fits
	 * before data_end, but the code below reads eth->h_proto, twelve
	 * bytes further. Make it prove that the whole header fits.
	 */
	if (nh->pos + 1 > data_end)
		return -1;

	/*
	 * Assignment 4 (VLAN): after the Ethernet header there may be up to
	 * two VLAN tags (EtherType 0x8100 or 0x88A8, then 4 bytes: TCI and
	 * the inner EtherType). Skip them and return the inner EtherType.
	 */

	nh->pos += hdrsize;
	*ethhdr = eth;
	return eth->h_proto;
}

/*
 * Assignment 2: parse the IPv6 header (struct ipv6hdr, 40 bytes).
 * Prove it fits, move the cursor past it, store the pointer in *ip6hdr and
 * return the next-header field (IPPROTO_ICMPV6 = 58 for ping).
 */
static __always_inline __attribute__((unused)) /* quiets "unused" until you call it */
int parse_ip6hdr(struct hdr_cursor *nh, void *data_end, struct ipv6hdr **ip6hdr)
{
	return -1;
}

/*
 * Assignment 3: parse the ICMPv6 header (struct icmp6hdr, 8 bytes).
 * Same pattern; return the ICMPv6 type (ICMPV6_ECHO_REQUEST = 128).
 */
static __always_inline __attribute__((unused)) /* quiets "unused" until you call it */
int parse_icmp6hdr(struct hdr_cursor *nh, void *data_end, struct icmp6hdr **icmp6hdr)
{
	return -1;
}

/*
 * Assignment 5 (IPv4): add parse_iphdr() and parse_icmphdr() here.
 * Include <linux/ip.h> for struct iphdr and "icmp_defs.h" for struct
 * icmphdr (not <linux/icmp.h>: the README says why). The IPv4 header
 * length is ihl * 4 bytes: prove first that the fixed 20 bytes fit (to
 * read ihl), then that the real length fits.
 */

SEC("xdp")
int xdp_parser_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	__u32 action = XDP_PASS; /* the default verdict */
	int nh_type;

	nh_type = parse_ethhdr(&nh, data_end, &eth);
	if (nh_type != bpf_htons(ETH_P_IPV6))
		goto out;

	/*
	 * Assignment 2: call parse_ip6hdr(); anything that is not ICMPv6
	 * goes to `out` (and passes).
	 *
	 * Assignment 3: call parse_icmp6hdr(); drop echo requests whose
	 * sequence number (icmp6_sequence, network byte order!) is even.
	 * Everything else passes.
	 *
	 * Assignment 5: handle ETH_P_IP the same way (ICMP_ECHO, un.echo.sequence).
	 *
	 * Until then, every IPv6 packet is dropped:
	 */
	action = XDP_DROP;
out:
	return xdp_stats_record_action(ctx, action);
}
