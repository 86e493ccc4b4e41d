; FNV-1a (32-bit) hash of the input bytes, in the LLVM/kernel assembly dialect.
; r1 = address of the input, r2 = its length; the hash is returned in r0.
;
;   ebpfvm run examples/fnv1a.s --data 68656c6c6f      # "hello" -> 0x4f9f2cab
        w0 = -0x7ee3623b                ; offset basis 0x811c9dc5
        if r2 == 0x0 goto done
loop:
        r3 = *(u8 *)(r1 + 0x0)
        w0 ^= w3
        w0 *= 0x1000193                 ; FNV prime 16777619
        r1 += 0x1
        r2 += -0x1
        if r2 != 0x0 goto loop
done:
        exit
