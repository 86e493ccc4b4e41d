//! [`ParseError`] (the object is malformed or unsupported) and [`RelocationError`] (one
//! relocation cannot be applied). Messages are one line, lowercase, and name the section
//! and offset at fault.

use ebpfvm_btf::BtfError;
use ebpfvm_isa::DecodeError;

/// Why an ELF object could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The ELF container itself is malformed (header, section table, symbol table).
    #[error("invalid ELF object: {message}")]
    Elf {
        /// What the ELF reader reported.
        message: String,
    },
    /// A well-formed ELF file that is not a little-endian 64-bit BPF object.
    #[error("unsupported ELF object: {reason}")]
    Unsupported {
        /// What is wrong with it.
        reason: String,
    },
    /// There is no symbol table, so programs and maps cannot be named.
    #[error("no symbol table")]
    NoSymbolTable,
    /// A section's contents are malformed.
    #[error("section {section}: {message}")]
    Section {
        /// The section name (or `#index` when it has none).
        section: String,
        /// What is wrong.
        message: String,
    },
    /// A symbol is malformed (misaligned, or outside its section).
    #[error("symbol {symbol} in section {section}: {message}")]
    Symbol {
        /// The symbol name.
        symbol: String,
        /// Its section.
        section: String,
        /// What is wrong.
        message: String,
    },
    /// A map definition is malformed or uses an unknown attribute.
    #[error("map {map}: {message}")]
    Map {
        /// The map name.
        map: String,
        /// What is wrong.
        message: String,
    },
    /// An extern variable or function cannot be classified.
    #[error("extern {name}: {message}")]
    Extern {
        /// The extern's name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// `.BTF` or `.BTF.ext` is malformed.
    #[error("section {section}: invalid BTF")]
    Btf {
        /// `.BTF` or `.BTF.ext`.
        section: &'static str,
        /// The BTF parser's error.
        #[source]
        source: BtfError,
    },
    /// A relocation cannot be applied.
    #[error(transparent)]
    Relocation(#[from] RelocationError),
    /// All programs together, with their subprograms, exceed the loader's budget.
    #[error("linked programs exceed {limit} instruction slots in total")]
    TooManySlots {
        /// The budget.
        limit: usize,
    },
    /// A linked program does not decode as valid instructions.
    #[error("program {program}: invalid instruction")]
    Decode {
        /// The program name.
        program: String,
        /// The decoder's error (with the slot).
        #[source]
        source: DecodeError,
    },
}

/// Why a relocation (or a call or function reference, which are resolved the same way)
/// could not be applied. Offsets are byte offsets in the named code section.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelocationError {
    /// The relocation does not point at an instruction of its section.
    #[error("section {section} offset {offset:#x}: relocation is not at an instruction")]
    NotAnInstruction {
        /// The code section.
        section: String,
        /// Byte offset of the relocation.
        offset: u64,
    },
    /// The relocation's symbol index is not in the symbol table.
    #[error("section {section} offset {offset:#x}: relocation refers to symbol {index}, which does not exist")]
    NoSuchSymbol {
        /// The code section.
        section: String,
        /// Byte offset of the relocation.
        offset: u64,
        /// The symbol index.
        index: usize,
    },
    /// The relocated instruction is neither a `ld_imm64` nor a `call`.
    #[error("section {section} offset {offset:#x}: relocation against {symbol} on an instruction with opcode {opcode:#04x} (expected ld_imm64 or call)")]
    UnsupportedInstruction {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The instruction's opcode.
        opcode: u8,
    },
    /// A `call` relocation whose instruction is not a `call` with src 1 (`BPF_PSEUDO_CALL`).
    #[error("section {section} offset {offset:#x}: relocation against {symbol} on a call with src {src} (expected a bpf-to-bpf call, src 1)")]
    BadCall {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The call's src field.
        src: u8,
    },
    /// The symbol's section holds no maps, data or code.
    #[error("section {section} offset {offset:#x}: relocation against {symbol} in section {target_section}, which holds no maps, data or code")]
    UnsupportedTarget {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The symbol's section.
        target_section: String,
    },
    /// A map reference that does not point at the start of a map definition.
    #[error("section {section} offset {offset:#x}: no map at offset {map_offset:#x} of section {map_section} (symbol {symbol})")]
    NoMapAtOffset {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The symbol.
        symbol: String,
        /// The maps section.
        map_section: String,
        /// The offset in it.
        map_offset: i64,
    },
    /// A call or function reference to an address that is not inside a function.
    #[error("section {section} offset {offset:#x}: {what} target {target_section}+{target:#x} is not inside a function")]
    BadTarget {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// `call` or `function pointer`.
        what: &'static str,
        /// The target's section.
        target_section: String,
        /// The target's byte offset in that section (may be negative if malformed).
        target: i64,
    },
    /// Linking a subprogram would make the program longer than Linux's limit of 1,000,000
    /// slots (or than an offset can reach).
    #[error("section {section} offset {offset:#x}: linked program is too large ({slots} slots)")]
    TooLarge {
        /// The code section.
        section: String,
        /// Byte offset of the instruction.
        offset: u64,
        /// The size reached.
        slots: usize,
    },
}
