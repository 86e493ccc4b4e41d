typedef unsigned char __u8;

typedef unsigned short __u16;

struct metrics_key {
	__u8 reason;
	__u8 dir: 2;
	__u8 pad: 6;
	__u16 line;
	__u8 file;
	__u8 reserved[3];
};

typedef unsigned long long __u64;

struct metrics_value {
	__u64 count;
	__u64 bytes;
};

typedef unsigned int __u32;

typedef __u32 __be32;

union v6addr {
	__u8 addr[16];
	struct {
		__u32 p1;
		__u32 p2;
		__u32 p3;
		__u32 p4;
	} p;
	struct {
		__u64 d1;
		__u64 d2;
	} d;
};

struct ipv6_frag_id {
	__be32 id;
	__u8 proto;
	__u8 pad[3];
	union v6addr saddr;
	union v6addr daddr;
};

typedef __u16 __be16;

struct ipv6_frag_l4ports {
	__be16 sport;
	__be16 dport;
};

struct ratelimit_key {
	__u32 usage;
	union {
		struct {
			__u32 netdev_idx;
		} icmpv6;
	} key;
};

struct ratelimit_value {
	__u64 last_topup;
	__u64 tokens;
};

struct ratelimit_metrics_key {
	__u32 usage;
};

struct ratelimit_metrics_value {
	__u64 dropped;
};

struct ipv4_frag_id {
	__be32 daddr;
	__be32 saddr;
	__be16 id;
	__u8 proto;
	__u8 pad;
};

struct ipv4_frag_l4ports {
	__be16 sport;
	__be16 dport;
};

struct endpoint_key {
	union {
		struct {
			__u32 ip4;
			__u32 pad1;
			__u32 pad2;
			__u32 pad3;
		};
		union v6addr ip6;
	};
	__u8 family;
	__u8 key;
	__u16 cluster_id;
} __attribute__((packed));

typedef __u64 mac_t;

struct endpoint_info {
	__u32 ifindex;
	__u16 unused;
	__u16 lxc_id;
	__u32 flags;
	mac_t mac;
	mac_t node_mac;
	__u32 sec_id;
	__u32 parent_ifindex;
	__u32 pad[2];
};

struct bpf_lpm_trie_key {
	__u32 prefixlen;
	__u8 data[0];
};

struct ipcache_key {
	struct bpf_lpm_trie_key lpm_key;
	__u16 cluster_id;
	__u8 pad1;
	__u8 family;
	union {
		struct {
			__u32 ip4;
			__u32 pad4;
			__u32 pad5;
			__u32 pad6;
		};
		union v6addr ip6;
	};
};

struct remote_endpoint_info {
	__u32 sec_identity;
	union {
		struct {
			__u32 ip4;
			__u32 pad1;
			__u32 pad2;
			__u32 pad3;
		};
		union v6addr ip6;
	} tunnel_endpoint;
	__u16 pad;
	__u8 key;
	__u8 flag_skip_tunnel: 1;
	__u8 flag_has_tunnel_ep: 1;
	__u8 flag_ipv6_tunnel_ep: 1;
	__u8 flag_remote_cluster: 1;
	__u8 pad2: 4;
} __attribute__((packed));

struct node_key {
	__u16 pad1;
	__u8 pad2;
	__u8 family;
	union {
		struct {
			__u32 ip4;
			__u32 pad4;
			__u32 pad5;
			__u32 pad6;
		};
		union v6addr ip6;
	};
} __attribute__((packed));

struct node_value {
	__u16 id;
	__u8 spi;
	__u8 pad;
};

struct encrypt_config {
	__u8 encrypt_key;
};

struct bpf_flow_keys;

struct bpf_sock;

struct __sk_buff {
	__u32 len;
	__u32 pkt_type;
	__u32 mark;
	__u32 queue_mapping;
	__u32 protocol;
	__u32 vlan_present;
	__u32 vlan_tci;
	__u32 vlan_proto;
	__u32 priority;
	__u32 ingress_ifindex;
	__u32 ifindex;
	__u32 tc_index;
	__u32 cb[5];
	__u32 hash;
	__u32 tc_classid;
	__u32 data;
	__u32 data_end;
	__u32 napi_id;
	__u32 family;
	__u32 remote_ip4;
	__u32 local_ip4;
	__u32 remote_ip6[4];
	__u32 local_ip6[4];
	__u32 remote_port;
	__u32 local_port;
	__u32 data_meta;
	union {
		struct bpf_flow_keys *flow_keys;
	};
	__u64 tstamp;
	__u32 wire_len;
	__u32 gso_segs;
	union {
		struct bpf_sock *sk;
	};
	__u32 gso_size;
	__u8 tstamp_type;
	__u64 hwtstamp;
};

union v4addr {
	__be32 be32;
	__u8 addr[4];
};

/* .maps */
struct {
	int (*type)[4];
	int (*key_size)[4];
	int (*value_size)[4];
	int (*pinning)[1];
} cilium_events __attribute__((section(".maps")));
struct {
	int (*type)[5];
	struct metrics_key *key;
	struct metrics_value *value;
	int (*pinning)[1];
	int (*max_entries)[65536];
	int (*map_flags)[1];
} cilium_metrics __attribute__((section(".maps")));
struct {
	int (*type)[9];
	struct ipv6_frag_id *key;
	struct ipv6_frag_l4ports *value;
	int (*pinning)[1];
	int (*max_entries)[8192];
	int (*map_flags)[0];
} cilium_ipv6_frag_datagrams __attribute__((section(".maps")));
struct {
	int (*type)[9];
	struct ratelimit_key *key;
	struct ratelimit_value *value;
	int (*pinning)[1];
	int (*max_entries)[1024];
	int (*map_flags)[0];
} cilium_ratelimit __attribute__((section(".maps")));
struct {
	int (*type)[1];
	struct ratelimit_metrics_key *key;
	struct ratelimit_metrics_value *value;
	int (*pinning)[1];
	int (*max_entries)[64];
	int (*map_flags)[1];
} cilium_ratelimit_metrics __attribute__((section(".maps")));
struct {
	int (*type)[9];
	struct ipv4_frag_id *key;
	struct ipv4_frag_l4ports *value;
	int (*pinning)[1];
	int (*max_entries)[8192];
	int (*map_flags)[0];
} cilium_ipv4_frag_datagrams __attribute__((section(".maps")));
struct {
	int (*type)[6];
	int (*max_entries)[1];
	__u32 *key;
	__u64 *value;
	int (*pinning)[1];
} cilium_percpu_trace_id __attribute__((section(".maps")));
struct {
	int (*type)[3];
	int (*key_size)[4];
	int (*max_entries)[49];
	int (*pinning)[16];
	int (*values[0])();
} cilium_calls __attribute__((section(".maps")));
struct {
	int (*type)[1];
	struct endpoint_key *key;
	struct endpoint_info *value;
	int (*pinning)[1];
	int (*max_entries)[65536];
	int (*map_flags)[1];
} cilium_lxc __attribute__((section(".maps")));
struct {
	int (*type)[11];
	struct ipcache_key *key;
	struct remote_endpoint_info *value;
	int (*pinning)[1];
	int (*max_entries)[512000];
	int (*map_flags)[1];
} cilium_ipcache_v2 __attribute__((section(".maps")));
struct {
	int (*type)[1];
	struct node_key *key;
	struct node_value *value;
	int (*pinning)[1];
	int (*max_entries)[16384];
	int (*map_flags)[1];
} cilium_node_map_v2 __attribute__((section(".maps")));
struct {
	int (*type)[2];
	__u32 *key;
	struct encrypt_config *value;
	int (*pinning)[1];
	int (*max_entries)[1];
} cilium_encrypt_state __attribute__((section(".maps")));

/* .rodata.config */
const volatile union v4addr __config_service_loopback_ipv4 __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("IPv4 source address used for SNAT when a Pod talks to itself over a Service"))) __attribute__((section(".rodata.config")));
const volatile union v6addr __config_service_loopback_ipv6 __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("IPv6 source address used for SNAT when a Pod talks to itself over a Service"))) __attribute__((section(".rodata.config")));
const volatile union v6addr __config_router_ipv6 __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("Internal IPv6 router address assigned to the cilium_host interface"))) __attribute__((section(".rodata.config")));
const volatile __u32 __config_trace_payload_len __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("Length of payload to capture when tracing native packets."))) __attribute__((section(".rodata.config")));
const volatile __u32 __config_trace_payload_len_overlay __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("Length of payload to capture when tracing overlay packets."))) __attribute__((section(".rodata.config")));
const volatile __u32 __config_direct_routing_dev_ifindex __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("Index of the interface used to connect nodes in the cluster."))) __attribute__((section(".rodata.config")));
const volatile _Bool __config_supports_fib_lookup_skip_neigh __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("Whether or not BPF_FIB_LOOKUP_SKIP_NEIGH is supported."))) __attribute__((section(".rodata.config")));
const volatile __u8 __config_tracing_ip_option_type __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("The IP option type to use for packet tracing"))) __attribute__((section(".rodata.config")));
const volatile _Bool __config_policy_deny_response_enabled __attribute__((btf_decl_tag("kind:node"))) __attribute__((btf_decl_tag("Enable ICMP responses for policy-denied traffic"))) __attribute__((section(".rodata.config")));

/* license */
char ____license[13] __attribute__((section("license")));

/* functions */
int tail_drop_notify(struct __sk_buff *ctx) __attribute__((btf_decl_tag("tail:cilium_calls/1")));
int cil_from_network(struct __sk_buff *ctx);
