/* SPDX-License-Identifier: GPL-2.0 */
/*
 * map_walk.bpf.c - copy every entry of one hash map into two global arrays.
 *
 * engine/mapwalk.py reads big hash maps this way once they are dense: the
 * kernel's bpf_for_each_map_elem() visits each element and the callback stores
 * its key and value at the next free row of `out.keys` / `out.values`, which
 * user space reads through mmap of the object's .bss map. Compared with
 * BPF_MAP_LOOKUP_BATCH this saves the per-bucket locking and the two
 * copy_to_user() calls per bucket (about three times cheaper per entry here),
 * but visiting an empty bucket costs more, so sparse maps stay on batch lookups.
 *
 * Why globals and not two BPF_F_MMAPABLE array maps looked up per entry: the
 * walk waits on memory (each element is a cache miss), and the CPU can only
 * overlap those misses across entries while the callback stays short and
 * branch-free. Two array lookups per entry made a million-entry walk ~30 %
 * slower than one that only counts; stores into a global array cost ~5 %.
 *
 * Generated per map shape by engine/mapwalk.py, which defines before including
 * this file: WALK_MAP_TYPE, WALK_KEY_SIZE, WALK_VALUE_SIZE, WALK_ROOM (rows in
 * the arrays) and WALK_COPY_KEY / WALK_COPY_VALUE (the copies, unrolled in the
 * widest loads the sizes allow). The map itself is the program's `src`, whose
 * definition is replaced by the watched map's fd before loading.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define WALK_KEY_WORDS ((WALK_KEY_SIZE + 7) / 8)
#define WALK_VALUE_WORDS ((WALK_VALUE_SIZE + 7) / 8)

struct {
	__uint(type, WALK_MAP_TYPE);
	__uint(key_size, WALK_KEY_SIZE);
	__uint(value_size, WALK_VALUE_SIZE);
	__uint(max_entries, 1);
} src SEC(".maps");

/* The only global (the whole .bss): keys first, then values, rows of 8-byte words
 * (a key's padding stays zero). User space maps it with the rows in this order. */
struct walk_out {
	__u64 keys[WALK_ROOM][WALK_KEY_WORDS];
	__u64 values[WALK_ROOM][WALK_VALUE_WORDS];
} out;

static long copy_entry(void *map, const char *key, const char *value, __u32 *copied)
{
	__u32 at = *copied;
	char *key_slot, *value_slot;

	if (at >= WALK_ROOM)
		return 1; /* the arrays are full: stop (user space sees copied == room) */
	key_slot = (char *)out.keys[at];
	value_slot = (char *)out.values[at];
	WALK_COPY_KEY
	WALK_COPY_VALUE
	*copied = at + 1;
	return 0;
}

/* Run by BPF_PROG_TEST_RUN; the return value is the number of entries copied. */
SEC("syscall")
int walk_map(void *ctx)
{
	__u32 copied = 0;

	bpf_for_each_map_elem(&src, copy_entry, &copied, 0);
	return copied;
}

char _license[] SEC("license") = "GPL";
