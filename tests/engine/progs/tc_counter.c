/* A TC program counting what reaches the ingress of an interface. */
#include "common.h"
#include <linux/pkt_cls.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} seen SEC(".maps");

SEC("tc")
int tc_count_all(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&seen, &key);

	if (count)
		__sync_fetch_and_add(count, 1);
	return TC_ACT_OK;
}

SEC("xdp")
int xdp_pass_all(struct xdp_md *ctx)
{
	return XDP_PASS;
}
