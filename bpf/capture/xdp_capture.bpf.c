/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xdp_capture.bpf.c - see each packet an XDP program handles, before and after.
 *
 * Two tracing programs are attached to the XDP program under study: one runs
 * when it is entered (fentry) and copies the frame as it arrived into a per-CPU
 * slot; the other runs when it returns (fexit), appends the frame as the
 * program left it plus the verdict, and hands the whole record to user space
 * through a ring buffer. Doing both halves in one record means user space never
 * has to pair them, and a full ring loses a packet whole, never half of one.
 *
 * An XDP program runs to completion on one CPU (softirq, no nesting), so the
 * entry and exit of one packet always meet in the same per-CPU slot.
 *
 * A token bucket per CPU caps how many packets a second are recorded, so a
 * full-speed stream costs the program under study little; what the cap skips
 * and what a full ring loses are counted separately in `capture_counters`.
 *
 * The kernel hands tracing programs the XDP program's context as the kernel's
 * own `struct xdp_buff`; the few fields we read are declared here with
 * preserve_access_index so libbpf relocates them against the running kernel.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define SNAP_MAX 1024 /* bytes kept per side; user space asks for up to this */

struct net_device {
	int ifindex;
} __attribute__((preserve_access_index));

struct xdp_rxq_info {
	struct net_device *dev;
} __attribute__((preserve_access_index));

struct xdp_buff {
	void *data;
	void *data_end;
	struct xdp_rxq_info *rxq;
} __attribute__((preserve_access_index));

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

struct cpu_state {
	__u64 seq;
	__u64 credit_ns;
	__u64 last_ns;
	__u32 taking; /* this CPU's current packet is being recorded */
	__u32 pad;
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
	__type(value, struct cpu_state);
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

static __always_inline void count(__u32 which)
{
	__u64 *n = bpf_map_lookup_elem(&capture_counters, &which);

	if (n)
		*n += 1; /* per-CPU value: no other CPU writes it */
}

/* Token bucket: true when this packet may be recorded. */
static __always_inline int take_token(struct cpu_state *st, struct capture_config *cfg)
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

/* Copy up to snaplen bytes of the frame to dst; returns how many were kept. */
static __always_inline __u32 copy_frame(__u8 *dst, void *data, __u32 len, __u32 snaplen)
{
	__u32 cap = len < snaplen ? len : snaplen;

	if (cap > SNAP_MAX)
		cap = SNAP_MAX;
	if (bpf_probe_read_kernel(dst, cap, data))
		return 0;
	return cap;
}

SEC("fentry/xdp")
int BPF_PROG(capture_entry, struct xdp_buff *xdp)
{
	__u32 zero = 0;
	struct capture_config *cfg = bpf_map_lookup_elem(&capture_config, &zero);
	struct cpu_state *st = bpf_map_lookup_elem(&capture_state, &zero);
	struct capture_record *rec = bpf_map_lookup_elem(&capture_slot, &zero);
	__u32 ifindex = xdp->rxq->dev->ifindex;
	void *data = xdp->data;
	__u32 len = xdp->data_end - data;

	if (!cfg || !st || !rec)
		return 0;
	st->taking = 0;
	if (cfg->ifindex && cfg->ifindex != ifindex)
		return 0;
	st->seq += 1;
	count(COUNT_SEEN);
	if (!take_token(st, cfg)) {
		count(COUNT_RATE_SKIPPED);
		return 0;
	}
	st->taking = 1;
	rec->time_ns = bpf_ktime_get_ns();
	rec->seq = st->seq;
	rec->ifindex = ifindex;
	rec->cpu = bpf_get_smp_processor_id();
	rec->len_in = len;
	rec->cap_in = copy_frame(rec->data, data, len, cfg->snaplen);
	return 0;
}

SEC("fexit/xdp")
int BPF_PROG(capture_exit, struct xdp_buff *xdp, int verdict)
{
	__u32 zero = 0;
	struct capture_config *cfg = bpf_map_lookup_elem(&capture_config, &zero);
	struct cpu_state *st = bpf_map_lookup_elem(&capture_state, &zero);
	struct capture_record *rec = bpf_map_lookup_elem(&capture_slot, &zero);
	void *data = xdp->data;
	__u32 len = xdp->data_end - data;
	__u32 offset, cap_out, size;

	if (!cfg || !st || !rec || !st->taking)
		return 0;
	st->taking = 0;
	offset = rec->cap_in;
	if (offset > SNAP_MAX)
		offset = SNAP_MAX;
	cap_out = copy_frame(rec->data + offset, data, len, cfg->snaplen);
	rec->len_out = len;
	rec->cap_out = cap_out;
	rec->verdict = verdict;
	size = offsetof(struct capture_record, data) + offset + cap_out;
	if (size > sizeof(*rec))
		return 0;
	if (bpf_ringbuf_output(&capture_ring, rec, size, 0))
		count(COUNT_RING_FULL);
	else
		count(COUNT_RECORDED);
	return 0;
}

char _license[] SEC("license") = "GPL";
