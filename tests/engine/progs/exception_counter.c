/* A tracepoint program counting xdp:xdp_exception per ifindex, and an XDP
 * program that aborts everything: the two sides of engine/tracepoint.py. */
#include "common.h"

struct exception_ctx {
	__u64 common;
	__s32 prog_id;
	__u32 act;
	__s32 ifindex;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __s32);
	__type(value, __u64);
	__uint(max_entries, 256);
} aborts SEC(".maps");

SEC("tracepoint/xdp/xdp_exception")
int count_exceptions(struct exception_ctx *ctx)
{
	__s32 key = ctx->ifindex;
	__u64 *count = bpf_map_lookup_elem(&aborts, &key);
	__u64 first = 1;

	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&aborts, &key, &first, BPF_NOEXIST);
	return 0;
}

SEC("tracepoint/xdp/no_such_event")
int count_nothing(void *ctx)
{
	return 0;
}

SEC("xdp")
int xdp_abort_all(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}
