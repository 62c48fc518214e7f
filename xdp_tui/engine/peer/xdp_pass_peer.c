/* Put on the inner end (veth0) of a lab by xdp-tui.
 *
 * With native XDP on a veth, frames that the outer program sends back
 * (XDP_TX) or redirects into a veth arrive on the other end through its
 * XDP receive path, which only exists while that end has an XDP program.
 * This one lets every frame through unchanged.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_tui_peer_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
