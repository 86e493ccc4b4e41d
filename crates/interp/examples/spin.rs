//! Quick throughput check of the interpreter on an ALU loop: `cargo run --release -p
//! ebpfvm-interp --example spin`.
use ebpfvm_isa::{AluOp, Insn, JmpCond, Reg, Source, Width};

fn main() {
    let alu = |op, dst, src| Insn::Alu {
        width: Width::W64,
        op,
        dst,
        src,
    };
    let prog = [
        alu(AluOp::Mov, Reg::R2, Source::Imm(10_000_000)),
        alu(AluOp::Add, Reg::R0, Source::Reg(Reg::R1)),
        alu(AluOp::Xor, Reg::R1, Source::Reg(Reg::R0)),
        alu(AluOp::Lsh, Reg::R1, Source::Imm(1)),
        alu(AluOp::Sub, Reg::R2, Source::Imm(1)),
        Insn::Jmp {
            width: Width::W64,
            cond: JmpCond::Ne,
            dst: Reg::R2,
            src: Source::Imm(0),
            off: -5,
        },
        Insn::Exit,
    ];
    let slots = ebpfvm_isa::encode_all(&prog);
    let p = ebpfvm_interp::Program::from_slots(&slots).unwrap();
    let mut vm = ebpfvm_interp::Vm::new();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let r = vm.run(&p, &[1], &[], &mut ebpfvm_abi::NoHelpers).unwrap();
        let ns = t.elapsed().as_nanos() as f64;
        println!(
            "r0={r:#x} executed={} ns/insn={:.3}",
            vm.executed(),
            ns / vm.executed() as f64
        );
    }
}
