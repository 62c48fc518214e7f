/* Kernel-samples style tail call: a prog array filled in C with another program
 * of the object. Loading the entry alone used to fail (its target was not loaded). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop_stage(struct xdp_md *ctx)
{
	return XDP_DROP;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int(void *));
} stages SEC(".maps") = {
	.values = { [0] = (void *)&xdp_drop_stage },
};

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &stages, 0);
	return XDP_PASS; /* reached only when the slot is empty */
}

char _license[] SEC("license") = "GPL";
