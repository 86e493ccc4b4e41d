//! Transfer functions: how each instruction class changes a [`State`], and the checks that
//! must hold before it runs. Independent of the exploration strategy: each takes the state
//! of one path and returns the next state(s) or a [`Fail`].

pub mod alu;
pub mod branch;
pub mod call;
pub mod mem;

use crate::state::State;

/// Why an instruction cannot run: the one-line message (Linux's wording where it has one).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Fail(pub String);

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail(s.to_string())
    }
}

/// Register `r` must have been written (`R%d !read_ok`).
pub fn check_readable(st: &State, r: usize) -> Result<(), Fail> {
    if st.reg(r).is_init() {
        Ok(())
    } else {
        Err(format!("R{r} !read_ok").into())
    }
}

/// Register `r` may be written (not the frame pointer).
pub fn check_writable_dst(r: usize) -> Result<(), Fail> {
    if r == 10 {
        Err("frame pointer is read only".into())
    } else {
        Ok(())
    }
}
