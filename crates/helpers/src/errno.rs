//! The Linux errno values helpers return (negated) to programs.

/// `EPERM`.
pub const EPERM: i32 = 1;
/// `ENOENT`.
pub const ENOENT: i32 = 2;
/// `E2BIG`.
pub const E2BIG: i32 = 7;
/// `EAGAIN`.
pub const EAGAIN: i32 = 11;
/// `EACCES`.
pub const EACCES: i32 = 13;
/// `EFAULT`.
pub const EFAULT: i32 = 14;
/// `EBUSY`.
pub const EBUSY: i32 = 16;
/// `EEXIST`.
pub const EEXIST: i32 = 17;
/// `EINVAL`.
pub const EINVAL: i32 = 22;
/// `ERANGE`.
pub const ERANGE: i32 = 34;
/// `EOPNOTSUPP`.
pub const EOPNOTSUPP: i32 = 95;
/// `ENOTSUPP`: the kernel-internal 524.
pub const ENOTSUPP: i32 = 524;

/// `-errno` as the 64-bit register value a helper returns.
#[inline]
pub const fn neg(errno: i32) -> u64 {
    (-(errno as i64)) as u64
}
