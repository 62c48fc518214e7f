/* Does not compile: a misspelt return value. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_typo(struct xdp_md *ctx)
{
	return XDP_PASSS;
}

char _license[] SEC("license") = "GPL";
