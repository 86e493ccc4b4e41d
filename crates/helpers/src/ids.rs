//! Helper ids, taken by name from the one table in `ebpfvm_abi::helpers` at compile time
//! (no number is written twice), and bit sets of ids.

use ebpfvm_abi::helpers::HELPERS;

/// Ids below this bound fit in a [`IdSet`] (Linux's list ends at 211).
pub(crate) const ID_LIMIT: usize = 256;

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The id of the helper named `name` (without `bpf_`), if the abi table has it.
pub(crate) const fn find(name: &str) -> Option<i64> {
    let mut i = 0;
    while i < HELPERS.len() {
        if str_eq(HELPERS[i].name, name) {
            return Some(HELPERS[i].id as i64);
        }
        i += 1;
    }
    None
}

/// The id of the helper named `name`; a compile error if the abi table lacks it.
const fn id(name: &str) -> i64 {
    match find(name) {
        Some(id) => id,
        None => panic!("helper name missing from ebpfvm_abi::helpers::HELPERS"),
    }
}

/// Declares `pub(crate) const NAME: i64 = id("name");` for each helper.
macro_rules! ids {
    ($($konst:ident = $name:literal;)*) => {
        $(
            #[doc = concat!("`bpf_", $name, "`.")]
            pub(crate) const $konst: i64 = id($name);
        )*
    };
}

ids! {
    MAP_LOOKUP_ELEM = "map_lookup_elem";
    MAP_UPDATE_ELEM = "map_update_elem";
    MAP_DELETE_ELEM = "map_delete_elem";
    PROBE_READ = "probe_read";
    KTIME_GET_NS = "ktime_get_ns";
    TRACE_PRINTK = "trace_printk";
    GET_PRANDOM_U32 = "get_prandom_u32";
    GET_SMP_PROCESSOR_ID = "get_smp_processor_id";
    SKB_STORE_BYTES = "skb_store_bytes";
    L3_CSUM_REPLACE = "l3_csum_replace";
    L4_CSUM_REPLACE = "l4_csum_replace";
    TAIL_CALL = "tail_call";
    GET_CURRENT_PID_TGID = "get_current_pid_tgid";
    GET_CURRENT_UID_GID = "get_current_uid_gid";
    GET_CURRENT_COMM = "get_current_comm";
    REDIRECT = "redirect";
    PERF_EVENT_OUTPUT = "perf_event_output";
    SKB_LOAD_BYTES = "skb_load_bytes";
    CSUM_DIFF = "csum_diff";
    GET_NUMA_NODE_ID = "get_numa_node_id";
    XDP_ADJUST_HEAD = "xdp_adjust_head";
    PROBE_READ_STR = "probe_read_str";
    REDIRECT_MAP = "redirect_map";
    XDP_ADJUST_META = "xdp_adjust_meta";
    XDP_ADJUST_TAIL = "xdp_adjust_tail";
    MAP_PUSH_ELEM = "map_push_elem";
    MAP_POP_ELEM = "map_pop_elem";
    MAP_PEEK_ELEM = "map_peek_elem";
    SPIN_LOCK = "spin_lock";
    SPIN_UNLOCK = "spin_unlock";
    STRTOL = "strtol";
    STRTOUL = "strtoul";
    PROBE_READ_USER = "probe_read_user";
    PROBE_READ_KERNEL = "probe_read_kernel";
    PROBE_READ_USER_STR = "probe_read_user_str";
    PROBE_READ_KERNEL_STR = "probe_read_kernel_str";
    JIFFIES64 = "jiffies64";
    KTIME_GET_BOOT_NS = "ktime_get_boot_ns";
    RINGBUF_OUTPUT = "ringbuf_output";
    RINGBUF_RESERVE = "ringbuf_reserve";
    RINGBUF_SUBMIT = "ringbuf_submit";
    RINGBUF_DISCARD = "ringbuf_discard";
    RINGBUF_QUERY = "ringbuf_query";
    KTIME_GET_COARSE_NS = "ktime_get_coarse_ns";
    FOR_EACH_MAP_ELEM = "for_each_map_elem";
    SNPRINTF = "snprintf";
    LOOP = "loop";
}

/// `bpf_map_lookup_percpu_elem` (Linux id 195), looked up by name like the others.
pub(crate) const MAP_LOOKUP_PERCPU_ELEM: Option<i64> = find("map_lookup_percpu_elem");

/// Helper names the tables of this crate may name although the abi table does not have
/// them (yet): they are skipped, not a compile error.
const NOT_YET_IN_ABI: &[&str] = &["map_lookup_percpu_elem"];

/// A set of helper ids below [`ID_LIMIT`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct IdSet([u64; ID_LIMIT / 64]);

impl IdSet {
    /// The helpers named in `groups`; a compile error for a name the abi table lacks
    /// (unless listed in `NOT_YET_IN_ABI`).
    pub(crate) const fn of_names(groups: &[&[&str]]) -> IdSet {
        let mut bits = [0u64; ID_LIMIT / 64];
        let mut g = 0;
        while g < groups.len() {
            let mut n = 0;
            while n < groups[g].len() {
                let name = groups[g][n];
                match find(name) {
                    Some(id) => {
                        let id = id as usize;
                        assert!(id < ID_LIMIT, "helper id out of IdSet range");
                        bits[id / 64] |= 1 << (id % 64);
                    }
                    None => {
                        let mut known = false;
                        let mut k = 0;
                        while k < NOT_YET_IN_ABI.len() {
                            if str_eq(NOT_YET_IN_ABI[k], name) {
                                known = true;
                            }
                            k += 1;
                        }
                        assert!(known, "helper name missing from the abi table");
                    }
                }
                n += 1;
            }
            g += 1;
        }
        IdSet(bits)
    }

    /// The helpers in either set.
    pub(crate) const fn or(self, other: IdSet) -> IdSet {
        let mut bits = self.0;
        let mut i = 0;
        while i < bits.len() {
            bits[i] |= other.0[i];
            i += 1;
        }
        IdSet(bits)
    }

    /// The helpers in both sets.
    pub(crate) const fn and(self, other: IdSet) -> IdSet {
        let mut bits = self.0;
        let mut i = 0;
        while i < bits.len() {
            bits[i] &= other.0[i];
            i += 1;
        }
        IdSet(bits)
    }

    /// Whether `id` is in the set.
    #[inline]
    pub(crate) const fn contains(&self, id: i64) -> bool {
        if id < 0 || id >= ID_LIMIT as i64 {
            return false;
        }
        let id = id as usize;
        self.0[id / 64] & (1 << (id % 64)) != 0
    }
}
