/* prime: count i in 1..9999 with no divisor j, 2 <= j, j*j <= i (1 counts: result 1230).
 * Input: u64 limit (10,000). The hot instruction is the modulo; -mcpu=v2 has no ALU32, so
 * it is a 64-bit modulo of values below 2^32. */
#include "common.h"

ENTRY u64 main(void *mem, u64 len)
{
	const u64 *h = mem;
	u32 limit = (u32)h[0];
	u64 count = 0;
	(void)len;
	for (u32 i = 1; i < limit; i++) {
		int prime = 1;
		for (u32 j = 2; j * j <= i; j++) {
			if (i % j == 0) {
				prime = 0;
				break;
			}
		}
		count += prime;
	}
	return count;
}
