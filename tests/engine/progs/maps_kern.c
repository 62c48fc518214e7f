/* Test program for map decoding and stats: several map shapes, three XDP
 * functions (pass, abort, printk). maps_kern_v2.c adds a field to struct datarec. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

struct datarec {
	__u64 rx_packets;
	__u64 rx_bytes;
#ifdef WITH_RX_LAST_LEN
	__u32 rx_last_len;
#endif
};

struct flow_key {
	__u32 ifindex;
	__u16 proto;
	__u8 kind;
	__u8 flags;
};

enum colour { RED = 1, GREEN = 2 };

struct config {
	char label[8];
	enum colour colour;
	__s32 offset;
	__u32 low : 4, high : 12;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct datarec);
	__uint(max_entries, 5);
} xdp_stats_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, __u64);
	__uint(max_entries, 16);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u8[ETH_ALEN]);
	__type(value, struct datarec);
	__uint(max_entries, 16);
} by_mac SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct config);
	__uint(max_entries, 2);
} config_map SEC(".maps");

static __always_inline int account(struct xdp_md *ctx, __u32 action)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct datarec *rec = bpf_map_lookup_elem(&xdp_stats_map, &action);

	if (!rec)
		return XDP_ABORTED;
	rec->rx_packets++;
	rec->rx_bytes += len;
#ifdef WITH_RX_LAST_LEN
	rec->rx_last_len = len;
#endif
	return action;
}

SEC("xdp")
int xdp_pass_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) <= data_end) {
		struct flow_key fk = { .ifindex = ctx->ingress_ifindex,
				       .proto = eth->h_proto, .kind = 7 };
		__u64 one = 1, *n = bpf_map_lookup_elem(&flows, &fk);
		struct datarec zero = {}, *rec;

		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(&flows, &fk, &one, BPF_NOEXIST);
		rec = bpf_map_lookup_elem(&by_mac, eth->h_source);
		if (!rec) {
			bpf_map_update_elem(&by_mac, eth->h_source, &zero, BPF_NOEXIST);
			rec = bpf_map_lookup_elem(&by_mac, eth->h_source);
		}
		if (rec) {
			__sync_fetch_and_add(&rec->rx_packets, 1);
			__sync_fetch_and_add(&rec->rx_bytes, data_end - data);
		}
	}
	{
		__u32 zero_key = 0;
		struct config *cfg = bpf_map_lookup_elem(&config_map, &zero_key);

		if (cfg && cfg->offset < 0)
			return XDP_DROP;
	}
	return account(ctx, XDP_PASS);
}

SEC("xdp")
int xdp_abort_count(struct xdp_md *ctx)
{
	return account(ctx, XDP_ABORTED);
}

SEC("xdp")
int xdp_drop_count(struct xdp_md *ctx)
{
	return account(ctx, XDP_DROP);
}

SEC("xdp")
int xdp_printk(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	bpf_printk("xdp-tui-test len=%d", (int)(data_end - data));
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
