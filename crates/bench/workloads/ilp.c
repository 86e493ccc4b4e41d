/* ilp: four independent add/xor/shift chains (throughput-bound).
 * Input: u64 n (40,000), u64 a0, b0, c0, d0. Returns a ^ b ^ c ^ d. */
#include "common.h"

ENTRY u64 main(void *mem, u64 len)
{
	const u64 *h = mem;
	u64 n = h[0], a = h[1], b = h[2], c = h[3], d = h[4];
	(void)len;
	for (u64 i = 0; i < n; i++) {
		a = (a + i) ^ (a >> 3);
		b = (b ^ i) + (b << 5);
		c = (c + 0x9e3779b9) ^ (c >> 7);
		d = (d ^ (d << 11)) + i;
	}
	return a ^ b ^ c ^ d;
}
