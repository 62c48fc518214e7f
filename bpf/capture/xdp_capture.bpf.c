/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_capture.bpf.c - see each packet an XDP program handles, before and after.
 *
 * Two tracing programs are attached to the XDP program under study: one runs
 * when it is entered (fentry) and copies the frame as it arrived into the
 * per-CPU slot; the other runs when it returns (fexit), appends the frame as
 * the program left it plus the verdict and sends the record (capture_common.h).
 *
 * The kernel hands tracing programs the XDP program's context as the kernel's
 * own `struct xdp_buff`; the few fields we read are declared here with
 * preserve_access_index so libbpf relocates them against the running kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "capture_common.h"

struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

struct xdp_rxq_info {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct xdp_buff {
	void *data;
	void *data_end;
	struct xdp_rxq_info *rxq;
} __attribute__((preserve_access_index));

/* Copy the frame's first CAP bytes (the verifier wants the size bounded). */
static __always_inline __u32 copy_frame(__u8 *dst, void *data, __u32 cap)
{
	__u64 size;

	if (cap == 0 || cap > SNAP_MAX)
		return 0;
	size = capture_bounded(cap);
	return bpf_probe_read_kernel(dst, size, data) ? 0 : size;
}

SEC("fentry/xdp")
int BPF_PROG(capture_entry, struct xdp_buff *xdp)
{
	struct capture_config *cfg = 0;
	void *data = xdp->data;
	__u32 len = xdp->data_end - data;
	struct capture_record *rec = capture_begin(xdp->rxq->dev->ifindex, len, &cfg);

	if (rec && cfg)
		rec->cap_in = copy_frame(rec->data, data, capture_cap(len, cfg));
	return 0;
}

SEC("fexit/xdp")
int BPF_PROG(capture_exit, struct xdp_buff *xdp, int verdict)
{
	struct capture_config *cfg = 0;
	struct capture_record *rec = capture_resume(&cfg);
	void *data = xdp->data;
	__u32 len = xdp->data_end - data;
	__u32 offset;

	if (!rec || !cfg)
		return 0;
	offset = capture_out_offset(rec);
	capture_finish(rec, offset, copy_frame(rec->data + offset, data, capture_cap(len, cfg)),
		       len, verdict);
	return 0;
}

char _license[] SEC("license") = "GPL";
