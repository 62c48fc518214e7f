/* SPDX-License-Identifier: MIT */
/*
 * experiment01-tailgrow: working at the end of a frame, and what the
 * verifier says when a program gets it wrong.
 *
 *   xdp_tailgrow_func   grows IPv6 UDP frames and writes a trailer there
 *                       (assignment 1: you write it)
 *   xdp_lastbyte_func   drops frames whose last byte is '!'
 *   xdp_trim_func       cuts 4 bytes off IPv6 UDP frames, fixes the length
 *   xdp_portcount_func  counts IPv6 UDP frames per destination port
 *
 * The last three are complete but the verifier refuses each of them, for a
 * different reason (assignments 2-4). Load one to read the refusal
 * (`xdp-tui load FILE --prog NAME --log`), then fix it.
 */
#include "common.h"
#include "parsing_helpers.h"

#define TRAILER_GROWTH 4 /* bytes xdp_tailgrow_func adds */
#define TRIM_BYTES 4     /* bytes xdp_trim_func removes */
#define LAST_BYTE_DROPPED '!'
/* Frames are far shorter than this; masking an offset with it gives the
 * verifier an upper bound it can check against data_end. */
#define MAX_FRAME_MASK 0x3fff

struct trailer {
	__u8 magic[2];  /* 'X', 'T' */
	__be16 old_len; /* the frame's length before it grew */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);   /* UDP destination port, host byte order */
	__type(value, __u64); /* frames seen */
	__uint(max_entries, 1024);
} port_counts SEC(".maps");

/* The cursor after Ethernet and IPv6 headers, pointing at UDP, or NULL. */
static __always_inline struct udphdr *ipv6_udp(struct hdr_cursor *nh, void *data_end,
					       struct ipv6hdr **ip6h)
{
	struct ethhdr *eth;
	struct udphdr *udph;

	if (parse_ethhdr(nh, data_end, &eth) != bpf_htons(ETH_P_IPV6))
		return NULL;
	if (parse_ip6hdr(nh, data_end, ip6h) != IPPROTO_UDP)
		return NULL;
	if (parse_udphdr(nh, data_end, &udph) < 0)
		return NULL;
	return udph;
}

SEC("xdp")
int xdp_tailgrow_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ipv6hdr *ip6h;
	struct trailer *tail;
	__u32 old_len;

	if (!ipv6_udp(&nh, data_end, &ip6h))
		return XDP_PASS;

	/*
	 * Assignment 1: make the frame TRAILER_GROWTH bytes longer with
	 * bpf_xdp_adjust_tail() and fill the new bytes with a struct trailer:
	 * 'X', 'T' and the frame's length before growing (network order).
	 *   - remember the old length (data_end - data) before the call;
	 *   - the call returns non-zero when there is no room: pass the frame;
	 *   - afterwards every packet pointer is stale: read ctx->data and
	 *     ctx->data_end again;
	 *   - the trailer starts at data + old length. The verifier accepts a
	 *     variable offset only with a known upper bound: mask the length
	 *     with MAX_FRAME_MASK, then prove the trailer ends before data_end.
	 */
	(void)tail;
	(void)old_len;
	return XDP_PASS;
}

SEC("xdp")
int xdp_lastbyte_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u8 *last;

	/* Assignment 2: the verifier refuses this. Why, and how to say "the
	 * last byte" in a way it accepts? */
	last = data_end - 1;
	if ((void *)last < data)
		return XDP_PASS;
	if (*last == LAST_BYTE_DROPPED)
		return XDP_DROP;
	return XDP_PASS;
}

SEC("xdp")
int xdp_trim_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ipv6hdr *ip6h;
	struct udphdr *udph;

	udph = ipv6_udp(&nh, data_end, &ip6h);
	if (!udph || bpf_ntohs(udph->len) < sizeof(*udph) + TRIM_BYTES)
		return XDP_PASS;

	if (bpf_xdp_adjust_tail(ctx, -TRIM_BYTES))
		return XDP_PASS;

	/* Assignment 3: the verifier refuses the next line. What happened to
	 * ip6h during the call above? */
	ip6h->payload_len = bpf_htons(bpf_ntohs(ip6h->payload_len) - TRIM_BYTES);
	return XDP_PASS;
}

SEC("xdp")
int xdp_portcount_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ipv6hdr *ip6h;
	struct udphdr *udph;
	__u64 *count;
	__u32 port;

	udph = ipv6_udp(&nh, data_end, &ip6h);
	if (!udph)
		return XDP_PASS;
	port = bpf_ntohs(udph->dest);

	count = bpf_map_lookup_elem(&port_counts, &port);
	/* Assignment 4: the verifier refuses the next line. What does the
	 * lookup return for a port seen for the first time? */
	__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}
