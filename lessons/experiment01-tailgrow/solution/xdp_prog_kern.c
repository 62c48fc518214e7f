/* SPDX-License-Identifier: MIT */
/*
 * experiment01-tailgrow, solution.
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

/* >>> assignment 1 */
	old_len = data_end - data;
	if (bpf_xdp_adjust_tail(ctx, TRAILER_GROWTH))
		return XDP_PASS;

	/* The helper moved data_end: every packet pointer must be fetched again. */
	data_end = (void *)(long)ctx->data_end;
	data = (void *)(long)ctx->data;
	/* A variable offset needs an upper bound before it may touch the packet. */
	tail = data + (old_len & MAX_FRAME_MASK);
	if ((void *)(tail + 1) > data_end)
		return XDP_ABORTED;
	tail->magic[0] = 'X';
	tail->magic[1] = 'T';
	tail->old_len = bpf_htons(old_len);
/* <<< assignment 1 */
	return XDP_PASS;
}

SEC("xdp")
int xdp_lastbyte_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u32 len = data_end - data;
	__u8 *last;

/* >>> assignment 2 */
	/* No arithmetic on data_end: count from data, with a bounded offset. */
	if (len == 0)
		return XDP_PASS;
	last = data + ((len - 1) & MAX_FRAME_MASK);
	if ((void *)(last + 1) > data_end)
		return XDP_PASS;
/* <<< assignment 2 */
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

/* >>> assignment 3 */
	/* ip6h pointed into the old frame; find the header again in the new one. */
	data_end = (void *)(long)ctx->data_end;
	data = (void *)(long)ctx->data;
	ip6h = data + sizeof(struct ethhdr);
	if ((void *)(ip6h + 1) > data_end)
		return XDP_ABORTED;
/* <<< assignment 3 */
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
/* >>> assignment 4 */
	if (!count) {
		/* A hash map has no entry until someone inserts one. */
		__u64 first = 1;

		bpf_map_update_elem(&port_counts, &port, &first, BPF_NOEXIST);
		return XDP_PASS;
	}
/* <<< assignment 4 */
	__sync_fetch_and_add(count, 1);
	return XDP_PASS;
}
