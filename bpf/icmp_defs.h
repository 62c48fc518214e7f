/* SPDX-License-Identifier: MIT */
/*
 * icmp_defs.h - the ICMP (IPv4) header, for BPF programs.
 *
 * Why not <linux/icmp.h>? It includes <linux/if.h>, which includes glibc's
 * <sys/socket.h>; under `clang -target bpf` glibc then asks for its 32-bit
 * headers (gnu/stubs-32.h, Debian package libc6-dev-i386). We only need the
 * header layout, so we declare it here with the kernel's names, and set the
 * kernel header's include guard: including <linux/icmp.h> after this file
 * is harmless, and this file after <linux/icmp.h> declares nothing twice.
 */
#ifndef _LINUX_ICMP_H
#define _LINUX_ICMP_H

#include <linux/types.h>

#define ICMP_ECHOREPLY 0 /* echo reply */
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8 /* echo request */
#define ICMP_TIME_EXCEEDED 11

/* RFC 792: type, code, checksum, then 4 bytes that depend on the type. */
struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
		__u8 reserved[4];
	} un;
};

#endif /* _LINUX_ICMP_H */
