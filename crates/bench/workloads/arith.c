/* arith: a latency-bound loop; every step depends on the previous one.
 * Input: u64 n (50,000), u64 x0, u64 y0. Returns x ^ y. */
#include "common.h"

ENTRY u64 main(void *mem, u64 len)
{
	const u64 *h = mem;
	u64 n = h[0], x = h[1], y = h[2];
	(void)len;
	for (u64 i = 0; i < n; i++) {
		x = x * 0x5851f42d4c957f2dULL + i;
		y ^= x >> 29;
		y = (y << 7) | (y >> 57);
		x += y;
	}
	return x ^ y;
}
