typedef unsigned int __u32;

typedef __u32 __be32;

typedef unsigned short __u16;

typedef __u16 __be16;

struct flow_key_record {
	__be32 src;
	__be32 dst;
	union {
		__be32 ports;
		__be16 port16[2];
	};
	__u32 ip_proto;
};

struct globals {
	struct flow_key_record flow;
};

typedef long long unsigned int __u64;

struct pair {
	__u64 packets;
	__u64 bytes;
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
};

/* .maps */
struct {
	int (*type)[3];
	int (*key_size)[4];
	int (*value_size)[4];
	int (*max_entries)[8];
} jmp_table __attribute__((section(".maps")));
struct {
	int (*type)[2];
	__u32 *key;
	struct globals *value;
	int (*max_entries)[32];
} percpu_map __attribute__((section(".maps")));
struct {
	int (*type)[1];
	struct flow_key_record *key;
	struct pair *value;
	int (*max_entries)[1024];
} hash_map __attribute__((section(".maps")));

/* license */
char _license[4] __attribute__((section("license")));

/* functions */
int bpf_func_PARSE_IP(struct __sk_buff *skb);
int bpf_func_PARSE_IPV6(struct __sk_buff *skb);
int bpf_func_PARSE_VLAN(struct __sk_buff *skb);
int bpf_func_PARSE_MPLS(struct __sk_buff *skb);
int main_prog(struct __sk_buff *skb);
