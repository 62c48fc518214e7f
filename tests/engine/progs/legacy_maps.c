/* A map declared the pre-BTF way (struct bpf_map_def in SEC("maps")), as old
 * kernel samples do: libbpf 1.0+ refuses to open the object. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct old_map_def {
	unsigned int type, key_size, value_size, max_entries, map_flags;
};

struct old_map_def SEC("maps") counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1,
};

SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
