/* Refused by the verifier: steps over VLAN tags without checking data_end.
 * The failing load is compiler-made code that carries no line (`@ file:0`):
 * the refusal must still name the nearest C line before it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

struct vlan_tag {
	__be16 tci;
	__be16 encap_proto;
};

static __always_inline int is_vlan(__u16 proto)
{
	return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

SEC("xdp")
int xdp_vlan_no_bounds(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct vlan_tag *tag;
	__u16 proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	proto = eth->h_proto;
	tag = (void *)(eth + 1);
	for (i = 0; i < 2; i++) {
		if (!is_vlan(proto))
			break;
		proto = tag->encap_proto;
		tag++;
	}
	return proto == bpf_htons(ETH_P_IPV6) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
