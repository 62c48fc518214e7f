/* The same program with `flows` declared for 100,000 flows, as a learner writing
 * a 100k-flow table would size it: 131,072 slots (a power of two, so the kernel's
 * buckets match max_entries). bench/bigmaps.py measures both declarations. */
#define FLOWS_MAX_ENTRIES (1 << 17)
#include "bigmap_flows.c"
