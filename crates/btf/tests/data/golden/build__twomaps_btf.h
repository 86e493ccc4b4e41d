typedef long unsigned int uint64_t;

struct ctx;

/* .maps */
struct {
	int (*type)[2];
	int *key;
	uint64_t *value;
	int (*max_entries)[1];
} map1 __attribute__((section(".maps")));
struct {
	int (*type)[2];
	int (*key_size)[4];
	int (*value_size)[8];
	int (*max_entries)[2];
} map2 __attribute__((section(".maps")));

/* functions */
int func(struct ctx *ctx);
