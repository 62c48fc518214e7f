/* Refused by the verifier: uses a hash map lookup result without a NULL check. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} seen SEC(".maps");

SEC("xdp")
int xdp_no_null_check(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u64 *count = bpf_map_lookup_elem(&seen, &key);
	*count += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
