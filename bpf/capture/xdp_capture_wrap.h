/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_capture_wrap.h - capture built around a program, for kernels without fentry.
 *
 * Some kernels refuse BPF trampolines (fentry/fexit), so nothing can run
 * around a program that is already loaded. There xdp-tui builds a twin from
 * the program's own source: an XDP function that records the frame, calls
 * the learner's function (inlined: `flatten`), records the result and
 * returns the same verdict. The twin shares the original's maps and
 * replaces it on the interface only while the capture runs.
 *
 * A generated file includes the learner's source with the function renamed,
 * then this header, then XDP_TUI_CAPTURE_WRAP(original name, renamed name).
 */
#ifndef XDP_TUI_CAPTURE_WRAP_H
#define XDP_TUI_CAPTURE_WRAP_H

#include "capture/capture_common.h"

static __always_inline __u32 capture_load(struct xdp_md *ctx, __u8 *dst, __u32 cap)
{
	__u64 size;

	if (cap == 0 || cap > SNAP_MAX)
		return 0;
	size = capture_bounded(cap);
	return bpf_xdp_load_bytes(ctx, 0, dst, size) ? 0 : size;
}

static __always_inline __u32 capture_frame_len(struct xdp_md *ctx)
{
	/* A helper, not ctx->data_end - ctx->data: in this wrapper (everything
	 * flattened into one function) clang's -mcpu=v3 code spills the 32-bit
	 * load of ctx->data with a 32-bit store, which the verifier refuses for a
	 * packet pointer ("invalid size of register spill"). */
	return (__u32)bpf_xdp_get_buff_len(ctx);
}

static __always_inline void capture_wrap_entry(struct xdp_md *ctx)
{
	struct capture_config *cfg = 0;
	__u32 len = capture_frame_len(ctx);
	struct capture_record *rec = capture_begin(ctx->ingress_ifindex, len, &cfg);

	if (rec && cfg)
		rec->cap_in = capture_load(ctx, rec->data, capture_cap(len, cfg));
}

static __always_inline void capture_wrap_exit(struct xdp_md *ctx, int verdict)
{
	struct capture_config *cfg = 0;
	struct capture_record *rec = capture_resume(&cfg);
	__u32 len, offset;

	if (!rec || !cfg)
		return;
	len = capture_frame_len(ctx);
	offset = capture_out_offset(rec);
	capture_finish(rec, offset, capture_load(ctx, rec->data + offset, capture_cap(len, cfg)),
		       len, verdict);
}

#define XDP_TUI_CAPTURE_WRAP(name, original)                          \
	SEC("xdp") __attribute__((flatten)) int name(struct xdp_md *ctx) \
	{                                                                 \
		int verdict;                                              \
		capture_wrap_entry(ctx);                                  \
		verdict = original(ctx);                                  \
		capture_wrap_exit(ctx, verdict);                          \
		return verdict;                                           \
	}

#endif /* XDP_TUI_CAPTURE_WRAP_H */
