//! `ebpfvm xdp FILE.o --pcap IN [--out OUT]`: an XDP program over a capture.
//!
//! Every frame runs as an XDP test run (the frame in a 3776-byte buffer with 256 bytes of
//! headroom, `ingress_ifindex` 1). Verdicts are applied: `XDP_PASS` frames, after any
//! head/tail adjustment, and `XDP_TX` frames (in pcapng marked with the comment `XDP_TX`)
//! are written to OUT in capture order; dropped, aborted, redirected and invalid verdicts
//! are not. A bad capture record or a frame an XDP run cannot take (under 14 or over
//! 3520 bytes) stops the command with an error naming the packet, and OUT is not written.
//! OUT has the input's format; pcapng output has nanosecond timestamps whatever the input's
//! interfaces use, so that no timestamp loses digits.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use ebpfvm_abi::ProgramType;
use ebpfvm_runtime::capture::{CaptureFormat, CaptureReader, CaptureWriter, Packet, TsResolution};
use ebpfvm_runtime::xdp::{XdpAction, XdpCounts};
use ebpfvm_runtime::{RunError, ETH_HLEN, XDP_MAX_FRAME};
use serde::Serialize;

use super::input::read_file;
use super::maps::{self, MapJson};
use super::runobj::{load_object, LoadedObject};
use super::{write_json, CliError, EXIT_OK};

/// Arguments of `ebpfvm xdp`.
#[derive(Clone, Debug)]
pub struct XdpArgs {
    /// The object.
    pub file: PathBuf,
    /// Program name.
    pub prog: Option<String>,
    /// Input capture.
    pub pcap: PathBuf,
    /// Output capture.
    pub out: Option<PathBuf>,
    /// Map seed file.
    pub maps: Option<PathBuf>,
    /// Print the maps at the end.
    pub show_maps: bool,
    /// JSON output.
    pub json: bool,
    /// Run without verifying.
    pub no_verify: bool,
}

/// Frames per verdict, for JSON.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
#[allow(non_snake_case, reason = "keys are the uapi action names")]
pub struct ActionsJson {
    /// `XDP_ABORTED`.
    pub XDP_ABORTED: u64,
    /// `XDP_DROP`.
    pub XDP_DROP: u64,
    /// `XDP_PASS`.
    pub XDP_PASS: u64,
    /// `XDP_TX`.
    pub XDP_TX: u64,
    /// `XDP_REDIRECT`.
    pub XDP_REDIRECT: u64,
    /// Invalid return values.
    pub invalid: u64,
}

/// The `--json` output of `ebpfvm xdp`.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct XdpJson {
    /// The program.
    pub program: String,
    /// Frames read.
    pub packets: u64,
    /// Frames per verdict.
    pub actions: ActionsJson,
    /// Frames the program faulted on (not written).
    pub faults: u64,
    /// The first fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_fault: Option<String>,
    /// r0 of each frame, in capture order (faults: null).
    pub retvals: Vec<Option<u64>>,
    /// Frames written to the output.
    pub written: u64,
    /// The output file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out: Option<String>,
    /// The maps after the last frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<Vec<MapJson>>,
}

/// Runs the command.
pub fn run(args: &XdpArgs, out: &mut dyn Write) -> Result<u8, CliError> {
    let path = &args.file;
    let bytes = read_file(path)?;
    let LoadedObject { loaded, programs } = load_object(path, &bytes, None, !args.no_verify)?;
    if let Some(seed) = &args.maps {
        maps::seed(&loaded, seed)?;
    }
    // The default is the object's only XDP program, counting those the loader rejected (so
    // that a rejected one is reported as such, exit 1, rather than as missing).
    let name = match &args.prog {
        Some(p) => p.clone(),
        None => {
            let xdp: Vec<&str> = programs
                .iter()
                .filter(|p| p.section_type == ProgramType::Xdp)
                .map(|p| p.name.as_str())
                .collect();
            match xdp.as_slice() {
                [one] => one.to_string(),
                [] => {
                    return Err(CliError::usage(format!(
                        "{}: the object has no XDP program",
                        path.display()
                    )))
                }
                many => {
                    return Err(CliError::usage(format!(
                        "{}: the object has {} XDP programs ({}): choose one with --prog",
                        path.display(),
                        many.len(),
                        many.join(", ")
                    )));
                }
            }
        }
    };
    let prog = loaded
        .select(Some(&name))
        .map_err(|e| super::runobj::select_error(path, e))?;
    if prog.prog_type != ProgramType::Xdp {
        return Err(CliError::usage(format!(
            "{}: program '{}' is a {} program, not xdp",
            path.display(),
            prog.name,
            prog.prog_type.name()
        )));
    }
    if let Some(o) = &args.out {
        if o.is_dir() || o.file_name().is_none() {
            return Err(CliError::usage(format!(
                "--out {} is a directory: name the capture file to write",
                o.display()
            )));
        }
    }
    let mut reader = CaptureReader::open(&args.pcap).map_err(|e| CliError::input(e.to_string()))?;
    // A pcapng file's resolutions are those of its interfaces, which come after the header
    // (and may differ): write pcapng in nanoseconds so that no timestamp loses digits.
    let out_resolution = match reader.format() {
        CaptureFormat::Pcap => reader.ts_resolution(),
        CaptureFormat::PcapNg => TsResolution::Nano,
    };
    let mut writer = match &args.out {
        Some(o) => Some(
            CaptureWriter::create(o, reader.format(), out_resolution)
                .map_err(|e| CliError::input(e.to_string()))?,
        ),
        None => None,
    };
    let total_bytes = std::fs::metadata(&args.pcap).map(|m| m.len()).unwrap_or(0);
    let bar = if std::io::stderr().is_terminal() && total_bytes > (4 << 20) {
        let b = indicatif::ProgressBar::new(total_bytes);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };

    let mut counts = XdpCounts::default();
    let mut retvals = Vec::new();
    let mut first_fault = None;
    let mut packets = 0u64;
    let pcap_name = args.pcap.display().to_string();
    while let Some(item) = reader.next() {
        let pkt = item.map_err(|e| CliError::input(e.to_string()))?;
        packets += 1;
        let n = pkt.number();
        if pkt.data.len() < ETH_HLEN || pkt.data.len() > XDP_MAX_FRAME {
            return Err(CliError::input(format!(
                "{pcap_name}: packet {n}: a frame of {} bytes cannot run as XDP (it must be {ETH_HLEN} to {XDP_MAX_FRAME} bytes)",
                pkt.data.len()
            )));
        }
        match loaded.run_xdp(prog, &pkt.data) {
            Ok(o) => {
                counts.add(o.action);
                retvals.push(Some(match o.action {
                    XdpAction::Aborted => 0,
                    XdpAction::Drop => 1,
                    XdpAction::Pass => 2,
                    XdpAction::Tx => 3,
                    XdpAction::Redirect => 4,
                    XdpAction::Invalid(v) => v,
                }));
                let comment = match o.action {
                    XdpAction::Pass => None,
                    XdpAction::Tx => Some("XDP_TX".to_string()),
                    _ => continue,
                };
                if let Some(w) = writer.as_mut() {
                    let written = Packet {
                        index: pkt.index,
                        timestamp: pkt.timestamp,
                        orig_len: if o.frame.len() == pkt.data.len() {
                            pkt.orig_len
                        } else {
                            o.frame.len() as u32
                        },
                        data: o.frame,
                        interface: pkt.interface,
                        comment: if w.format() == CaptureFormat::PcapNg {
                            comment
                        } else {
                            None
                        },
                    };
                    w.write_packet(&written)
                        .map_err(|e| CliError::input(e.to_string()))?;
                }
            }
            Err(RunError::Fault { fault, .. }) => {
                counts.faults += 1;
                retvals.push(None);
                if first_fault.is_none() {
                    first_fault = Some(format!("packet {n}: {fault}"));
                }
            }
            Err(e) => {
                return Err(CliError::input(format!("{pcap_name}: packet {n}: {e}")));
            }
        }
        if let Some(b) = &bar {
            if packets % 1024 == 0 {
                b.set_position(reader.offset());
                b.set_message(format!("{packets} packets"));
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let written = match writer {
        Some(w) => w.finish().map_err(|e| CliError::input(e.to_string()))?,
        None => 0,
    };
    let maps = args.show_maps.then(|| maps::dump(&loaded));
    if args.json {
        let json = XdpJson {
            program: prog.name.clone(),
            packets,
            actions: ActionsJson {
                XDP_ABORTED: counts.aborted,
                XDP_DROP: counts.drop,
                XDP_PASS: counts.pass,
                XDP_TX: counts.tx,
                XDP_REDIRECT: counts.redirect,
                invalid: counts.invalid,
            },
            faults: counts.faults,
            first_fault,
            retvals,
            written,
            out: args.out.as_ref().map(|p| p.display().to_string()),
            maps,
        };
        write_json(out, &json)?;
        return Ok(EXIT_OK);
    }
    writeln!(
        out,
        "program {} over {packets} packets of {pcap_name}",
        prog.name
    )?;
    for (name, n) in [
        ("XDP_ABORTED", counts.aborted),
        ("XDP_DROP", counts.drop),
        ("XDP_PASS", counts.pass),
        ("XDP_TX", counts.tx),
        ("XDP_REDIRECT", counts.redirect),
    ] {
        writeln!(out, "{name:<13}{n}")?;
    }
    if counts.invalid > 0 {
        writeln!(out, "{:<13}{}", "invalid", counts.invalid)?;
    }
    if counts.faults > 0 {
        writeln!(
            out,
            "{:<13}{} (first: {})",
            "faults",
            counts.faults,
            first_fault.as_deref().unwrap_or("")
        )?;
    }
    if let Some(o) = &args.out {
        writeln!(out, "wrote {written} packets to {}", o.display())?;
    }
    if let Some(maps) = maps {
        for line in maps::render(&maps) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(EXIT_OK)
}
