// Guest code of the s2conform KVM harness (AArch64). The helper copies the bytes between
// s2c_guest_start and s2c_guest_end to IPA 0 of every VM it runs (a read-only memslot), so every
// address below is an IPA and the guest runs with its MMU off: a load or store reaches the IPA it
// names, with Device-nGnRnE attributes (unaligned data accesses take an alignment fault).
//
// Harness IPA map (harness.h, generated from core/harness.ts; the client must not use
// [0, HARNESS_END) = [0x0, 0x20000)):
//   0x00000  HARNESS_CODE_IPA: vector table (VBAR_EL1 = 0): 16 entries of 0x80 bytes
//   0x00800  access stubs, 16 bytes each (see s2c_stub_* below)
//   0x01000  AArch32 vector table, handlers and A32 access stubs (s2c_a32_*; see the end)
//   0x08000  HARNESS_PT_L1_IPA, a32-lpae only: LPAE translation tables the helper writes before each run
//   0x10000  HARNESS_DONE_IPA    unbacked: a store here is a KVM_EXIT_MMIO meaning "the access completed"
//   0x10100  HARNESS_REPORT_IPA  unbacked: vector entries store offset, ESR_EL1, FAR_EL1 at +0, +8, +16
//
// Registers on entry, set by the helper with KVM_SET_ONE_REG after KVM_ARM_VCPU_INIT:
//   pc = a stub, pstate = EL1h/EL1t/EL0 with DAIF masked, x0 = target IPA, x1 = data (stores),
//   x3 = DONE. No stack is used.

#include "harness.h"

#if HARNESS_REPORT_IPA > 0xffffffff || HARNESS_CODE_IPA != 0
#error "the vector entries build REPORT with movz/movk (32 bits) and VBAR_EL1 = 0 is the code slot"
#endif

	.section .rodata.s2c_guest, "a"
	.balign	4096
	.global	s2c_guest_start
s2c_guest_start:

// One vector entry: report which entry ran, then ESR_EL1 and FAR_EL1, then spin (the helper
// stops the vCPU at the third report store and never resumes it).
	.macro	vector off
	.balign	0x80
	movz	x10, #(HARNESS_REPORT_IPA & 0xffff)
	movk	x10, #(HARNESS_REPORT_IPA >> 16), lsl #16	// x10 = REPORT
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

// ------------------------------------------------------------------------------------------------
// AArch32 guest code (states a32-lpae and a32-short), run by a vCPU created with
// KVM_ARM_VCPU_EL1_32BIT. The aarch64 assembler has no A32 instructions, so each one is emitted
// by a macro below from its A1 encoding (cond = AL); every use carries the instruction it encodes
// as a comment, and build/guest-a32.lst is the A32 disassembly of this part, for review.
//
// Everything below is position independent: the helper runs it at VA H + offset, where H is 0 with
// the MMU off (a32-short: VA = IPA) and, for a32-lpae (MMU on, TTBCR.EAE = 1, long-descriptor
// tables written by the helper), 0 or 0x80000000 (when the target's page would fall on the harness).
//
// Registers on entry, set by the helper after KVM_ARM_VCPU_INIT: SVC mode, A32, A/I/F masked,
// pc = an A32 stub, r0 = target VA, r1 = data (stores), r2 = 0, r3 = H + DONE, r4 = H + REPORT,
// VBAR = H + s2c_a32_vectors. No stack is used; r0-r12 are not banked in ABT mode.

	.set	r0, 0
	.set	r1, 1
	.set	r2, 2
	.set	r3, 3
	.set	r4, 4
	.set	r9, 9
	.set	r10, 10
	.set	r11, 11
	.set	lr, 14

// Load/store, base register, offset 0 or a small immediate (A1 encodings, cond = AL):
//   word/byte: cond 01 P U B W L Rn Rt imm12      halfword: cond 000 P U 1 W L Rn Rt imm4H 1011 imm4L
//   P = 1, W = 0: offset addressing [Rn, #imm] (ESR_EL2.ISV = 1)
//   P = 0, W = 0: post-indexed [Rn], #0, which writes Rn back (ESR_EL2.ISV = 0)
	.set	A32_LDR,	0xe5900000	// ldr   Rt, [Rn, #imm12]
	.set	A32_LDRB,	0xe5d00000	// ldrb  Rt, [Rn, #imm12]
	.set	A32_LDRH,	0xe1d000b0	// ldrh  Rt, [Rn]          (imm8 = 0 only)
	.set	A32_STR,	0xe5800000	// str   Rt, [Rn, #imm12]
	.set	A32_STRB,	0xe5c00000	// strb  Rt, [Rn, #imm12]
	.set	A32_STRH,	0xe1c000b0	// strh  Rt, [Rn]          (imm8 = 0 only)
	.set	A32_LDR_POST,	0xe4900000	// ldr   Rt, [Rn], #0
	.set	A32_LDRB_POST,	0xe4d00000	// ldrb  Rt, [Rn], #0
	.set	A32_LDRH_POST,	0xe0d000b0	// ldrh  Rt, [Rn], #0
	.set	A32_STR_POST,	0xe4800000	// str   Rt, [Rn], #0
	.set	A32_STRB_POST,	0xe4c00000	// strb  Rt, [Rn], #0
	.set	A32_STRH_POST,	0xe0c000b0	// strh  Rt, [Rn], #0

	.macro	a32_ldst op, rt, rn, imm=0
	.if	(\imm) < 0 || (\imm) > 0xfff || (((\op) & 0x0e000000) == 0 && (\imm) != 0)
	.error	"a32_ldst: offset out of range"
	.endif
	.4byte	(\op) | ((\rn) << 16) | ((\rt) << 12) | (\imm)
	.endm

	.macro	a32_mov_imm rd, imm		// mov Rd, #imm8     cond 0011101 S=0 0000 Rd 0000 imm8
	.if	(\imm) < 0 || (\imm) > 0xff
	.error	"a32_mov_imm: immediate out of range"
	.endif
	.4byte	0xe3a00000 | ((\rd) << 12) | (\imm)
	.endm

	.macro	a32_mov rd, rm			// mov Rd, Rm        cond 0001101 S=0 0000 Rd 00000 000 Rm
	.4byte	0xe1a00000 | ((\rd) << 12) | (\rm)
	.endm

	.macro	a32_mrc15 rt, crn, crm, opc2	// mrc p15, 0, Rt, CRn, CRm, opc2   cond 1110 000 1 CRn Rt 1111 opc2 1 CRm
	.4byte	0xee100f10 | ((\crn) << 16) | ((\rt) << 12) | ((\opc2) << 5) | (\crm)
	.endm

	.macro	a32_bx rm			// bx Rm (Rm bit 0 = 0: stays A32)   cond 00010010 1111 1111 1111 0001 Rm
	.4byte	0xe12fff10 | (\rm)
	.endm

	.macro	a32_b target			// b target          cond 1010 imm24 (target = . + 8 + imm24 * 4)
	.4byte	0xea000000 | ((((\target) - . - 8) >> 2) & 0xffffff)
	.endm

// Vector table (VBAR = H + s2c_a32_vectors; SCTLR.V = 0). KVM enters ABT mode at +0x0C for a
// prefetch abort and +0x10 for a data abort (enter_exception32). Every entry reports
// (offset, FSR, FAR) to REPORT and spins; the helper stops the vCPU at the third report store.
	.balign	0x1000
	.global	s2c_a32_vectors
s2c_a32_vectors:
	a32_b	a32_v00			// +0x00 reset (never taken)
	a32_b	a32_v04			// +0x04 undefined instruction
	a32_b	a32_v08			// +0x08 supervisor call
	a32_b	a32_pabt		// +0x0C prefetch abort
	a32_b	a32_dabt		// +0x10 data abort
	a32_b	a32_v14			// +0x14 (hyp trap: never taken at EL1)
	a32_b	a32_v18			// +0x18 IRQ
	a32_b	a32_v1c			// +0x1C FIQ

a32_pabt:
	a32_mov_imm r9, 0x0c		// mov r9, #0x0c                 r9  = vector offset
	a32_mrc15 r10, 5, 0, 1		// mrc p15, 0, r10, c5, c0, 1    r10 = IFSR
	a32_mrc15 r11, 6, 0, 2		// mrc p15, 0, r11, c6, c0, 2    r11 = IFAR
	a32_b	a32_report		// b a32_report
a32_dabt:
	a32_mov_imm r9, 0x10		// mov r9, #0x10                 r9  = vector offset
	a32_mrc15 r10, 5, 0, 0		// mrc p15, 0, r10, c5, c0, 0    r10 = DFSR
	a32_mrc15 r11, 6, 0, 0		// mrc p15, 0, r11, c6, c0, 0    r11 = DFAR
a32_report:
	a32_ldst A32_STR, r9, r4, 0	// str r9, [r4]        REPORT+0  = vector offset   (MMIO exit)
	a32_ldst A32_STR, r10, r4, 8	// str r10, [r4, #8]   REPORT+8  = FSR             (MMIO exit)
	a32_ldst A32_STR, r11, r4, 16	// str r11, [r4, #16]  REPORT+16 = FAR             (MMIO exit)
1:	a32_b	1b			// b .

// The other entries report their offset, FSR = 0 and FAR = the mode's lr (where it came from).
	.macro	a32_other label, off
\label:
	a32_mov_imm r9, \off		// mov r9, #off                  r9  = vector offset
	a32_mov_imm r10, 0		// mov r10, #0                   r10 = 0
	a32_mov	r11, lr			// mov r11, lr                   r11 = return address
	a32_b	a32_report		// b a32_report
	.endm
	a32_other a32_v00, 0x00
	a32_other a32_v04, 0x04
	a32_other a32_v08, 0x08
	a32_other a32_v14, 0x14
	a32_other a32_v18, 0x18
	a32_other a32_v1c, 0x1c

// A32 access stubs, 16 bytes each like the AArch64 ones (pc + 8 is the branch-to-self the
// helper's spin diagnostic starts at): one access, then a store of r1 to DONE, then spin.
	.macro	a32_stub name, op
	.balign	16
	.global	s2c_a32_stub_\name
s2c_a32_stub_\name:
	a32_ldst \op, r1, r0		// the access: Rt = r1, Rn = r0 (see the table above)
	a32_ldst A32_STR, r1, r3, 0	// str r1, [r3]        DONE = r1                   (MMIO exit)
1:	a32_b	1b			// b .
	.endm

	.balign	0x100
	// loads and stores with a valid syndrome (ESR_EL2.ISV = 1)
	a32_stub ld1, A32_LDRB		// ldrb r1, [r0]
	a32_stub ld2, A32_LDRH		// ldrh r1, [r0]
	a32_stub ld4, A32_LDR		// ldr  r1, [r0]
	a32_stub st1, A32_STRB		// strb r1, [r0]
	a32_stub st2, A32_STRH		// strh r1, [r0]
	a32_stub st4, A32_STR		// str  r1, [r0]
	// the same, post-indexed with writeback (offset 0): no valid syndrome (ISV = 0)
	a32_stub ld1w, A32_LDRB_POST	// ldrb r1, [r0], #0
	a32_stub ld2w, A32_LDRH_POST	// ldrh r1, [r0], #0
	a32_stub ld4w, A32_LDR_POST	// ldr  r1, [r0], #0
	a32_stub st1w, A32_STRB_POST	// strb r1, [r0], #0
	a32_stub st2w, A32_STRH_POST	// strh r1, [r0], #0
	a32_stub st4w, A32_STR_POST	// str  r1, [r0], #0
	// instruction fetch at r0 (A32 state: bit 0 of the target is 0). For a helper-backed slot the
	// helper plants the instruction below at the target first, so a fetch that succeeds reports DONE.
	.balign	16
	.global	s2c_a32_stub_ifetch
s2c_a32_stub_ifetch:
	a32_bx	r0			// bx r0
	a32_ldst A32_STR, r1, r3, 0	// str r1, [r3]        (not reached)
1:	a32_b	1b			// b .
	.balign	4
	.global	s2c_a32_planted
s2c_a32_planted:
	a32_ldst A32_STR, r2, r3, 0	// str r2, [r3]        DONE = 0 (planted at the fetched IPA)

	.global	s2c_guest_end
s2c_guest_end:
