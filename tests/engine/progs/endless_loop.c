/* Refused by the verifier: a loop whose end it cannot see. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_endless(struct xdp_md *ctx)
{
	volatile __u32 spins = 0;

	while (ctx->ingress_ifindex != 0)
		spins++;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
