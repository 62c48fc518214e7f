/* SPDX-License-Identifier: MIT */
/*
 * basic02 - one object file, several XDP programs.
 *
 * Each SEC("xdp") function below becomes its own program in the ELF file.
 * A loader attaches ONE of them, chosen by its function name:
 *     xdp-tui load xdp_prog_kern.c --prog xdp_drop_func
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Lets every frame through. */
SEC("xdp")
int xdp_pass_func(struct xdp_md *ctx)
{
	return XDP_PASS;
}

/* Should throw every frame away before the kernel spends any work on it. */
SEC("xdp")
int xdp_drop_func(struct xdp_md *ctx)
{
	/* Assignment 1: return the verdict that discards the frame. */
	return XDP_PASS;
}

/*
 * Assignment 2: add a third program, xdp_abort_func, that returns the
 * verdict meant for "my program hit an error". Give it SEC("xdp") like
 * the others.
 */

char _license[] SEC("license") = "GPL";
