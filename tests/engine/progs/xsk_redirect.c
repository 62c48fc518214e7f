/* Every frame to the AF_XDP socket registered for its RX queue (XDP_PASS when none is). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __type(key, __u32); __type(value, __u32); __uint(max_entries, 64); } xsks_map SEC(".maps");
SEC("xdp") int xdp_to_xsk(struct xdp_md *ctx) { return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS); }
char _license[] SEC("license") = "GPL";
