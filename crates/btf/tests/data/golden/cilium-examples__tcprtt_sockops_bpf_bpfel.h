typedef unsigned int __u32;

typedef __u32 u32;

struct sk_key {
	u32 local_ip4;
	u32 remote_ip4;
	u32 local_port;
	u32 remote_port;
};

typedef unsigned char __u8;

typedef __u8 u8;

struct sk_info {
	struct sk_key sk_key;
	u8 sk_type;
};

typedef unsigned short __u16;

typedef __u16 u16;

struct rtt_event {
	u16 sport;
	u16 dport;
	u32 saddr;
	u32 daddr;
	u32 srtt;
};

struct bpf_sock_ops {
	__u32 op;
	union {
		__u32 args[4];
		__u32 reply;
		__u32 replylong[4];
	};
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_port;
	__u32 local_port;
	__u32 srtt_us;
	__u32 bpf_sock_ops_cb_flags;
};

/* .maps */
struct {
	int (*type)[1];
	int (*max_entries)[65535];
	struct sk_key *key;
	struct sk_info *value;
} map_estab_sk __attribute__((section(".maps")));
struct {
	int (*type)[27];
	int (*max_entries)[16777216];
	struct rtt_event *value;
} rtt_events __attribute__((section(".maps")));

/* license */
char __license[13] __attribute__((section("license")));

/* functions */
int bpf_sockops_cb(struct bpf_sock_ops *skops);
