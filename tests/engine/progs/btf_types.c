/* A map whose value exercises the BTF decoder: nested and anonymous members,
 * signed bitfields, bool, floats, negative small ints, arrays of structs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

typedef _Bool flag_t;

struct point {
	__s16 x;
	__s16 y;
};

struct rich_value {
	__s8 small;
	__u8 mac[6];
	flag_t enabled;
	union {
		__u32 as_u32;
		__u8 as_bytes[4];
	};
	struct {
		__s32 level : 5;
		__u32 mode : 3;
	};
	float ratio;
	double precise;
	struct point path[2];
	__u8 addr6[16];
	char name[4];
	__u16 grid[2][3];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct rich_value);
	__uint(max_entries, 1);
} rich SEC(".maps");

SEC("xdp")
int xdp_rich(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct rich_value *v = bpf_map_lookup_elem(&rich, &key);

	if (v && v->enabled)
		return XDP_DROP;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
