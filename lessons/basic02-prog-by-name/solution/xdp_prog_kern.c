/* SPDX-License-Identifier: MIT */
/*
 * basic02 solution - three programs in one object file, picked by name.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Lets every frame through. */
SEC("xdp")
int xdp_pass_func(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Discards every frame: the peer's pings never get an answer. */
/* >>> assignment 1 */
SEC("xdp")
int xdp_drop_func(struct xdp_md *ctx)
{
	return XDP_DROP;
}
/* <<< assignment 1 */

/*
 * Also discards every frame, but says "this was an error": the kernel
 * fires the xdp:xdp_exception tracepoint for each one.
 */
/* >>> assignment 2 */
SEC("xdp")
int xdp_abort_func(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}
/* <<< assignment 2 */

char _license[] SEC("license") = "GPL";
