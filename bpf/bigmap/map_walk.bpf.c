/* SPDX-License-Identifier: GPL-2.0 */
/*
 * map_walk.bpf.c - copy every entry of one hash map into two mmap-able arrays.
 *
 * engine/mapwalk.py reads big hash maps this way once they are dense: the
 * kernel's bpf_for_each_map_elem() visits each element and the callback stores
 * its key and value at the next free slot of `out_keys` / `out_values`, which
 * user space reads through mmap. Compared with BPF_MAP_LOOKUP_BATCH this saves
 * the per-bucket locking and the two copy_to_user() calls per bucket (about
 * three times cheaper per entry here), but visiting an empty bucket costs more,
 * so sparse maps stay on batch lookups.
 *
 * Generated per map shape by engine/mapwalk.py, which defines before including
 * this file: WALK_MAP_TYPE, WALK_KEY_SIZE, WALK_VALUE_SIZE, WALK_ROOM (slots in
 * the arrays) and WALK_COPY_KEY / WALK_COPY_VALUE (the copies, unrolled in the
 * widest loads the sizes allow). The map itself is the program's `src`, whose
 * definition is replaced by the watched map's fd before loading.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, WALK_MAP_TYPE);
	__uint(key_size, WALK_KEY_SIZE);
	__uint(value_size, WALK_VALUE_SIZE);
	__uint(max_entries, 1);
} src SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(key_size, 4);
	__uint(value_size, WALK_KEY_SIZE);
	__uint(max_entries, WALK_ROOM);
} out_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(key_size, 4);
	__uint(value_size, WALK_VALUE_SIZE);
	__uint(max_entries, WALK_ROOM);
} out_values SEC(".maps");

struct walk_state {
	__u32 copied;
};

static long copy_entry(void *map, const char *key, const char *value, struct walk_state *state)
{
	__u32 at = state->copied;
	char *key_slot = bpf_map_lookup_elem(&out_keys, &at);
	char *value_slot = bpf_map_lookup_elem(&out_values, &at);

	if (!key_slot || !value_slot)
		return 1; /* the arrays are full: stop (user space sees copied == room) */
	WALK_COPY_KEY
	WALK_COPY_VALUE
	state->copied = at + 1;
	return 0;
}

/* Run by BPF_PROG_TEST_RUN; the return value is the number of entries copied. */
SEC("syscall")
int walk_map(void *ctx)
{
	struct walk_state state = { 0 };

	bpf_for_each_map_elem(&src, copy_entry, &state, 0);
	return state.copied;
}

char _license[] SEC("license") = "GPL";
