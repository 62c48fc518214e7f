/* The same program with one more field in struct datarec (rx_last_len). */
#define WITH_RX_LAST_LEN 1
#include "maps_kern.c"
