/* simple: return a constant; measures entry and exit overhead. */
#include "common.h"

ENTRY u64 main(void *mem, u64 len)
{
	(void)mem;
	(void)len;
	return 12345678;
}
