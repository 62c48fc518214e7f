/* 802.1Q header, as the tutorial's helpers declare it (the kernel keeps its
 * own in a header user space cannot include). */
#ifndef CORPUS_VLAN_H
#define CORPUS_VLAN_H

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

#define VLAN_VID_MASK 0x0fff

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == __constant_htons(ETH_P_8021Q) ||
	       h_proto == __constant_htons(ETH_P_8021AD);
}

#endif
