/* Three XDP programs in one object, in legacy sections named after what they
 * do (the way the tutorial's packet solutions are written). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../common/parsing_helpers.h"

/* UDP to any port leaves with its destination port one lower. */
SEC("xdp_patch_ports")
int xdp_patch_ports_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct ipv6hdr *ip6h;
	struct udphdr *udph;

	if (parse_ethhdr(&nh, data_end, &eth) != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	if (parse_ip6hdr(&nh, data_end, &ip6h) != IPPROTO_UDP)
		return XDP_PASS;
	if (parse_udphdr(&nh, data_end, &udph) < 0)
		return XDP_PASS;
	udph->dest = bpf_htons(bpf_ntohs(udph->dest) - 1);
	udph->check = 0; /* not verified by the tap; a real program would fix it */
	return XDP_PASS;
}

/* Tagged frames lose their VLAN tag's priority bits; others pass unchanged. */
SEC("xdp_vlan_swap")
int xdp_vlan_swap_func(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct vlan_hdr *vlh;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (!proto_is_vlan(eth->h_proto))
		return XDP_PASS;
	vlh = (void *)(eth + 1);
	if ((void *)(vlh + 1) > data_end)
		return XDP_ABORTED;
	vlh->h_vlan_TCI &= bpf_htons(VLAN_VID_MASK);
	return XDP_PASS;
}

SEC("xdp_pass")
int xdp_pass_func(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
