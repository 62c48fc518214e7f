/* SPDX-License-Identifier: MIT */
/*
 * tracing04-xdp-tcpdump, solution.
 */
#include "common.h"

#define SAMPLE_COOKIE 0xdead
#define SAMPLE_MAX 256 /* bytes of each frame sent to user space */

/* One record in the ring buffer: this header, then SAMPLE_MAX bytes of
 * which the first cap_len are the frame's. */
struct sample {
	__u16 cookie;   /* SAMPLE_COOKIE: user space knows the layout */
	__u16 pkt_len;  /* the frame's true length */
	__u16 cap_len;  /* how many of its bytes follow */
	__u16 pad;
	__u8 data[SAMPLE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 18); /* bytes, a power of two */
} samples SEC(".maps");

SEC("xdp")
int xdp_sample_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 len = data_end - data;
	__u64 cap = len;
	struct sample *s;

/* >>> assignments 1,2 */
	/* Copy at most SAMPLE_MAX bytes, and at least one (the helper wants a size > 0). */
	if (cap > SAMPLE_MAX)
		cap = SAMPLE_MAX;
	if (cap == 0)
		return XDP_PASS;
	/* A full ring (user space too slow) loses this sample, not the frame. */
	s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);
	if (!s)
		return XDP_PASS;
	s->cookie = SAMPLE_COOKIE;
	s->cap_len = cap;
	s->pad = 0;
/* <<< assignments 1,2 */
/* >>> assignment 2 */
	s->pkt_len = len;
/* <<< assignment 2 */
/* >>> assignment 1 */
	/* Copies from the frame with the bounds checked by the helper. */
	if (bpf_xdp_load_bytes(ctx, 0, s->data, cap)) {
		bpf_ringbuf_discard(s, 0);
		return XDP_PASS;
	}
	bpf_ringbuf_submit(s, 0);
/* <<< assignment 1 */
	return XDP_PASS;
}
