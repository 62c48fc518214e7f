/* SPDX-License-Identifier: MIT */
/*
 * common.h - what almost every xdp-tui lesson program starts with.
 *
 * Pulls in the kernel's BPF definitions, libbpf's helper declarations and
 * byte-order macros, and declares the program license once. The kernel
 * only lets GPL-compatible programs call some helpers (bpf_printk among
 * them), so the license string is "GPL" unless a lesson overrides it by
 * defining XDP_TUI_LICENSE before including this file.
 */
#ifndef XDP_TUI_COMMON_H
#define XDP_TUI_COMMON_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef XDP_TUI_LICENSE
#define XDP_TUI_LICENSE "GPL"
#endif

#ifndef XDP_TUI_NO_LICENSE
char _license[] SEC("license") = XDP_TUI_LICENSE;
#endif

#endif /* XDP_TUI_COMMON_H */
