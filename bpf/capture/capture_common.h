/* SPDX-License-Identifier: GPL-2.0 */
/*
 * capture_common.h - the record, maps and bookkeeping both capture methods share.
 *
 * One record per packet: the frame at entry, the frame at exit and the
 * verdict, handed to user space through a ring buffer in one piece (a full
 * ring loses a packet whole, never half of one). Entry and exit of one packet
 * always meet in the same per-CPU slot: an XDP program runs to completion on
 * one CPU. A token bucket per CPU caps how many packets a second are
 * recorded; what the cap skips and what a full ring loses are counted apart.
 */
#ifndef XDP_TUI_CAPTURE_COMMON_H
#define XDP_TUI_CAPTURE_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define SNAP_MAX 1024 /* bytes kept per side; user space asks for up to this */

struct capture_config {
	__u32 ifindex;     /* only packets received here; 0: any */
	__u32 snaplen;     /* bytes kept of each side, <= SNAP_MAX */
	__u64 interval_ns; /* per CPU: one packet per interval at most; 0: no cap */
	__u64 burst_ns;    /* credit that may pile up while idle */
};

/* Field order and sizes are mirrored by RECORD_HEADER in engine/capture.py. */
struct capture_record {
	__u64 time_ns; /* bpf_ktime_get_ns() at entry */
	__u64 seq;     /* per-CPU packet number */
	__u32 ifindex;
	__u32 cpu;
	__u32 len_in;  /* frame length at entry and at exit */
	__u32 len_out;
	__u16 cap_in;  /* bytes of each side kept in data[] (in first, then out) */
	__u16 cap_out;
	__s32 verdict;
	__u8 data[2 * SNAP_MAX];
};

struct capture_cpu_state {
	__u64 seq;
	__u64 credit_ns;
	__u64 last_ns;
	__u32 taking; /* this CPU's current packet is being recorded */
	__u32 unsignalled; /* records sent since user space was last woken */
};

enum capture_counter {
	COUNT_SEEN = 0,      /* packets the program under study ran on (this ifindex) */
	COUNT_RECORDED,      /* records handed to user space */
	COUNT_RATE_SKIPPED,  /* not recorded: over the rate cap */
	COUNT_RING_FULL,     /* lost: the ring buffer was full */
	COUNT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct capture_config);
} capture_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct capture_cpu_state);
} capture_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct capture_record);
} capture_slot SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, COUNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} capture_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* user space may resize before loading */
} capture_ring SEC(".maps");

static __always_inline void capture_count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&capture_counters, &which);

	if (n)
		*n += 1; /* per-CPU value: no other CPU writes it */
}

/* Token bucket: true when this packet may be recorded. */
static __always_inline int capture_take_token(struct capture_cpu_state *st, struct capture_config *cfg)
{
	__u64 now, credit;

	if (!cfg->interval_ns)
		return 1;
	now = bpf_ktime_get_ns();
	credit = st->credit_ns + (now - st->last_ns);
	st->last_ns = now;
	if (credit > cfg->burst_ns)
		credit = cfg->burst_ns;
	if (credit < cfg->interval_ns) {
		st->credit_ns = credit;
		return 0;
	}
	st->credit_ns = credit - cfg->interval_ns;
	return 1;
}

/* How many bytes of a LEN-byte frame to keep: at most snaplen, at most SNAP_MAX. */
static __always_inline __u32 capture_cap(__u32 len, struct capture_config *cfg)
{
	__u32 cap = len < cfg->snaplen ? len : cfg->snaplen;

	return cap > SNAP_MAX ? SNAP_MAX : cap;
}

/*
 * CAP (1..SNAP_MAX) in a form the verifier can bound when it is a helper's
 * size: clang may otherwise hand the helper a copy of the value taken before
 * the range check. The empty asm hides the value from the optimiser, the mask
 * and +1 then give the verifier the range 1..SNAP_MAX (SNAP_MAX is a power of two).
 */
static __always_inline __u64 capture_bounded(__u32 cap)
{
	__u64 n = cap - 1;

	asm volatile("" : "+r"(n));
	n &= SNAP_MAX - 1;
	return n + 1;
}

/*
 * Entry side: the record slot to fill with the frame as it arrived, or NULL
 * when this packet is not recorded (other interface, over the rate cap).
 */
static __always_inline struct capture_record *capture_begin(__u32 ifindex, __u32 len,
							    struct capture_config **cfgp)
{
	__u32 zero = 0;
	struct capture_config *cfg = bpf_map_lookup_elem(&capture_config, &zero);
	struct capture_cpu_state *st = bpf_map_lookup_elem(&capture_state, &zero);
	struct capture_record *rec = bpf_map_lookup_elem(&capture_slot, &zero);

	if (!cfg || !st || !rec)
		return 0;
	st->taking = 0;
	if (cfg->ifindex && cfg->ifindex != ifindex)
		return 0;
	st->seq += 1;
	capture_count(COUNT_SEEN);
	if (!capture_take_token(st, cfg)) {
		capture_count(COUNT_RATE_SKIPPED);
		return 0;
	}
	st->taking = 1;
	rec->time_ns = bpf_ktime_get_ns();
	rec->seq = st->seq;
	rec->ifindex = ifindex;
	rec->cpu = bpf_get_smp_processor_id();
	rec->len_in = len;
	rec->cap_in = 0;
	*cfgp = cfg;
	return rec;
}

/* Exit side: the slot begun at entry (NULL if this packet is not recorded). */
static __always_inline struct capture_record *capture_resume(struct capture_config **cfgp)
{
	__u32 zero = 0;
	struct capture_config *cfg = bpf_map_lookup_elem(&capture_config, &zero);
	struct capture_cpu_state *st = bpf_map_lookup_elem(&capture_state, &zero);
	struct capture_record *rec = bpf_map_lookup_elem(&capture_slot, &zero);

	if (!cfg || !st || !rec || !st->taking)
		return 0;
	st->taking = 0;
	*cfgp = cfg;
	return rec;
}

/* Where the exit bytes go: right after the entry bytes. */
static __always_inline __u32 capture_out_offset(struct capture_record *rec)
{
	__u32 offset = rec->cap_in;

	return offset > SNAP_MAX ? SNAP_MAX : offset;
}

/*
 * Wake the reader for one record in WAKEUP_EVERY only: a wake-up per packet
 * costs more than the record itself at high rates. The reader also drains
 * the ring after each poll's timeout, so a lone packet still shows up.
 */
#define WAKEUP_EVERY 64

static __always_inline __u64 capture_wakeup_flag(void)
{
	__u32 zero = 0;
	struct capture_cpu_state *st = bpf_map_lookup_elem(&capture_state, &zero);

	if (!st || ++st->unsignalled < WAKEUP_EVERY)
		return BPF_RB_NO_WAKEUP;
	st->unsignalled = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/* Hand the finished record to user space (or count it lost). */
static __always_inline void capture_finish(struct capture_record *rec, __u32 offset,
					   __u32 cap_out, __u32 len_out, int verdict)
{
	__u32 size = offsetof(struct capture_record, data) + offset + cap_out;

	rec->len_out = len_out;
	rec->cap_out = cap_out;
	rec->verdict = verdict;
	if (size > sizeof(*rec))
		return;
	if (bpf_ringbuf_output(&capture_ring, rec, size, capture_wakeup_flag()))
		capture_count(COUNT_RING_FULL);
	else
		capture_count(COUNT_RECORDED);
}

#endif /* XDP_TUI_CAPTURE_COMMON_H */
