//! The ELF layer: sections, symbols and relocations read with `object`'s low-level ELF API
//! into plain owned records, with every offset and size checked.

use object::elf::{self, FileHeader64};
use object::read::elf::{
    FileHeader, Rel as _, Rela as _, SectionHeader as _, Sym as _, SymbolTable,
};
use object::read::SectionIndex;
use object::LittleEndian;

use crate::error::ParseError;

/// `e_machine` of BPF objects.
pub(crate) const EM_BPF: u16 = 247;

/// One section header with its (borrowed) contents.
#[derive(Clone, Debug)]
pub(crate) struct Section<'data> {
    /// The section's name; `None` if the name offset is invalid.
    pub name: Option<String>,
    pub sh_type: u32,
    pub flags: u64,
    /// `sh_size` (also for `SHT_NOBITS`, whose `data` is empty).
    pub size: u64,
    /// The bytes in the file (empty for `SHT_NOBITS`).
    pub data: &'data [u8],
}

impl Section<'_> {
    /// The name, or `#index` for a section without a readable name.
    pub fn display_name(&self, index: usize) -> String {
        self.name.clone().unwrap_or_else(|| format!("#{index}"))
    }

    /// Whether this is a non-empty code section.
    pub fn is_code(&self) -> bool {
        self.sh_type == elf::SHT_PROGBITS
            && self.flags & u64::from(elf::SHF_EXECINSTR) != 0
            && self.size > 0
    }
}

/// One symbol.
#[derive(Clone, Debug)]
pub(crate) struct Symbol {
    /// The name (`""` if none or unreadable).
    pub name: String,
    pub value: u64,
    pub size: u64,
    /// The section it is defined in; `None` for undefined, absolute and common symbols.
    pub section: Option<usize>,
    /// `st_shndx` is `SHN_UNDEF`.
    pub undefined: bool,
    pub bind: u8,
    pub kind: u8,
}

impl Symbol {
    pub fn is_func(&self) -> bool {
        self.kind == elf::STT_FUNC
    }

    pub fn is_section(&self) -> bool {
        self.kind == elf::STT_SECTION
    }

    pub fn is_global(&self) -> bool {
        self.bind == elf::STB_GLOBAL || self.bind == elf::STB_WEAK
    }
}

/// One `Elf64_Rel` entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reloc {
    pub offset: u64,
    pub symbol: usize,
    /// The explicit addend of a RELA entry (0 for REL).
    pub addend: i64,
}

/// A parsed ELF object.
#[derive(Debug)]
pub(crate) struct Elf<'data> {
    pub machine: u16,
    pub sections: Vec<Section<'data>>,
    pub symbols: Vec<Symbol>,
    /// Symbol indices by defining section (`by_section[i]` for `sections[i]`), in table
    /// order.
    pub by_section: Vec<Vec<usize>>,
    /// Relocations by target section index (`rels[i]` applies to `sections[i]`).
    pub rels: Vec<Vec<Reloc>>,
}

fn elf_err(e: object::read::Error) -> ParseError {
    ParseError::Elf {
        message: e.to_string().to_lowercase(),
    }
}

impl<'data> Elf<'data> {
    pub fn parse(data: &'data [u8]) -> Result<Elf<'data>, ParseError> {
        if data.len() < 4 || &data[..4] != b"\x7fELF" {
            return Err(ParseError::Elf {
                message: "not an ELF file (bad magic)".into(),
            });
        }
        if data.get(4) == Some(&elf::ELFCLASS32) {
            return Err(ParseError::Unsupported {
                reason: "32-bit ELF (BPF objects are 64-bit)".into(),
            });
        }
        if data.get(5) == Some(&elf::ELFDATA2MSB) {
            return Err(ParseError::Unsupported {
                reason: "big-endian ELF (only little-endian BPF is supported)".into(),
            });
        }
        let header = FileHeader64::<LittleEndian>::parse(data).map_err(elf_err)?;
        let endian = LittleEndian;
        let machine = header.e_machine(endian);
        if machine != EM_BPF && machine != elf::EM_NONE {
            return Err(ParseError::Unsupported {
                reason: format!("machine {machine} is not BPF (247)"),
            });
        }
        let e_type = header.e_type(endian);
        if e_type != elf::ET_REL {
            return Err(ParseError::Unsupported {
                reason: format!("ELF type {e_type} is not a relocatable object (1)"),
            });
        }
        let table = header.sections(endian, data).map_err(elf_err)?;
        let mut sections = Vec::with_capacity(table.len());
        let mut symtab = None;
        for (index, sh) in table.enumerate() {
            let name = table
                .section_name(endian, sh)
                .ok()
                .map(|n| String::from_utf8_lossy(n).into_owned());
            let sh_type = sh.sh_type(endian);
            let data = if sh_type == elf::SHT_NOBITS || sh_type == elf::SHT_NULL {
                &[][..]
            } else {
                sh.data(endian, data).map_err(|_| ParseError::Section {
                    section: name.clone().unwrap_or_else(|| format!("#{}", index.0)),
                    message: format!(
                        "contents (offset {:#x}, size {:#x}) lie outside the file",
                        sh.sh_offset(endian),
                        sh.sh_size(endian)
                    ),
                })?
            };
            if sh_type == elf::SHT_SYMTAB && symtab.is_none() {
                symtab = Some((index, sh));
            }
            sections.push(Section {
                name,
                sh_type,
                flags: sh.sh_flags(endian),
                size: sh.sh_size(endian),
                data,
            });
        }

        let (symtab_index, symtab_header) = symtab.ok_or(ParseError::NoSymbolTable)?;
        let symtab: SymbolTable<'data, FileHeader64<LittleEndian>, &'data [u8]> =
            SymbolTable::parse(endian, data, &table, symtab_index, symtab_header).map_err(|e| {
                ParseError::Section {
                    section: sections[symtab_index.0].display_name(symtab_index.0),
                    message: format!("invalid symbol table: {}", e.to_string().to_lowercase()),
                }
            })?;
        let mut symbols = Vec::with_capacity(symtab.len());
        for (index, sym) in symtab.enumerate() {
            let shndx = sym.st_shndx(LittleEndian);
            let section = symtab
                .symbol_section(LittleEndian, sym, index)
                .ok()
                .flatten()
                .map(|SectionIndex(i)| i)
                .filter(|&i| i < sections.len());
            let mut name = symtab
                .symbol_name(LittleEndian, sym)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default();
            if name.is_empty() && sym.st_type() == elf::STT_SECTION {
                // Section symbols are named by their section.
                if let Some(s) = section.and_then(|i| sections[i].name.clone()) {
                    name = s;
                }
            }
            symbols.push(Symbol {
                name,
                value: sym.st_value(LittleEndian),
                size: sym.st_size(LittleEndian),
                section,
                undefined: shndx == elf::SHN_UNDEF,
                bind: sym.st_bind(),
                kind: sym.st_type(),
            });
        }

        let mut rels: Vec<Vec<Reloc>> = vec![Vec::new(); sections.len()];
        for (index, sh) in table.enumerate() {
            let bad = |e: object::read::Error| ParseError::Section {
                section: sections[index.0].display_name(index.0),
                message: e.to_string().to_lowercase(),
            };
            let target = sh.sh_info(endian) as usize;
            let entries: Vec<Reloc> = if let Some((rel, _)) = sh.rel(endian, data).map_err(bad)? {
                rel.iter()
                    .map(|r| Reloc {
                        offset: r.r_offset(endian),
                        symbol: r.r_sym(endian) as usize,
                        addend: 0,
                    })
                    .collect()
            } else if let Some((rela, _)) = sh.rela(endian, data).map_err(bad)? {
                // Old objects (Open vSwitch's) use RELA with explicit addends.
                rela.iter()
                    .map(|r| Reloc {
                        offset: r.r_offset(endian),
                        symbol: r.r_sym(endian, false) as usize,
                        addend: r.r_addend(endian),
                    })
                    .collect()
            } else {
                continue;
            };
            let Some(list) = rels.get_mut(target) else {
                return Err(ParseError::Section {
                    section: sections[index.0].display_name(index.0),
                    message: format!("relocations for section {target}, which does not exist"),
                });
            };
            list.extend(entries);
        }
        for list in &mut rels {
            list.sort_by_key(|r| r.offset);
        }
        let mut by_section = vec![Vec::new(); sections.len()];
        for (i, sym) in symbols.iter().enumerate() {
            if let Some(s) = sym.section {
                by_section[s].push(i);
            }
        }
        Ok(Elf {
            machine,
            sections,
            symbols,
            by_section,
            rels,
        })
    }

    /// The symbols defined in section `index`, in table order.
    pub fn symbols_in(&self, index: usize) -> impl Iterator<Item = &Symbol> {
        self.by_section
            .get(index)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.symbols.get(i))
    }

    /// The display name of section `index`.
    pub fn section_name(&self, index: usize) -> String {
        self.sections
            .get(index)
            .map_or_else(|| format!("#{index}"), |s| s.display_name(index))
    }
}
