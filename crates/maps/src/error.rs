//! The error of every map operation, with the errno Linux returns for it.

/// `ENOENT`.
pub const ENOENT: i32 = 2;
/// `E2BIG`.
pub const E2BIG: i32 = 7;
/// `EAGAIN`.
pub const EAGAIN: i32 = 11;
/// `ENOMEM`.
pub const ENOMEM: i32 = 12;
/// `EFAULT`.
pub const EFAULT: i32 = 14;
/// `EBUSY`.
pub const EBUSY: i32 = 16;
/// `EEXIST`.
pub const EEXIST: i32 = 17;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `ENOSPC`.
pub const ENOSPC: i32 = 28;
/// `EPERM`.
pub const EPERM: i32 = 1;
/// `EOPNOTSUPP`.
pub const EOPNOTSUPP: i32 = 95;
/// `ENOTSUPP`: the kernel-internal 524 that `bpf()` returns for unsupported operations.
pub const ENOTSUPP: i32 = 524;

/// A failed map operation. [`MapError::errno`] gives the (positive) errno Linux returns in
/// the same case; helpers return its negation to programs.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// No element with this key (`ENOENT`); also the end of a `get_next_key` walk and an
    /// empty queue or stack.
    #[error("no such element")]
    NotFound,
    /// `BPF_NOEXIST` and the key is present (`EEXIST`).
    #[error("element already exists")]
    Exists,
    /// The map holds `max_entries` elements already (`E2BIG`).
    #[error("map is full ({max_entries} entries)")]
    Full {
        /// The map's `max_entries`.
        max_entries: u32,
    },
    /// An array index at or past `max_entries` (`E2BIG`).
    #[error("index {index} is out of range (max_entries {max_entries})")]
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The map's `max_entries`.
        max_entries: u32,
    },
    /// An LPM trie holds `max_entries` prefixes already, or a batch buffer is too small for
    /// one bucket (`ENOSPC`).
    #[error("no space left: {what}")]
    NoSpace {
        /// What ran out.
        what: &'static str,
    },
    /// A key of the wrong size (`EINVAL`).
    #[error("key of {got} bytes, the map's keys have {expected}")]
    KeySize {
        /// The map's key size.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// A value buffer of the wrong size (`EINVAL`).
    #[error("value buffer of {got} bytes, expected {expected}")]
    ValueSize {
        /// The size this operation needs.
        expected: usize,
        /// The size given.
        got: usize,
    },
    /// Flags this operation or map type does not accept (`EINVAL`).
    #[error("invalid flags {flags:#x}")]
    BadFlags {
        /// The flags given.
        flags: u64,
    },
    /// Map attributes Linux rejects with `EINVAL`.
    #[error("invalid map attributes: {reason}")]
    BadAttr {
        /// What is wrong.
        reason: &'static str,
    },
    /// An attribute larger than Linux allows (`E2BIG`).
    #[error("{what} of {size} exceeds the limit of {limit}")]
    AttrTooBig {
        /// Which attribute.
        what: &'static str,
        /// Its value.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// An argument Linux rejects with `EINVAL` (a bad prefix length, a pointer that is no
    /// reservation, an inner map that does not match the template, ...).
    #[error("invalid argument: {reason}")]
    Invalid {
        /// What is wrong.
        reason: &'static str,
    },
    /// The map's access flags or freezing forbid this operation (`EPERM`).
    #[error("{op} not permitted on this map")]
    PermissionDenied {
        /// The operation.
        op: &'static str,
    },
    /// The map type does not have this operation (`ENOTSUPP`, 524, as `bpf()` reports it;
    /// `EOPNOTSUPP` where Linux uses that).
    #[error("{op} is not supported by {map_type} maps")]
    NotSupported {
        /// The operation.
        op: &'static str,
        /// The map type's short name.
        map_type: &'static str,
        /// The errno Linux returns.
        errno: i32,
    },
    /// A ring buffer has no room for the record (`EAGAIN`).
    #[error("ring buffer is full")]
    Again,
    /// The map is frozen already (`EBUSY`).
    #[error("map is busy: {reason}")]
    Busy {
        /// Why.
        reason: &'static str,
    },
    /// Memory for a new element could not be had (`ENOMEM`).
    #[error("out of memory for map elements")]
    NoMemory,
}

impl MapError {
    /// The positive errno Linux reports in the same case.
    pub fn errno(&self) -> i32 {
        match self {
            MapError::NotFound => ENOENT,
            MapError::Exists => EEXIST,
            MapError::Full { .. } | MapError::IndexOutOfRange { .. } => E2BIG,
            MapError::AttrTooBig { .. } => E2BIG,
            MapError::NoSpace { .. } => ENOSPC,
            MapError::KeySize { .. }
            | MapError::ValueSize { .. }
            | MapError::BadFlags { .. }
            | MapError::BadAttr { .. }
            | MapError::Invalid { .. } => EINVAL,
            MapError::PermissionDenied { .. } => EPERM,
            MapError::NotSupported { errno, .. } => *errno,
            MapError::Again => EAGAIN,
            MapError::Busy { .. } => EBUSY,
            MapError::NoMemory => ENOMEM,
        }
    }

    /// The value a helper returns to the program: `-errno`.
    pub fn to_helper_ret(&self) -> i64 {
        -i64::from(self.errno())
    }
}
