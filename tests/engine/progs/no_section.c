/* Compiles, but no function is in a program section. */
#include <linux/bpf.h>

int forgot_the_section(struct xdp_md *ctx)
{
	return XDP_PASS;
}
