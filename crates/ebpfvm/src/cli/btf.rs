//! `ebpfvm btf dump FILE [--json]`: the BTF of an ELF object (or a raw `.BTF` blob such as
//! `/sys/kernel/btf/vmlinux`) as C declarations, or as a JSON type list.
//!
//! Exit status: 0 printed; 1 the file is not an ELF object or BTF blob, has no `.BTF`
//! section, or its BTF is malformed; 2 the file cannot be read.

use std::io::Write;
use std::path::Path;

use ebpfvm_btf::{Btf, FuncLinkage, IntEncoding, Type, VarLinkage};
use object::{Object, ObjectSection};
use serde_json::{json, Value};

use super::input::read_file;
use super::{write_json, CliError, EXIT_OK};

/// Reads `path` and parses its BTF: the `.BTF` section of an ELF object, or the whole
/// file if it starts with the BTF magic.
pub fn load_btf(path: &Path) -> Result<Btf, CliError> {
    let data = read_file(path)?;
    let shown = path.display();
    let blob: Vec<u8> = if data.starts_with(&[0x9f, 0xeb]) || data.starts_with(&[0xeb, 0x9f]) {
        data
    } else if data.starts_with(b"\x7fELF") {
        let file = object::File::parse(&*data)
            .map_err(|e| CliError::rejected(format!("{shown}: not a valid ELF object: {e}")))?;
        let section = file.section_by_name(".BTF").ok_or_else(|| {
            CliError::rejected(format!(
                "{shown}: no .BTF section (compile with clang -g to get BTF)"
            ))
        })?;
        section
            .data()
            .map_err(|e| CliError::rejected(format!("{shown}: cannot read .BTF: {e}")))?
            .to_vec()
    } else {
        return Err(CliError::rejected(format!(
            "{shown}: not an ELF object or a BTF blob"
        )));
    };
    Btf::parse(&blob).map_err(|e| CliError::rejected(format!("{shown}: .BTF: {e}")))
}

/// `ebpfvm btf dump FILE`: prints the types as C.
pub fn dump(path: &Path, out: &mut dyn Write) -> Result<u8, CliError> {
    let btf = load_btf(path)?;
    out.write_all(btf.to_c().as_bytes())?;
    Ok(EXIT_OK)
}

/// `ebpfvm btf dump FILE --json`: prints `{"types": [...]}`, one object per type in id
/// order (void excluded) with `id`, `kind` (uapi spelling: `STRUCT`), `name` and the
/// kind's fields, named as in `bpftool btf dump -j`.
pub fn dump_json(path: &Path, out: &mut dyn Write) -> Result<u8, CliError> {
    let btf = load_btf(path)?;
    let types: Vec<Value> = btf.types().map(|(id, t)| type_json(id.0, t)).collect();
    write_json(out, &json!({ "types": types }))?;
    Ok(EXIT_OK)
}

/// One type as JSON.
pub fn type_json(id: u32, t: &Type) -> Value {
    let mut v = json!({ "id": id, "kind": t.kind().as_str(), "name": t.name() });
    let extra = match t {
        Type::Void => json!({}),
        Type::Int {
            size,
            encoding,
            bit_offset,
            bits,
            ..
        } => json!({
            "size": size,
            "bits_offset": bit_offset,
            "nr_bits": bits,
            "encoding": match encoding {
                IntEncoding::Unsigned => "(none)",
                IntEncoding::Signed => "SIGNED",
                IntEncoding::Char => "CHAR",
                IntEncoding::Bool => "BOOL",
            },
        }),
        Type::Ptr { target }
        | Type::Volatile { target }
        | Type::Const { target }
        | Type::Restrict { target }
        | Type::Typedef { target, .. }
        | Type::TypeTag { target, .. } => json!({ "type_id": target.0 }),
        Type::Array {
            elem,
            index,
            nelems,
        } => json!({ "type_id": elem.0, "index_type_id": index.0, "nr_elems": nelems }),
        Type::Struct(c) | Type::Union(c) => json!({
            "size": c.size,
            "vlen": c.members.len(),
            "members": c.members.iter().map(|m| json!({
                "name": m.name,
                "type_id": m.ty.0,
                "bits_offset": m.bit_offset,
                "bitfield_size": m.bitfield_bits,
            })).collect::<Vec<_>>(),
        }),
        Type::Enum {
            size,
            signed,
            values,
            ..
        } => json!({
            "size": size,
            "encoding": if *signed { "SIGNED" } else { "UNSIGNED" },
            "vlen": values.len(),
            "values": values.iter().map(|(n, v)| json!({ "name": n, "val": v }))
                .collect::<Vec<_>>(),
        }),
        Type::Enum64 {
            size,
            signed,
            values,
            ..
        } => json!({
            "size": size,
            "encoding": if *signed { "SIGNED" } else { "UNSIGNED" },
            "vlen": values.len(),
            "values": values.iter().map(|(n, v)| {
                let val = if *signed {
                    json!(i64::try_from(*v).unwrap_or_default())
                } else {
                    json!(u64::try_from(*v).unwrap_or_default())
                };
                json!({ "name": n, "val": val })
            }).collect::<Vec<_>>(),
        }),
        Type::Fwd { union, .. } => json!({ "fwd_kind": if *union { "union" } else { "struct" } }),
        Type::Func { proto, linkage, .. } => json!({
            "type_id": proto.0,
            "linkage": match linkage {
                FuncLinkage::Static => "static",
                FuncLinkage::Global => "global",
                FuncLinkage::Extern => "extern",
            },
        }),
        Type::FuncProto { ret, params } => json!({
            "ret_type_id": ret.0,
            "vlen": params.len(),
            "params": params.iter().map(|p| json!({ "name": p.name, "type_id": p.ty.0 }))
                .collect::<Vec<_>>(),
        }),
        Type::Var { ty, linkage, .. } => json!({
            "type_id": ty.0,
            "linkage": match linkage {
                VarLinkage::Static => "static",
                VarLinkage::GlobalAllocated => "global",
                VarLinkage::GlobalExtern => "extern",
            },
        }),
        Type::DataSec { size, vars, .. } => json!({
            "size": size,
            "vlen": vars.len(),
            "vars": vars.iter().map(|s| json!({
                "type_id": s.ty.0, "offset": s.offset, "size": s.size,
            })).collect::<Vec<_>>(),
        }),
        Type::Float { size, .. } => json!({ "size": size }),
        Type::DeclTag {
            target, component, ..
        } => json!({ "type_id": target.0, "component_idx": component }),
    };
    if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), extra) {
        obj.extend(more);
    }
    v
}

/// The `btf` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BtfCommand {
    /// Print the BTF types of an ELF object (or raw .BTF blob) as C declarations.
    ///
    /// Named structs, unions, enums and typedefs come in dependency order with forward
    /// declarations where needed, then variables by data section and functions. Exit
    /// status 1 if the file has no .BTF section or its BTF is malformed.
    Dump {
        /// An ELF object, or a raw BTF blob such as /sys/kernel/btf/vmlinux.
        file: std::path::PathBuf,
        /// Print one JSON object instead: {"types": [{"id", "kind", "name", ...kind
        /// fields as in `bpftool btf dump -j`}]}.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `btf` subcommand.
pub fn run(command: BtfCommand, out: &mut dyn Write) -> Result<u8, CliError> {
    match command {
        BtfCommand::Dump { file, json } => {
            if json {
                dump_json(&file, out)
            } else {
                dump(&file, out)
            }
        }
    }
}
