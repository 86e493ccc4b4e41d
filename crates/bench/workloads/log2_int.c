/* log2_int: XOR-accumulate a branch-free floor(log2) of n u64 values.
 * Input: u64 n (1024), then n u64 values (non-zero upper halves). */
#include "common.h"

static inline u64 log2_32(u32 v)
{
	u32 r, s;
	r = (v > 0xFFFF) << 4;
	v >>= r;
	s = (v > 0xFF) << 3;
	v >>= s;
	r |= s;
	s = (v > 0xF) << 2;
	v >>= s;
	r |= s;
	s = (v > 0x3) << 1;
	v >>= s;
	r |= s;
	r |= (v >> 1);
	return r;
}

static inline u64 log2_64(u64 v)
{
	u32 hi = v >> 32;
	if (hi)
		return log2_32(hi) + 32;
	return log2_32((u32)v);
}

ENTRY u64 main(void *mem, u64 len)
{
	const u64 *h = mem;
	u64 n = h[0], acc = 0;
	(void)len;
	for (u64 k = 0; k < n; k++)
		acc ^= log2_64(h[1 + k]);
	return acc;
}
