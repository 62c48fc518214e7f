/* Refused by the verifier: reads the EtherType before checking data_end. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_no_bounds(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	if (eth->h_proto == 0)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
