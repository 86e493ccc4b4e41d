//! The interpreters the bench compares, each behind [`Runner`]: prepared (load, verify, map
//! memory) with its own copy of the input, then run many times.

use std::{ptr::NonNull, sync::Arc};

use anyhow::{anyhow, Context};
use solana_sbpf::{
    aligned_memory::AlignedMemory,
    ebpf::{HOST_ALIGN, MM_HEAP_START, MM_INPUT_START, MM_STACK_START},
    elf::Executable,
    error::ProgramResult,
    memory_region::{MemoryMapping, MemoryRegion},
    program::{BuiltinProgram, FunctionRegistry, SBPFVersion},
    verifier::RequisiteVerifier,
    vm::{CallFrame, Config, ContextObject, EbpfVm, ExecutionMode},
};

/// An engine of the `interp` bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// ebpfvm's interpreter (`ebpfvm_interp::Vm`, checked mode).
    Ebpfvm,
    /// rbpf 0.4's interpreter (`EbpfVmMbuff`, input as `mem`, as `EbpfVmRaw` does).
    Rbpf,
    /// solana-sbpf 0.26's interpreter, SBPFv0, default `Config` (instruction meter on).
    Sbpf,
    /// solana-sbpf 0.26's interpreter, SBPFv0, instruction meter, sanitising and no-op
    /// insertion off (the last two only affect its JIT).
    SbpfNoMeter,
}

impl Engine {
    /// Every engine, in report order; the first is the baseline of the ratios.
    pub const ALL: [Engine; 4] = [
        Engine::Ebpfvm,
        Engine::Rbpf,
        Engine::Sbpf,
        Engine::SbpfNoMeter,
    ];

    /// Name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Engine::Ebpfvm => "ebpfvm-interp",
            Engine::Rbpf => "rbpf-interp",
            Engine::Sbpf => "sbpf-interp",
            Engine::SbpfNoMeter => "sbpf-interp-nometer",
        }
    }

    /// Loads `text` and gives the engine its own copy of `input`.
    pub fn prepare<'a>(self, text: &'a [u8], input: &[u8]) -> anyhow::Result<Box<dyn Runner + 'a>> {
        Ok(match self {
            Engine::Ebpfvm => Box::new(EbpfvmRunner::new(text, input)?),
            Engine::Rbpf => Box::new(RbpfRunner::new(text, input)?),
            Engine::Sbpf => Box::new(SbpfRunner::new(text, input, Config::default())?),
            Engine::SbpfNoMeter => Box::new(SbpfRunner::new(
                text,
                input,
                Config {
                    enable_instruction_meter: false,
                    sanitize_user_provided_values: false,
                    noop_instruction_rate: 0,
                    ..Config::default()
                },
            )?),
        })
    }
}

/// A program loaded into an engine together with its input.
pub trait Runner {
    /// Runs the program once from the start and returns r0.
    fn run(&mut self) -> anyhow::Result<u64>;
    /// Instructions the last run executed, where the engine counts them.
    fn executed(&self) -> Option<u64>;
}

struct EbpfvmRunner {
    program: ebpfvm_interp::Program,
    vm: ebpfvm_interp::Vm,
    mem: Vec<u8>,
}

impl EbpfvmRunner {
    fn new(text: &[u8], input: &[u8]) -> anyhow::Result<Self> {
        Ok(EbpfvmRunner {
            program: ebpfvm_interp::Program::from_bytes(text).context("ebpfvm: load")?,
            vm: ebpfvm_interp::Vm::new(),
            mem: input.to_vec(),
        })
    }
}

impl Runner for EbpfvmRunner {
    fn run(&mut self) -> anyhow::Result<u64> {
        let len = self.mem.len() as u64;
        let region = ebpfvm_interp::Region::writable(&mut self.mem);
        let addr = region.addr();
        let r0 = self.vm.run(
            &self.program,
            &[addr, len],
            &[region],
            &mut ebpfvm_abi::NoHelpers,
        )?;
        Ok(r0)
    }

    fn executed(&self) -> Option<u64> {
        Some(self.vm.executed())
    }
}

struct RbpfRunner<'a> {
    vm: rbpf::EbpfVmMbuff<'a>,
    mem: Vec<u8>,
}

impl<'a> RbpfRunner<'a> {
    fn new(text: &'a [u8], input: &[u8]) -> anyhow::Result<Self> {
        let vm = rbpf::EbpfVmMbuff::new(Some(text)).context("rbpf: load")?;
        Ok(RbpfRunner {
            vm,
            mem: input.to_vec(),
        })
    }
}

impl Runner for RbpfRunner<'_> {
    fn run(&mut self) -> anyhow::Result<u64> {
        // `EbpfVmRaw::execute_program(mem)` is exactly this call (r1 = mem, no metadata
        // buffer); `EbpfVmRaw` ties the borrow of `mem` to the program's lifetime, which would
        // allow only one run per VM.
        self.vm
            .execute_program(&self.mem, &[])
            .map_err(|e| anyhow!("rbpf: {e}"))
    }

    fn executed(&self) -> Option<u64> {
        None
    }
}

/// The context object sbpf needs: the instruction meter and the memory mapping.
struct SbpfContext {
    remaining: u64,
    mapping: MemoryMapping,
}

impl ContextObject for SbpfContext {
    fn consume(&mut self, amount: u64) {
        self.remaining = self.remaining.saturating_sub(amount);
    }

    fn get_remaining(&self) -> u64 {
        self.remaining
    }

    fn active_mapping_ptr(&mut self) -> NonNull<MemoryMapping> {
        NonNull::from(&mut self.mapping)
    }
}

/// The instruction budget each sbpf run starts with (far above any workload).
const SBPF_BUDGET: u64 = 1 << 40;

struct SbpfRunner {
    executable: Executable<SbpfContext>,
    context: SbpfContext,
    call_frames: Vec<CallFrame>,
    stack_len: usize,
    input_len: u64,
    last_count: Option<u64>,
    // The mapping in `context` points into these two buffers, which never move or grow.
    _stack: AlignedMemory<HOST_ALIGN>,
    _input: AlignedMemory<HOST_ALIGN>,
}

impl SbpfRunner {
    fn new(text: &[u8], input: &[u8], config: Config) -> anyhow::Result<Self> {
        let loader = Arc::new(BuiltinProgram::new_loader(config));
        let executable = Executable::<SbpfContext>::from_text_bytes(
            text,
            loader,
            SBPFVersion::V0,
            FunctionRegistry::default(),
        )
        .map_err(|e| anyhow!("sbpf: load: {e}"))?;
        executable
            .verify::<RequisiteVerifier>()
            .map_err(|e| anyhow!("sbpf: verify: {e}"))?;
        let config = executable.get_config();
        let mut stack = AlignedMemory::<HOST_ALIGN>::zero_filled(config.stack_size());
        let stack_len = stack.len();
        let mut input = AlignedMemory::<HOST_ALIGN>::from_slice(input);
        let input_len = input.len() as u64;
        // SBPFv0 spaces its fixed-size stack frames with unmapped gaps of the same size.
        let gap = if config.enable_stack_frame_gaps {
            config.stack_frame_size as u64
        } else {
            0
        };
        let regions = vec![
            executable.get_ro_region(),
            MemoryRegion::new_gapped(&mut stack, MM_STACK_START, gap),
            MemoryRegion::new_empty(MM_HEAP_START),
            MemoryRegion::new(&mut input, MM_INPUT_START),
        ];
        // SAFETY: the regions point into `stack`, `input` and the executable's text, which are
        // heap buffers owned by the runner next to the mapping and never resized; the writable
        // ones hold plain bytes.
        let mapping = unsafe { MemoryMapping::new(regions, config, SBPFVersion::V0) }
            .map_err(|e| anyhow!("sbpf: memory mapping: {e}"))?;
        let call_frames = vec![CallFrame::default(); config.max_call_depth];
        Ok(SbpfRunner {
            executable,
            context: SbpfContext {
                remaining: SBPF_BUDGET,
                mapping,
            },
            call_frames,
            stack_len,
            input_len,
            last_count: None,
            _stack: stack,
            _input: input,
        })
    }
}

impl Runner for SbpfRunner {
    fn run(&mut self) -> anyhow::Result<u64> {
        self.context.remaining = SBPF_BUDGET;
        let loader = self.executable.get_loader().clone();
        let metered = loader.get_config().enable_instruction_meter;
        let mut vm = EbpfVm::new(loader, SBPFVersion::V0, &mut self.context, self.stack_len);
        vm.registers[1] = MM_INPUT_START;
        vm.registers[2] = self.input_len;
        let (count, result) = vm.execute_program(
            &self.executable,
            &mut ExecutionMode::Interpreted,
            &mut self.call_frames,
        );
        self.last_count = metered.then_some(count);
        match result {
            ProgramResult::Ok(r0) => Ok(r0),
            ProgramResult::Err(e) => Err(anyhow!("sbpf: {e}")),
        }
    }

    fn executed(&self) -> Option<u64> {
        self.last_count
    }
}
