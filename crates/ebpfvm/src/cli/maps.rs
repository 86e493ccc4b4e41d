//! Map contents for the command line: dumping every map of a loaded object (`--dump-maps`)
//! and seeding maps from a JSON file (`--maps F`).
//!
//! Seed file format: one object whose keys are map names, each holding a list of elements:
//!
//! ```json
//! { "proto_count": [ { "key": 17, "value": 5 } ],
//!   "flows": [ { "key": "0a000001", "value": "01000000000000002f00000000000000" } ],
//!   "stats": [ { "key": 0, "values": [1, 2] } ] }
//! ```
//!
//! A key or value is a number (stored little-endian in the map's key or value size), a hex
//! string, or a list of byte values. Per-CPU maps take `"value"` (the same for every slot)
//! or `"values"` (one per slot). Sizes must match the map exactly.

use std::path::Path;

use ebpfvm_abi::MapType;
use ebpfvm_maps::{Map, PerfEventArray, RingBuf};
use ebpfvm_runtime::Loaded;
use serde::Serialize;
use serde_json::Value;

use super::input::{parse_hex_bytes, read_text};
use super::run::hex;
use super::CliError;

/// One element of a dumped map.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct EntryJson {
    /// The key as hex bytes (absent for queues, stacks and ring buffers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The value as hex bytes (non-per-CPU maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// One value per execution slot (per-CPU maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// A dumped map.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct MapJson {
    /// Name in the object.
    pub name: String,
    /// Map type (`array`, `hash`, ...).
    #[serde(rename = "type")]
    pub map_type: String,
    /// Key size in bytes.
    pub key_size: usize,
    /// Value size in bytes.
    pub value_size: usize,
    /// Maximum number of elements.
    pub max_entries: u32,
    /// The elements (arrays: only the non-zero ones).
    pub entries: Vec<EntryJson>,
    /// Array elements left out because they are all zero.
    #[serde(skip_serializing_if = "is_zero")]
    pub zero_entries: u64,
    /// Why the elements could not be listed, if they could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_array(t: MapType) -> bool {
    matches!(t, MapType::Array | MapType::PercpuArray)
}

/// Every map of `loaded`, in object order.
pub fn dump(loaded: &Loaded) -> Vec<MapJson> {
    loaded
        .maps
        .iter()
        .map(|m| dump_map(&m.name, m.map.as_ref()))
        .collect()
}

/// One map's elements.
pub fn dump_map(name: &str, map: &dyn Map) -> MapJson {
    let t = map.map_type();
    let mut out = MapJson {
        name: name.to_string(),
        map_type: t.name().to_string(),
        key_size: map.key_size(),
        value_size: map.value_size(),
        max_entries: map.max_entries(),
        entries: Vec::new(),
        zero_entries: 0,
        note: None,
    };
    if let Some(rb) = map.as_any().downcast_ref::<RingBuf>() {
        rb.consume(&mut |rec| {
            out.entries.push(EntryJson {
                key: None,
                value: Some(hex(rec)),
                values: None,
            })
        });
        return out;
    }
    if let Some(pa) = map.as_any().downcast_ref::<PerfEventArray>() {
        for i in 0..map.max_entries() {
            let _ = pa.read(i, &mut |rec| {
                out.entries.push(EntryJson {
                    key: Some(hex(&i.to_le_bytes())),
                    value: Some(hex(rec)),
                    values: None,
                })
            });
        }
        return out;
    }
    if matches!(t, MapType::Queue | MapType::Stack | MapType::BloomFilter) {
        out.note = Some(format!("{} maps cannot be listed", t.name()));
        return out;
    }
    let percpu = map.def().is_percpu();
    let uvs = map.user_value_size();
    let slots = if percpu {
        uvs / ebpfvm_round8(map.value_size()).max(1)
    } else {
        1
    };
    let mut key = vec![0u8; map.key_size()];
    let mut first = true;
    let mut value = vec![0u8; uvs];
    // Bounded: a map never has more than max_entries elements; guard against a cycle.
    for _ in 0..=map.max_entries() as u64 {
        let mut next = vec![0u8; map.key_size()];
        let r = if first {
            map.next_key(None, &mut next)
        } else {
            map.next_key(Some(&key), &mut next)
        };
        if r.is_err() {
            break;
        }
        first = false;
        key = next;
        let entry_value = match map.lookup(&key, &mut value) {
            Ok(()) => value.clone(),
            Err(_) => continue,
        };
        if is_array(t) && entry_value.iter().all(|&b| b == 0) {
            out.zero_entries += 1;
            continue;
        }
        let entry = if percpu {
            let stride = ebpfvm_round8(map.value_size());
            EntryJson {
                key: Some(hex(&key)),
                value: None,
                values: Some(
                    (0..slots)
                        .map(|s| hex(&entry_value[s * stride..s * stride + map.value_size()]))
                        .collect(),
                ),
            }
        } else {
            EntryJson {
                key: Some(hex(&key)),
                value: Some(hex(&entry_value)),
                values: None,
            }
        };
        out.entries.push(entry);
    }
    out
}

fn ebpfvm_round8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// Hex bytes with an integer reading for 1-, 2-, 4- and 8-byte little-endian values.
fn show(hexstr: &str) -> String {
    let bytes = parse_hex_bytes(hexstr).unwrap_or_default();
    let spaced: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let spaced = spaced.join(" ");
    let n = match bytes.len() {
        1 | 2 | 4 | 8 => {
            let mut w = [0u8; 8];
            w[..bytes.len()].copy_from_slice(&bytes);
            Some(u64::from_le_bytes(w))
        }
        _ => None,
    };
    match n {
        Some(n) => format!("{spaced} (= {n})"),
        None => spaced,
    }
}

/// The dump as text lines.
pub fn render(maps: &[MapJson]) -> Vec<String> {
    let mut lines = Vec::new();
    for m in maps {
        lines.push(format!(
            "map {} ({}, key {} B, value {} B, max {}):",
            m.name, m.map_type, m.key_size, m.value_size, m.max_entries
        ));
        if let Some(note) = &m.note {
            lines.push(format!("  ({note})"));
        }
        for e in &m.entries {
            let key = e.key.as_deref().map(show);
            match (&key, &e.value, &e.values) {
                (Some(k), Some(v), _) => lines.push(format!("  key {k}  value {}", show(v))),
                (None, Some(v), _) => lines.push(format!("  record {}", show(v))),
                (Some(k), None, Some(vs)) => {
                    lines.push(format!("  key {k}"));
                    for (i, v) in vs.iter().enumerate() {
                        lines.push(format!("    slot {i}: {}", show(v)));
                    }
                }
                _ => {}
            }
        }
        if m.zero_entries > 0 {
            lines.push(format!("  ({} zero entries not shown)", m.zero_entries));
        }
        if m.entries.is_empty() && m.zero_entries == 0 && m.note.is_none() {
            lines.push("  (empty)".to_string());
        }
    }
    lines
}

fn bytes_of(v: &Value, size: usize, what: &str) -> Result<Vec<u8>, String> {
    let bytes = match v {
        Value::Number(n) => {
            let Some(x) = n.as_u64().or_else(|| n.as_i64().map(|i| i as u64)) else {
                return Err(format!("{what} {n} is not an integer"));
            };
            if size > 8 || (size < 8 && x >> (size * 8) != 0 && (x as i64) >= 0) {
                return Err(format!("{what} {x} does not fit in {size} bytes"));
            }
            x.to_le_bytes()[..size.min(8)].to_vec()
        }
        Value::String(s) => {
            parse_hex_bytes(s).ok_or_else(|| format!("{what} \"{s}\" is not hex bytes"))?
        }
        Value::Array(items) => items
            .iter()
            .map(|b| {
                b.as_u64()
                    .filter(|&b| b <= 255)
                    .map(|b| b as u8)
                    .ok_or_else(|| format!("{what}: {b} is not a byte"))
            })
            .collect::<Result<Vec<u8>, String>>()?,
        other => {
            return Err(format!(
                "{what} must be a number, hex string or byte list, not {other}"
            ))
        }
    };
    if bytes.len() != size {
        return Err(format!(
            "{what} is {} bytes, the map's are {size}",
            bytes.len()
        ));
    }
    Ok(bytes)
}

/// One element to store, checked.
struct SeedWrite<'a> {
    name: &'a str,
    index: usize,
    map: &'a dyn Map,
    key: Vec<u8>,
    value: Vec<u8>,
}

/// Seeds the maps of `loaded` from the JSON file `path`. Nothing is written unless every
/// element is valid.
pub fn seed(loaded: &Loaded, path: &Path) -> Result<usize, CliError> {
    let text = read_text(path)?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::input(format!("{}: not valid JSON: {e}", path.display())))?;
    let Value::Object(obj) = doc else {
        return Err(CliError::input(format!(
            "{}: must be a JSON object of map names",
            path.display()
        )));
    };
    let mut writes: Vec<SeedWrite<'_>> = Vec::new();
    for (name, elems) in &obj {
        let err = |i: usize, msg: String| {
            CliError::input(format!(
                "{}: map '{name}': element {i}: {msg}",
                path.display()
            ))
        };
        let Some(m) = loaded.map(name) else {
            let names: Vec<&str> = loaded.maps.iter().map(|m| m.name.as_str()).collect();
            return Err(CliError::input(format!(
                "{}: no map named '{name}' (maps: {})",
                path.display(),
                names.join(", ")
            )));
        };
        let map = m.map.as_ref();
        let Value::Array(list) = elems else {
            return Err(CliError::input(format!(
                "{}: map '{name}': must be a list of {{\"key\", \"value\"}} elements",
                path.display()
            )));
        };
        for (i, e) in list.iter().enumerate() {
            let Value::Object(e) = e else {
                return Err(err(
                    i,
                    "must be an object with \"key\" and \"value\"".into(),
                ));
            };
            let key = match e.get("key") {
                Some(k) => bytes_of(k, map.key_size(), "key").map_err(|m| err(i, m))?,
                None if map.key_size() == 0 => Vec::new(),
                None => return Err(err(i, "has no \"key\"".into())),
            };
            let vs = map.value_size();
            let value = if map.def().is_percpu() {
                let stride = ebpfvm_round8(vs);
                let slots = map.user_value_size() / stride.max(1);
                let mut all = vec![0u8; map.user_value_size()];
                match (e.get("value"), e.get("values")) {
                    (Some(v), None) => {
                        let v = bytes_of(v, vs, "value").map_err(|m| err(i, m))?;
                        for s in 0..slots {
                            all[s * stride..s * stride + vs].copy_from_slice(&v);
                        }
                    }
                    (None, Some(Value::Array(per))) => {
                        if per.len() != slots {
                            return Err(err(
                                i,
                                format!(
                                    "\"values\" has {} entries, the map has {slots} slots",
                                    per.len()
                                ),
                            ));
                        }
                        for (s, v) in per.iter().enumerate() {
                            let v = bytes_of(v, vs, "value").map_err(|m| err(i, m))?;
                            all[s * stride..s * stride + vs].copy_from_slice(&v);
                        }
                    }
                    _ => return Err(err(i, "needs \"value\" or a \"values\" list".into())),
                }
                all
            } else {
                match e.get("value") {
                    Some(v) => bytes_of(v, vs, "value").map_err(|m| err(i, m))?,
                    None => return Err(err(i, "has no \"value\"".into())),
                }
            };
            writes.push(SeedWrite {
                name,
                index: i,
                map,
                key,
                value,
            });
        }
    }
    let n = writes.len();
    for w in writes {
        w.map.update(&w.key, &w.value, 0).map_err(|e| {
            CliError::rejected(format!(
                "{}: map '{}': element {} (key {}): cannot store it: {e}",
                path.display(),
                w.name,
                w.index,
                hex(&w.key)
            ))
        })?;
    }
    Ok(n)
}
