/* Refused by the verifier: a GPL-only helper in a program that is not GPL. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_print_not_gpl(struct xdp_md *ctx)
{
	char fmt[] = "packet\n";
	bpf_trace_printk(fmt, sizeof(fmt));
	return XDP_PASS;
}

char _license[] SEC("license") = "Proprietary";
