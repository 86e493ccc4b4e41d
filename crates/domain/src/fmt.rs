//! Linux-style rendering of scalars, as used in verifier logs and test files.

use crate::scalar::Scalar;
use crate::word::{i128_of, Word};

/// Renders a [`Scalar`] as the Linux verifier log does (see [`Scalar::linux`]).
#[derive(Clone, Copy)]
pub struct LinuxDisplay<'a, W> {
    scalar: &'a Scalar<W>,
}

impl<W: Word> Scalar<W> {
    /// A Linux-style rendering of the bounds.
    ///
    /// A constant prints as its value in signed decimal (`42`, `-1`). Otherwise the fields
    /// `smin, smax, umin, umax, smin32, smax32, umin32, umax32` that differ from their
    /// value for an unknown word are printed in that order, in decimal, joined by `,`;
    /// fields with the same numeric value are merged as Linux does
    /// (`smin=smin32=0,smax=umax=smax32=umax32=255`), and `var_off=(0x..; 0x..)` follows
    /// unless the tnum is unknown. An unknown word renders as the empty string (the caller
    /// adds the `scalar(...)` wrapper). The `32` fields are the half-width bounds.
    pub fn linux(&self) -> LinuxDisplay<'_, W> {
        LinuxDisplay { scalar: self }
    }
}

impl<W: Word> core::fmt::Display for LinuxDisplay<'_, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let s = self.scalar;
        if let Some(c) = s.is_const() {
            return write!(f, "{}", c.to_signed());
        }
        let n = W::BITS;
        let h = W::HALF_BITS;
        let top = Scalar::<W>::unknown();
        let u = |x: W| i128::from(x.to_u64());
        // (name, value, default value)
        let fields: [(&str, i128, i128); 8] = [
            ("smin", i128_of(s.smin, n), i128_of(top.smin, n)),
            ("smax", i128_of(s.smax, n), i128_of(top.smax, n)),
            ("umin", u(s.umin), u(top.umin)),
            ("umax", u(s.umax), u(top.umax)),
            ("smin32", i128_of(s.smin_half, h), i128_of(top.smin_half, h)),
            ("smax32", i128_of(s.smax_half, h), i128_of(top.smax_half, h)),
            ("umin32", u(s.umin_half), u(top.umin_half)),
            ("umax32", u(s.umax_half), u(top.umax_half)),
        ];
        let mut printed = [false; 8];
        let mut first = true;
        for i in 0..fields.len() {
            let (name, value, default) = fields[i];
            if printed[i] || value == default {
                continue;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(name)?;
            for j in i + 1..fields.len() {
                let (name2, value2, default2) = fields[j];
                if !printed[j] && value2 != default2 && value2 == value {
                    printed[j] = true;
                    write!(f, "={name2}")?;
                }
            }
            write!(f, "={value}")?;
        }
        if !s.tnum.is_unknown() {
            if !first {
                f.write_str(",")?;
            }
            write!(f, "var_off=({:#x}; {:#x})", s.tnum.value, s.tnum.mask)?;
        }
        Ok(())
    }
}

impl<W: Word> core::fmt::Debug for LinuxDisplay<'_, W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

impl<W: Word> core::fmt::Debug for Scalar<W> {
    /// `scalar(<linux rendering>)`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "scalar({})", self.linux())
    }
}

impl<W: Word> core::fmt::Display for Scalar<W> {
    /// The [`Scalar::linux`] rendering.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.linux())
    }
}
