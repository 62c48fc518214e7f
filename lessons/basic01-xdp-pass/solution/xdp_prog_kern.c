/* SPDX-License-Identifier: MIT */
/*
 * basic01 - the smallest XDP program that does something useful:
 * it looks at nothing and lets every frame continue into the kernel.
 *
 * Build and attach it with `b` in xdp-tui, or:
 *     xdp-tui load xdp_prog_kern.c --prog xdp_prog_simple
 */
#include <linux/bpf.h>          /* struct xdp_md, the XDP_* verdicts */
#include <bpf/bpf_helpers.h>    /* the SEC() macro */

/*
 * SEC("xdp") puts this function in an ELF section called "xdp"; that name
 * tells the loader the program type. The function name is how you pick
 * the program when a file holds several.
 */
/* >>> assignment 1 */
SEC("xdp")
int xdp_prog_simple(struct xdp_md *ctx)
{
	/* Every frame gets the same verdict: carry on as if XDP were not here. */
	return XDP_PASS;
}
/* <<< assignment 1 */

/* The kernel wants to know the license before it lets a program use some helpers. */
char _license[] SEC("license") = "GPL";
