typedef unsigned int uint32_t;

typedef struct {
	int (*type)[2];
	uint32_t *key;
	uint32_t *value;
	int (*max_entries)[1];
} inner_map_t;

typedef struct {
	int (*type)[12];
	int (*max_entries)[1];
	uint32_t *key;
	inner_map_t *values[0];
} outer_map_t;

/* .maps */
outer_map_t outer_map_1 __attribute__((section(".maps")));
outer_map_t outer_map_2 __attribute__((section(".maps")));

/* functions */
int func(void *ctx);
