/* SPDX-License-Identifier: MIT */
/*
 * parsing_helpers.h - walk the headers of a packet inside an XDP program.
 *
 * Every parser takes a cursor (where the next header starts) and the end of
 * the packet. It proves to the verifier that the header fits before reading
 * it, moves the cursor past the header and returns what comes next:
 *
 *   parse_ethhdr / parse_ethhdr_vlan -> EtherType, NETWORK byte order
 *   parse_ip6hdr / parse_iphdr       -> IP protocol number (IPPROTO_*)
 *   parse_icmp6hdr / parse_icmphdr   -> ICMP type
 *   parse_udphdr                     -> UDP payload length in bytes
 *   parse_tcphdr                     -> TCP header length in bytes
 *
 * They all return -1 when the packet is too short or malformed; the cursor
 * is then left where it was.
 *
 * All functions are `static __always_inline`: a BPF program calls them many
 * times with different pointers, and inlining lets the verifier follow every
 * packet pointer through the caller's own bounds checks.
 */
#ifndef XDP_TUI_PARSING_HELPERS_H
#define XDP_TUI_PARSING_HELPERS_H

#include <stddef.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include "icmp_defs.h" /* not <linux/icmp.h>: see there why */
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Where the next unparsed header starts. */
struct hdr_cursor {
	void *pos;
};

/*
 * An 802.1Q / 802.1AD tag as it sits on the wire right after the two MAC
 * addresses. The uapi headers do not define it, so we do.
 *
 *   | TCI (16 bit): PCP 3 | DEI 1 | VLAN id 12 | inner EtherType (16 bit) |
 */
struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

#define VLAN_VID_MASK 0x0fff

/* How many stacked tags the Ethernet parser skips (QinQ = 2). */
#ifndef VLAN_MAX_DEPTH
#define VLAN_MAX_DEPTH 2
#endif

/* VLAN ids met on the way, outermost first; 0 where there was no tag. */
struct collect_vlans {
	__u16 id[VLAN_MAX_DEPTH];
};

/* The first four bytes every ICMP and ICMPv6 message shares. */
struct icmphdr_common {
	__u8 type;
	__u8 code;
	__sum16 cksum;
};

/* Is this EtherType (network byte order) a VLAN tag? */
static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) ||
	       h_proto == bpf_htons(ETH_P_8021AD);
}

/*
 * Parse the Ethernet header and skip up to VLAN_MAX_DEPTH VLAN tags.
 * *ethhdr points at the Ethernet header itself (the outer one); the cursor
 * ends after the last tag. If `vlans` is not NULL, the tag ids are stored
 * there. Returns the EtherType after the tags, in network byte order.
 */
static __always_inline int parse_ethhdr_vlan(struct hdr_cursor *nh,
					     void *data_end,
					     struct ethhdr **ethhdr,
					     struct collect_vlans *vlans)
{
	struct ethhdr *eth = nh->pos;
	struct vlan_hdr *vlh;
	__u16 h_proto;
	int i;

	/* The proof the verifier wants: the whole header lies before data_end. */
	if ((void *)(eth + 1) > data_end)
		return -1;

	*ethhdr = eth;
	vlh = (void *)(eth + 1);
	h_proto = eth->h_proto;

	/* A constant bound: the verifier can see this loop ends. */
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!proto_is_vlan(h_proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			break;
		h_proto = vlh->encap_proto;
		if (vlans)
			vlans->id[i] = bpf_ntohs(vlh->tci) & VLAN_VID_MASK;
		vlh++;
	}

	nh->pos = vlh;
	return h_proto;
}

/* Parse the Ethernet header, skipping VLAN tags without recording them. */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					struct ethhdr **ethhdr)
{
	return parse_ethhdr_vlan(nh, data_end, ethhdr, NULL);
}

/* IPv6: a fixed 40-byte header. Returns the next header (IPPROTO_*). */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end,
					struct ipv6hdr **ip6hdr)
{
	struct ipv6hdr *ip6h = nh->pos;

	if ((void *)(ip6h + 1) > data_end)
		return -1;

	nh->pos = ip6h + 1;
	*ip6hdr = ip6h;
	return ip6h->nexthdr;
}

/*
 * IPv4: the header length is in the header (ihl, in 32-bit words), so the
 * bounds are proved in two steps: first the fixed part (to read ihl at all),
 * then the real length. ihl is a 4-bit field, so the verifier knows the
 * length is at most 60 bytes.
 */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end,
				       struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;
	int hdrsize;

	if ((void *)(iph + 1) > data_end)
		return -1;

	hdrsize = iph->ihl * 4;
	if (hdrsize < (int)sizeof(*iph))
		return -1;
	if (nh->pos + hdrsize > data_end)
		return -1;

	nh->pos += hdrsize;
	*iphdr = iph;
	return iph->protocol;
}

/* ICMPv6: returns the message type (e.g. ICMPV6_ECHO_REQUEST = 128). */
static __always_inline int parse_icmp6hdr(struct hdr_cursor *nh,
					  void *data_end,
					  struct icmp6hdr **icmp6hdr)
{
	struct icmp6hdr *icmp6h = nh->pos;

	if ((void *)(icmp6h + 1) > data_end)
		return -1;

	nh->pos = icmp6h + 1;
	*icmp6hdr = icmp6h;
	return icmp6h->icmp6_type;
}

/* ICMP (IPv4): returns the message type (e.g. ICMP_ECHO = 8). */
static __always_inline int parse_icmphdr(struct hdr_cursor *nh, void *data_end,
					 struct icmphdr **icmphdr)
{
	struct icmphdr *icmph = nh->pos;

	if ((void *)(icmph + 1) > data_end)
		return -1;

	nh->pos = icmph + 1;
	*icmphdr = icmph;
	return icmph->type;
}

/* The part ICMP and ICMPv6 share; handy when one path serves both. */
static __always_inline int parse_icmphdr_common(struct hdr_cursor *nh,
						void *data_end,
						struct icmphdr_common **icmphdr)
{
	struct icmphdr_common *h = nh->pos;

	if ((void *)(h + 1) > data_end)
		return -1;

	nh->pos = h + 1;
	*icmphdr = h;
	return h->type;
}

/* UDP: returns the payload length the header announces (len - 8). */
static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end,
					struct udphdr **udphdr)
{
	struct udphdr *h = nh->pos;
	int len;

	if ((void *)(h + 1) > data_end)
		return -1;

	len = bpf_ntohs(h->len) - (int)sizeof(struct udphdr);
	if (len < 0)
		return -1;

	nh->pos = h + 1;
	*udphdr = h;
	return len;
}

/*
 * TCP: like IPv4 the header carries its own length (doff, in 32-bit words),
 * so again two steps. Returns the header length in bytes.
 */
static __always_inline int parse_tcphdr(struct hdr_cursor *nh, void *data_end,
					struct tcphdr **tcphdr)
{
	struct tcphdr *h = nh->pos;
	int len;

	if ((void *)(h + 1) > data_end)
		return -1;

	len = h->doff * 4;
	if (len < (int)sizeof(*h))
		return -1;
	if (nh->pos + len > data_end)
		return -1;

	nh->pos += len;
	*tcphdr = h;
	return len;
}

#endif /* XDP_TUI_PARSING_HELPERS_H */
