/* SPDX-License-Identifier: MIT */
/*
 * csum_helpers.h - keep Internet checksums right after changing a packet.
 *
 * IPv4 headers, ICMP, ICMPv6, UDP and TCP carry a 16-bit one's complement
 * checksum. Recomputing it over the whole packet would need a loop over
 * the payload; when only a few 16-bit words changed, RFC 1624 gives the new
 * checksum from the old one (equation 3):
 *
 *     HC' = ~(~HC + ~m + m')
 *
 * HC is the old checksum, m the old word, m' the new one. One's complement
 * sums do not care about byte order as long as all values use the same one,
 * so network-order fields go in unchanged.
 */
#ifndef XDP_TUI_CSUM_HELPERS_H
#define XDP_TUI_CSUM_HELPERS_H

#include <linux/types.h>
#include <bpf/bpf_helpers.h>

/* Fold a 32-bit one's complement sum into 16 bits. */
static __always_inline __u16 csum_fold32(__u32 sum)
{
	/* Twice: the first fold can carry into bit 16 once more. */
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* One 16-bit word of the checksummed data changed from OLD_WORD to NEW_WORD. */
static __always_inline void csum_replace2(__sum16 *sum, __be16 old_word,
					  __be16 new_word)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~old_word;
	s += new_word;
	*sum = (__sum16)~csum_fold32(s);
}

/* The same for a 32-bit field (an IPv4 address, say): two words at once. */
static __always_inline void csum_replace4(__sum16 *sum, __be32 old_value,
					  __be32 new_value)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~old_value + (__u16)~(old_value >> 16);
	s += (__u16)new_value + (__u16)(new_value >> 16);
	*sum = (__sum16)~csum_fold32(s);
}

#endif /* XDP_TUI_CSUM_HELPERS_H */
