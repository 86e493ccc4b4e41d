//! `BPF_MAP_TYPE_LPM_TRIE`: longest-prefix match on `struct bpf_lpm_trie_key { u32
//! prefixlen; u8 data[]; }` (prefix length in host byte order, data in network order).
//!
//! The same binary trie as Linux's `kernel/bpf/lpm_trie.c`: each node has a prefix and
//! two children, intermediate nodes (no value) are inserted to split paths and removed when
//! they stop having two children. Lookups return the deepest matching node that holds a
//! value; `get_next_key` walks in post-order (more specific prefixes first, Linux's order).
//! Creation requires `BPF_F_NO_PREALLOC`; a full trie fails with `ENOSPC`.
//!
//! Nodes live in an arena behind a reader-writer lock (Linux: RCU readers and a spin
//! lock); each value is a separate block that a replacement or deletion hands to the epoch
//! collector, so value pointers stay valid for the run.

use std::any::Any;
use std::sync::atomic::AtomicU64;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crossbeam_epoch::Guard;

use crate::def::{check_common, check_flag_mask, KMALLOC_MAX_SIZE};
use crate::flags::*;
use crate::map::elem_flags;
use crate::storage::{load_bytes, ptr_of, store_bytes, words_for, zeroed_words, Words, NIL};
use crate::{Map, MapDef, MapError, MapInfo, MapOptions, RunGuard};

/// `LPM_DATA_SIZE_MAX`.
const DATA_SIZE_MAX: u32 = 256;

#[derive(Debug)]
struct Node {
    prefixlen: u32,
    data: Box<[u8]>,
    /// `None` for intermediate nodes.
    value: Option<Words>,
    child: [u32; 2],
}

#[derive(Debug, Default)]
struct Trie {
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    root: u32,
    n_entries: u32,
}

/// Where a node hangs: the root, or a parent's child slot.
#[derive(Clone, Copy)]
enum Slot {
    Root,
    Child(u32, usize),
}

impl Trie {
    fn node(&self, i: u32) -> &Node {
        self.nodes[i as usize]
            .as_ref()
            .expect("trie links point at live nodes")
    }

    fn node_mut(&mut self, i: u32) -> &mut Node {
        self.nodes[i as usize]
            .as_mut()
            .expect("trie links point at live nodes")
    }

    fn get(&self, slot: Slot) -> u32 {
        match slot {
            Slot::Root => self.root,
            Slot::Child(p, b) => self.node(p).child[b],
        }
    }

    fn set(&mut self, slot: Slot, to: u32) {
        match slot {
            Slot::Root => self.root = to,
            Slot::Child(p, b) => self.node_mut(p).child[b] = to,
        }
    }

    fn add(&mut self, node: Node) -> u32 {
        if let Some(i) = self.free.pop() {
            self.nodes[i as usize] = Some(node);
            i
        } else {
            self.nodes.push(Some(node));
            (self.nodes.len() - 1) as u32
        }
    }

    /// Removes a node; its value (if any) is dropped once no run can see it.
    fn remove(&mut self, i: u32, guard: &Guard) {
        if let Some(node) = self.nodes[i as usize].take() {
            if let Some(v) = node.value {
                guard.defer(move || drop(v));
            }
            self.free.push(i);
        }
    }
}

fn extract_bit(data: &[u8], index: u32) -> usize {
    let byte = data.get(index as usize / 8).copied().unwrap_or(0);
    usize::from(byte >> (7 - index % 8) & 1)
}

/// Leading bits of `node` that match the key, at most `min(node.prefixlen, prefixlen)`.
fn longest_prefix_match(node: &Node, prefixlen: u32, data: &[u8]) -> u32 {
    let limit = node.prefixlen.min(prefixlen);
    for (i, (a, b)) in node.data.iter().zip(data).enumerate() {
        let diff = a ^ b;
        let matched = i as u32 * 8 + diff.leading_zeros();
        if diff != 0 || matched >= limit {
            return matched.min(limit);
        }
    }
    limit
}

/// A longest-prefix-match trie.
#[derive(Debug)]
pub struct LpmTrie {
    info: MapInfo,
    trie: RwLock<Trie>,
    data_size: usize,
    max_prefixlen: u32,
    value_size: usize,
}

impl LpmTrie {
    /// Creates an LPM trie with Linux's checks (`trie_alloc`): `BPF_F_NO_PREALLOC`
    /// required, key of 5..=260 bytes.
    pub fn new(def: &MapDef, opts: &MapOptions) -> Result<LpmTrie, MapError> {
        check_common(def)?;
        check_flag_mask(def, BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | BPF_F_ACCESS_MASK)?;
        if def.max_entries == 0
            || def.flags & BPF_F_NO_PREALLOC == 0
            || def.key_size < 4 + 1
            || def.key_size > 4 + DATA_SIZE_MAX
            || def.value_size == 0
            || u64::from(def.value_size) > KMALLOC_MAX_SIZE - u64::from(DATA_SIZE_MAX) - 64
        {
            return Err(MapError::BadAttr {
                reason: "LPM tries need BPF_F_NO_PREALLOC, a key of 5..=260 bytes and a value",
            });
        }
        let data_size = def.key_size as usize - 4;
        Ok(LpmTrie {
            info: MapInfo::new(def, opts.slots),
            trie: RwLock::new(Trie {
                root: NIL,
                ..Trie::default()
            }),
            data_size,
            max_prefixlen: data_size as u32 * 8,
            value_size: def.value_size as usize,
        })
    }

    /// Prefixes stored (intermediate nodes not counted).
    pub fn len(&self) -> u32 {
        self.read().n_entries
    }

    /// Whether the trie holds no prefix.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> RwLockReadGuard<'_, Trie> {
        self.trie.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Trie> {
        self.trie.write().unwrap_or_else(|e| e.into_inner())
    }

    /// `(prefixlen, data)` of a key, if it has the right size.
    fn split<'k>(&self, key: &'k [u8]) -> Result<(u32, &'k [u8]), MapError> {
        if key.len() != 4 + self.data_size {
            return Err(MapError::KeySize {
                expected: 4 + self.data_size,
                got: key.len(),
            });
        }
        let prefixlen = u32::from_ne_bytes([key[0], key[1], key[2], key[3]]);
        Ok((prefixlen, &key[4..]))
    }

    /// Calls `f` with the value of the longest matching prefix (`trie_lookup_elem`).
    fn find<R>(&self, key: &[u8], f: impl FnOnce(&[AtomicU64]) -> R) -> Option<R> {
        let (prefixlen, data) = self.split(key).ok()?;
        if prefixlen > self.max_prefixlen {
            return None;
        }
        let trie = self.read();
        let mut found: Option<&Words> = None;
        let mut i = trie.root;
        while i != NIL {
            let node = trie.node(i);
            let matchlen = longest_prefix_match(node, prefixlen, data);
            if matchlen == self.max_prefixlen {
                found = node.value.as_ref().or(found);
                break;
            }
            if matchlen < node.prefixlen {
                break;
            }
            if let Some(v) = node.value.as_ref() {
                found = Some(v);
            }
            i = node.child[extract_bit(data, node.prefixlen)];
        }
        found.map(|w| f(w))
    }

    fn new_value(&self, value: &[u8]) -> Result<Words, MapError> {
        let words = zeroed_words(words_for(self.value_size))?;
        store_bytes(&words, value.get(..self.value_size).unwrap_or(value));
        Ok(words)
    }

    fn check_add(trie: &mut Trie, flags: u64, max: u32) -> Result<(), MapError> {
        if flags == BPF_EXIST {
            return Err(MapError::NotFound);
        }
        if trie.n_entries == max {
            return Err(MapError::NoSpace {
                what: "LPM trie is full",
            });
        }
        trie.n_entries += 1;
        Ok(())
    }

    /// `trie_update_elem`.
    fn update_impl(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        guard: &Guard,
    ) -> Result<(), MapError> {
        let flags = elem_flags(flags)?;
        let (prefixlen, data) = self.split(key)?;
        if prefixlen > self.max_prefixlen {
            return Err(MapError::Invalid {
                reason: "prefixlen exceeds the key's data bits",
            });
        }
        let max = self.info.def().max_entries;
        let new_value = self.new_value(value)?;
        let mut trie = self.write();
        let mut slot = Slot::Root;
        let mut matchlen = 0;
        let mut node = trie.get(slot);
        while node != NIL {
            let n = trie.node(node);
            matchlen = longest_prefix_match(n, prefixlen, data);
            if n.prefixlen != matchlen || n.prefixlen == prefixlen {
                break;
            }
            slot = Slot::Child(node, extract_bit(data, n.prefixlen));
            node = trie.get(slot);
        }
        let leaf = |value| Node {
            prefixlen,
            data: data.into(),
            value: Some(value),
            child: [NIL, NIL],
        };
        if node == NIL {
            Self::check_add(&mut trie, flags, max)?;
            let new = trie.add(leaf(new_value));
            trie.set(slot, new);
            return Ok(());
        }
        if trie.node(node).prefixlen == matchlen {
            // The same prefix: replace the value (or give an intermediate node one).
            if trie.node(node).value.is_some() {
                if flags == BPF_NOEXIST {
                    return Err(MapError::Exists);
                }
            } else {
                Self::check_add(&mut trie, flags, max)?;
            }
            if let Some(old) = trie.node_mut(node).value.replace(new_value) {
                guard.defer(move || drop(old));
            }
            return Ok(());
        }
        Self::check_add(&mut trie, flags, max)?;
        if matchlen == prefixlen {
            // The new prefix is an ancestor of `node`.
            let bit = extract_bit(&trie.node(node).data, matchlen);
            let mut n = leaf(new_value);
            n.child[bit] = node;
            let new = trie.add(n);
            trie.set(slot, new);
            return Ok(());
        }
        let new = trie.add(leaf(new_value));
        let mut im = Node {
            prefixlen: matchlen,
            data: trie.node(node).data.clone(),
            value: None,
            child: [node, new],
        };
        if extract_bit(data, matchlen) == 0 {
            im.child = [new, node];
        }
        let im = trie.add(im);
        trie.set(slot, im);
        Ok(())
    }

    /// `trie_delete_elem`.
    fn delete_impl(&self, key: &[u8], guard: &Guard) -> Result<(), MapError> {
        let (prefixlen, data) = self.split(key)?;
        if prefixlen > self.max_prefixlen {
            return Err(MapError::Invalid {
                reason: "prefixlen exceeds the key's data bits",
            });
        }
        let mut trie = self.write();
        let mut trim = Slot::Root;
        let mut trim2 = trim;
        let mut parent = NIL;
        let mut matchlen = 0;
        let mut node = trie.get(trim);
        while node != NIL {
            let n = trie.node(node);
            matchlen = longest_prefix_match(n, prefixlen, data);
            if n.prefixlen != matchlen || n.prefixlen == prefixlen {
                break;
            }
            parent = node;
            trim2 = trim;
            trim = Slot::Child(node, extract_bit(data, n.prefixlen));
            node = trie.get(trim);
        }
        if node == NIL
            || trie.node(node).prefixlen != prefixlen
            || trie.node(node).prefixlen != matchlen
            || trie.node(node).value.is_none()
        {
            return Err(MapError::NotFound);
        }
        trie.n_entries -= 1;
        let [c0, c1] = trie.node(node).child;
        if c0 != NIL && c1 != NIL {
            // Two children: the node becomes intermediate.
            if let Some(old) = trie.node_mut(node).value.take() {
                guard.defer(move || drop(old));
            }
            return Ok(());
        }
        if parent != NIL && trie.node(parent).value.is_none() && c0 == NIL && c1 == NIL {
            // Drop the intermediate parent too, promoting its other child.
            let [p0, p1] = trie.node(parent).child;
            trie.set(trim2, if p0 == node { p1 } else { p0 });
            trie.remove(parent, guard);
            trie.remove(node, guard);
            return Ok(());
        }
        trie.set(trim, if c0 != NIL { c0 } else { c1 });
        trie.remove(node, guard);
        Ok(())
    }

    /// `trie_get_next_key`: post-order.
    fn next_key_impl(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        let trie = self.read();
        if trie.root == NIL {
            return Err(MapError::NotFound);
        }
        let mut search_root = trie.root;
        let parsed = key
            .and_then(|k| self.split(k).ok())
            .filter(|&(p, _)| p <= self.max_prefixlen);
        if let Some((prefixlen, data)) = parsed {
            let mut stack = Vec::new();
            let mut matchlen = 0;
            let mut node = trie.root;
            while node != NIL {
                stack.push(node);
                let n = trie.node(node);
                matchlen = longest_prefix_match(n, prefixlen, data);
                if n.prefixlen != matchlen || n.prefixlen == prefixlen {
                    break;
                }
                node = n.child[extract_bit(data, n.prefixlen)];
            }
            let exact = node != NIL
                && trie.node(node).prefixlen == matchlen
                && trie.node(node).prefixlen == prefixlen
                && trie.node(node).value.is_some();
            if exact {
                let mut node = node;
                loop {
                    stack.pop();
                    let Some(&parent) = stack.last() else {
                        return Err(MapError::NotFound);
                    };
                    let p = trie.node(parent);
                    if p.child[0] == node && p.child[1] != NIL {
                        search_root = p.child[1];
                        break;
                    }
                    if p.value.is_some() {
                        self.copy_key(trie.node(parent), out);
                        return Ok(());
                    }
                    node = parent;
                }
            }
        }
        // The leftmost non-intermediate node under `search_root`, post-order.
        let mut next = NIL;
        let mut node = search_root;
        while node != NIL {
            let n = trie.node(node);
            if n.value.is_none() {
                node = n.child[0];
            } else {
                next = node;
                node = if n.child[0] != NIL {
                    n.child[0]
                } else {
                    n.child[1]
                };
            }
        }
        if next == NIL {
            return Err(MapError::NotFound);
        }
        self.copy_key(trie.node(next), out);
        Ok(())
    }

    fn copy_key(&self, node: &Node, out: &mut [u8]) {
        let (prefix, data) = out.split_at_mut(4.min(out.len()));
        prefix.copy_from_slice(&node.prefixlen.to_ne_bytes()[..prefix.len()]);
        for (o, b) in data.iter_mut().zip(node.data.iter()) {
            *o = *b;
        }
    }
}

impl Drop for LpmTrie {
    fn drop(&mut self) {
        // Values may still be borrowed by a run: drop them after it ends.
        let trie = std::mem::take(self.trie.get_mut().unwrap_or_else(|e| e.into_inner()));
        crossbeam_epoch::pin().defer(move || drop(trie));
    }
}

impl Map for LpmTrie {
    fn info(&self) -> &MapInfo {
        &self.info
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn sys_lookup(&self, key: &[u8], out: &mut [u8]) -> Result<(), MapError> {
        self.find(key, |w| load_bytes(w, out))
            .ok_or(MapError::NotFound)
    }

    fn sys_update(&self, key: &[u8], value: &[u8], flags: u64) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        self.update_impl(key, value, flags, &guard)
    }

    fn sys_delete(&self, key: &[u8]) -> Result<(), MapError> {
        let guard = crossbeam_epoch::pin();
        self.delete_impl(key, &guard)
    }

    fn sys_next_key(&self, key: Option<&[u8]>, out: &mut [u8]) -> Result<(), MapError> {
        self.next_key_impl(key, out)
    }

    fn lookup_ptr(&self, key: &[u8], _run: &RunGuard) -> Option<*mut u8> {
        self.find(key, ptr_of)
    }

    fn update_from_prog(
        &self,
        key: &[u8],
        value: &[u8],
        flags: u64,
        run: &RunGuard,
    ) -> Result<(), MapError> {
        if !self.prog_may_write() {
            return Err(MapError::PermissionDenied {
                op: "program write",
            });
        }
        self.update_impl(key, value, flags, run.guard())
    }

    fn delete_from_prog(&self, key: &[u8], run: &RunGuard) -> Result<(), MapError> {
        if !self.prog_may_write() {
            return Err(MapError::PermissionDenied {
                op: "program write",
            });
        }
        self.delete_impl(key, run.guard())
    }
}
