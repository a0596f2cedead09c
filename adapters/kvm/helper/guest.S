// Guest code of the s2conform KVM harness (AArch64). The helper copies the bytes between
// s2c_guest_start and s2c_guest_end to IPA 0 of every VM it runs (a read-only memslot), so every
// address below is an IPA and the guest runs with its MMU off: a load or store reaches the IPA it
// names, with Device-nGnRnE attributes (unaligned data accesses take an alignment fault).
//
// Harness IPA map (the client must not use [0x0, 0x20000)):
//   0x00000  vector table (VBAR_EL1 = 0): 16 entries of 0x80 bytes
//   0x00800  access stubs, 16 bytes each (see s2c_stub_* below)
//   0x10000  DONE    unbacked: a store here is a KVM_EXIT_MMIO meaning "the access completed"
//   0x10100  REPORT  unbacked: vector entries store offset, ESR_EL1, FAR_EL1 at +0, +8, +16
//
// Registers on entry, set by the helper with KVM_SET_ONE_REG after KVM_ARM_VCPU_INIT:
//   pc = a stub, pstate = EL1h/EL1t/EL0 with DAIF masked, x0 = target IPA, x1 = data (stores),
//   x3 = DONE. No stack is used.

	.section .rodata.s2c_guest, "a"
	.balign	4096
	.global	s2c_guest_start
s2c_guest_start:

// One vector entry: report which entry ran, then ESR_EL1 and FAR_EL1, then spin (the helper
// stops the vCPU at the third report store and never resumes it).
	.macro	vector off
	.balign	0x80
	movz	x10, #0x0100
	movk	x10, #0x1, lsl #16	// x10 = REPORT = 0x10100
	movz	x9, #\off
	str	x9, [x10]		// REPORT+0  = vector offset      (MMIO exit)
	mrs	x9, esr_el1
	str	x9, [x10, #8]		// REPORT+8  = ESR_EL1            (MMIO exit)
	mrs	x9, far_el1
	str	x9, [x10, #16]		// REPORT+16 = FAR_EL1            (MMIO exit)
1:	b	1b
	.endm

	vector	0x000			// current EL, SP_EL0: synchronous
	vector	0x080			//                     IRQ
	vector	0x100			//                     FIQ
	vector	0x180			//                     SError
	vector	0x200			// current EL, SP_ELx: synchronous
	vector	0x280
	vector	0x300
	vector	0x380
	vector	0x400			// lower EL, AArch64: synchronous
	vector	0x480
	vector	0x500
	vector	0x580
	vector	0x600			// lower EL, AArch32: synchronous
	vector	0x680
	vector	0x700
	vector	0x780

// Access stubs: one access, then a store of x1 to DONE (for a load, the DONE data is the value
// loaded), then spin. Every stub is 16 bytes.
	.macro	stub name, insn:vararg
	.balign	16
	.global	s2c_stub_\name
s2c_stub_\name:
	\insn
	str	x1, [x3]		// DONE = x1                      (MMIO exit)
1:	b	1b
	.endm

	.balign	0x800
	// loads and stores with a valid syndrome (ESR_EL2.ISV = 1)
	stub	ld1, ldrb w1, [x0]
	stub	ld2, ldrh w1, [x0]
	stub	ld4, ldr w1, [x0]
	stub	ld8, ldr x1, [x0]
	stub	st1, strb w1, [x0]
	stub	st2, strh w1, [x0]
	stub	st4, str w1, [x0]
	stub	st8, str x1, [x0]
	// the same with post-index writeback (offset 0): no valid syndrome (ISV = 0)
	stub	ld1w, ldrb w1, [x0], #0
	stub	ld2w, ldrh w1, [x0], #0
	stub	ld4w, ldr w1, [x0], #0
	stub	ld8w, ldr x1, [x0], #0
	stub	st1w, strb w1, [x0], #0
	stub	st2w, strh w1, [x0], #0
	stub	st4w, str w1, [x0], #0
	stub	st8w, str x1, [x0], #0
	// instruction fetch at x0. For a helper-backed ("auto") slot the helper plants the
	// instruction below at x0 first, so a fetch that succeeds reports DONE.
	stub	ifetch, br x0
	.balign	4
	.global	s2c_planted
s2c_planted:
	str	xzr, [x3]		// DONE = 0 (planted at the fetched IPA)

	.global	s2c_guest_end
s2c_guest_end:
