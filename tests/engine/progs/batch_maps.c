/* Test program for batch map reads: one map per shape a batch read must get
 * right (per-CPU hash, padded per-CPU slots, signed and padded structs, maps
 * read in more than one batch). The program only touches each map once. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct padded {
	__u8 flag;
	/* 3 bytes of padding */
	__s32 delta;
	__u64 total;
	__u16 tail;
	/* 6 bytes of padding */
};

struct pair_key {
	__u16 port;
	__u8 proto;
	__u8 dir;
};

struct tagged {
	char tag[4];
	__u32 level : 3, count : 29;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct tagged); /* not plain integers: decoded field by field */
	__uint(max_entries, 4);
} pcpu_tagged SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, struct pair_key);
	__type(value, __u64);
	__uint(max_entries, 64);
} pcpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u32); /* 4 bytes in an 8-byte per-CPU slot */
	__uint(max_entries, 3);
} pcpu_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, __u32);
	__type(value, struct padded);
	__uint(max_entries, 32);
} lru_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, struct padded);
	__uint(max_entries, 5000); /* more than one batch */
} big_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __s64);
	__uint(max_entries, 5000); /* more than one batch */
} big_array SEC(".maps");

SEC("xdp")
int xdp_touch_maps(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 key64 = 0;
	struct pair_key pk = {};
	void *p;

	p = bpf_map_lookup_elem(&pcpu_hash, &pk);
	p = p ?: bpf_map_lookup_elem(&pcpu_small, &zero);
	p = p ?: bpf_map_lookup_elem(&pcpu_tagged, &zero);
	p = p ?: bpf_map_lookup_elem(&lru_pcpu, &zero);
	p = p ?: bpf_map_lookup_elem(&big_hash, &key64);
	p = p ?: bpf_map_lookup_elem(&big_array, &zero);
	return p ? XDP_PASS : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
