//! XDP as a packet engine: run a program on frames and apply its verdicts.

use crate::error::RunError;
use crate::load::{Loaded, LoadedProgram};
use crate::run::TestRun;
use ebpfvm_helpers::Redirect;

/// An XDP verdict.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum XdpAction {
    /// `XDP_ABORTED` (0): drop, and count as an exception.
    Aborted,
    /// `XDP_DROP` (1).
    Drop,
    /// `XDP_PASS` (2): on to the network stack.
    Pass,
    /// `XDP_TX` (3): back out of the interface it came in on.
    Tx,
    /// `XDP_REDIRECT` (4): to another interface, CPU or socket, as the redirect helper said.
    Redirect,
    /// Any other value: Linux warns and drops the frame.
    Invalid(u64),
}

impl XdpAction {
    /// The action an XDP program's r0 means.
    pub fn from_retval(r0: u64) -> XdpAction {
        match r0 {
            0 => XdpAction::Aborted,
            1 => XdpAction::Drop,
            2 => XdpAction::Pass,
            3 => XdpAction::Tx,
            4 => XdpAction::Redirect,
            v => XdpAction::Invalid(v),
        }
    }

    /// The uapi name (`XDP_PASS`), or `invalid` for unknown values.
    pub fn name(self) -> &'static str {
        match self {
            XdpAction::Aborted => "XDP_ABORTED",
            XdpAction::Drop => "XDP_DROP",
            XdpAction::Pass => "XDP_PASS",
            XdpAction::Tx => "XDP_TX",
            XdpAction::Redirect => "XDP_REDIRECT",
            XdpAction::Invalid(_) => "invalid",
        }
    }
}

/// What an XDP program did with one frame.
#[derive(Clone, Debug)]
pub struct XdpOutcome {
    /// The verdict.
    pub action: XdpAction,
    /// The frame after any head, tail or metadata adjustment.
    pub frame: Vec<u8>,
    /// Where a redirect helper sent it.
    pub redirect: Option<Redirect>,
}

/// Frames counted per verdict.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct XdpCounts {
    /// `XDP_ABORTED`.
    pub aborted: u64,
    /// `XDP_DROP`.
    pub drop: u64,
    /// `XDP_PASS`.
    pub pass: u64,
    /// `XDP_TX`.
    pub tx: u64,
    /// `XDP_REDIRECT`.
    pub redirect: u64,
    /// Invalid actions (dropped).
    pub invalid: u64,
    /// Frames the program faulted on (counted as aborted by Linux; kept apart here).
    pub faults: u64,
}

impl XdpCounts {
    /// Counts one verdict.
    pub fn add(&mut self, action: XdpAction) {
        match action {
            XdpAction::Aborted => self.aborted += 1,
            XdpAction::Drop => self.drop += 1,
            XdpAction::Pass => self.pass += 1,
            XdpAction::Tx => self.tx += 1,
            XdpAction::Redirect => self.redirect += 1,
            XdpAction::Invalid(_) => self.invalid += 1,
        }
    }

    /// Frames counted.
    pub fn total(&self) -> u64 {
        self.aborted + self.drop + self.pass + self.tx + self.redirect + self.invalid + self.faults
    }
}

impl Loaded {
    /// Runs the XDP program `prog` on one Ethernet frame.
    pub fn run_xdp(&self, prog: &LoadedProgram, frame: &[u8]) -> Result<XdpOutcome, RunError> {
        if prog.prog_type != ebpfvm_abi::ProgramType::Xdp {
            return Err(RunError::BadInput(format!(
                "program '{}' is a {} program, not xdp",
                prog.name,
                prog.prog_type.name()
            )));
        }
        let r = self.run_inner(
            prog,
            &TestRun {
                data: frame,
                ctx: None,
                repeat: 1,
            },
            false,
        )?;
        Ok(XdpOutcome {
            action: XdpAction::from_retval(r.retval),
            frame: r.data,
            redirect: r.redirect,
        })
    }
}
