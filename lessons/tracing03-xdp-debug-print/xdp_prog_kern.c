/* SPDX-License-Identifier: MIT */
/*
 * tracing03 - printing debug lines from an XDP program.
 *
 * For every Ethernet frame, xdp_prog_simple prints one line with
 * bpf_printk(): source MAC, destination MAC and EtherType. The lines
 * appear in the kernel's trace_pipe: the Live tab's log pane in the TUI,
 * or `xdp-tui monitor` in a shell. It then lets the frame pass.
 *
 * The line is printed, but two of its three numbers come out with their
 * bytes the wrong way round.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/*
 * The six bytes of a MAC address as one number, for "%012llx".
 *
 * Assignment 2: copying the bytes into a __u64 keeps them in memory
 * order, and on this little-endian CPU the first byte of memory is the
 * LEAST significant one: the address prints back to front. Build the
 * number so that mac[0] ends up most significant (shift and OR, one
 * byte at a time).
 */
static __always_inline __u64 mac_to_u64(const unsigned char *mac)
{
	__u64 value = 0;

	__builtin_memcpy(&value, mac, ETH_ALEN);
	return value;
}

SEC("xdp")
int xdp_prog_simple(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	/* The verifier wants proof that the header is there before we read it. */
	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;

	/*
	 * Three values: the most one bpf_trace_printk() call can take (with
	 * more, libbpf's bpf_printk switches to bpf_trace_vprintk). Keep the
	 * "xdp-debug" marker: the checks look for it.
	 *
	 * Assignment 1: h_proto is in network byte order (big-endian), so an
	 * IPv6 frame prints 56710 (0xdd86). Print it in host byte order.
	 */
	bpf_printk("xdp-debug src=%012llx dst=%012llx proto=%u",
		   mac_to_u64(eth->h_source), mac_to_u64(eth->h_dest),
		   eth->h_proto);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
