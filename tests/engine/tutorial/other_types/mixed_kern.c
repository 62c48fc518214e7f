/* One object, three program types: only the XDP one is xdp-tui's to attach. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass_all(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int tc_pass_all(struct __sk_buff *skb)
{
	return TC_ACT_OK;
}

struct xdp_exception_args {
	unsigned long long common;
	int prog_id;
	__u32 act;
	int ifindex;
};

SEC("tracepoint/xdp/xdp_exception")
int trace_xdp_exception(struct xdp_exception_args *args)
{
	return 0;
}

char _license[] SEC("license") = "GPL";
