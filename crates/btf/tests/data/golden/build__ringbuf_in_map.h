typedef unsigned int uint32_t;

/* .maps */
struct {
	int (*type)[27];
	int (*max_entries)[262144];
} inner_map __attribute__((section(".maps")));
struct {
	int (*type)[12];
	int (*max_entries)[1];
	uint32_t *key;
	struct {
		int (*type)[27];
		int (*max_entries)[262144];
	} *values[0];
} array_of_maps __attribute__((section(".maps")));

/* functions */
int func(void *ctx);
