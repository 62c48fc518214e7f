/* SPDX-License-Identifier: MIT */
/*
 * tracing04-xdp-tcpdump: a tcpdump of our own. xdp_sample_func sends the
 * start of every frame, with its true length, to user space through a BPF
 * ring buffer; xdp-tui reads the samples, lists them and writes a pcapng
 * file that tcpdump and Wireshark read.
 *
 * Look for "Assignment" below.
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

	/*
	 * Assignment 1: send a struct sample for this frame:
	 *   - cap = the bytes to copy: len, but at most SAMPLE_MAX (and the
	 *     copy helper wants at least 1);
	 *   - s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0); NULL means the
	 *     ring is full: pass the frame, the sample is lost;
	 *   - fill cookie, cap_len and pad; copy cap bytes of the frame into
	 *     s->data with bpf_xdp_load_bytes(ctx, 0, s->data, cap) (on
	 *     failure bpf_ringbuf_discard(s, 0));
	 *   - bpf_ringbuf_submit(s, 0) hands it to user space.
	 *
	 * Assignment 2: pkt_len is the frame's true length, even when only
	 * SAMPLE_MAX bytes of it travel.
	 */
	(void)s;
	(void)cap;
	return XDP_PASS;
}
