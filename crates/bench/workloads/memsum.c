/* memsum: one 8-byte load, an add and an xor-shift per word.
 * Input: u64 sweeps (8), u64 words (4096 = 32 KiB), then the words. Returns the accumulator. */
#include "common.h"

ENTRY u64 main(void *mem, u64 len)
{
	const u64 *h = mem;
	u64 sweeps = h[0], words = h[1], acc = 0;
	const u64 *data = h + 2;
	(void)len;
	for (u64 s = 0; s < sweeps; s++) {
		for (u64 k = 0; k < words; k++) {
			acc += data[k];
			acc ^= acc >> 7;
		}
	}
	return acc;
}
