// AArch32 vCPU set-up for the a32-short and a32-lpae states.
//
// AArch32 with LPAE: the guest runs with its MMU on (TTBCR.EAE = 1, long descriptors, TTBR0 for the
// whole 32-bit VA space, walk from level 1), so it can name IPAs up to 2^40. The helper writes the
// tables into the code slot through its own mapping before each run (the slot is read-only to the
// guest), and maps three things with 4 KiB pages:
//   VA H + [0, 0x10000)   -> IPA [0, 0x10000)   the code slot, Normal Write-Back, executable
//   VA H + 0x10000         -> IPA 0x10000        DONE/REPORT, Device-nGnRnE, execute-never
//   VA (u32)ipa & ~0xfff   -> IPA ipa & ~0xfff   the target: Device-nGnRnE, execute-never for data
//                                               accesses (as with the MMU off), Normal Non-cacheable
//                                               and executable for an instruction fetch
// The target VA keeps the IPA's low 32 bits, so every FAR (DFAR/IFAR, including KVM's, which is
// the VA for a fetch outside memslots and (u32)(IPA | VA[11:0]) otherwise) reads (u32)ipa.
// H is 0, or 0x80000000 when an IPA above 4 GiB has its low 32 bits inside the harness pages.

#define _GNU_SOURCE
#include <string.h>

#include "s2c.h"

#define LD_TABLE 0x3ULL           // levels 1, 2: table descriptor; level 3: page descriptor
#define LD_ATTR(i) ((uint64_t)(i) << 2) // AttrIndx: byte i of MAIR0:MAIR1
#define LD_SH_INNER (3ULL << 8)
#define LD_AF (1ULL << 10)         // access flag set: no Access flag fault
#define LD_PXN (1ULL << 53)
#define LD_XN (1ULL << 54)
#define LD_OA_MASK 0xfffffff000ULL // output address [39:12]
#define ATTR_DEVICE 0              // MAIR attr0 = 0x00 Device-nGnRnE
#define ATTR_WB 1                  // MAIR attr1 = 0xff Normal, Inner/Outer Write-Back, R/W-allocate
#define ATTR_NC 2                  // MAIR attr2 = 0x44 Normal, Inner/Outer Non-cacheable
#define MAIR_VALUE 0x44ff00ULL
#define TTBCR_EAE (1ULL << 31)
#define TTBCR_LPAE (TTBCR_EAE | (1ULL << 23) /* EPD1 */ | (3ULL << 12) /* SH0 inner */ | \
		    (1ULL << 10) /* ORGN0 WB-WA */ | (1ULL << 8) /* IRGN0 WB-WA */) // T0SZ = 0
#define SCTLR_M (1ULL << 0)
#define SCTLR_A (1ULL << 1)
#define SCTLR_C (1ULL << 2)
#define SCTLR_I (1ULL << 12)
#define SCTLR_V (1ULL << 13)
#define SCTLR_EE (1ULL << 25)
#define SCTLR_TE (1ULL << 30)
#define A32_HIGH_BASE 0x80000000ULL
#define PT_END_IPA (HARNESS_PT_POOL_IPA + HARNESS_PT_POOL_PAGES * 0x1000ULL)

struct ptbuild {
	unsigned char *mem; // the helper's mapping of the code slot (IPA 0)
	int used;           // pool tables handed out
};

static bool pt_map(struct ptbuild *p, uint32_t va, uint64_t ipa, uint64_t attrs) {
	uint64_t *t = (uint64_t *)(p->mem + HARNESS_PT_L1_IPA);
	static const int shift[2] = {30, 21};
	static const uint32_t mask[2] = {3, 511};
	for (int l = 0; l < 2; l++) {
		uint64_t *e = &t[(va >> shift[l]) & mask[l]];
		if ((*e & 3) != LD_TABLE) {
			if (p->used >= (int)HARNESS_PT_POOL_PAGES) return false;
			*e = (HARNESS_PT_POOL_IPA + (uint64_t)p->used++ * 0x1000) | LD_TABLE;
		}
		t = (uint64_t *)(p->mem + (*e & LD_OA_MASK));
	}
	t[(va >> 12) & 511] = (ipa & LD_OA_MASK) | attrs | LD_AF | LD_TABLE;
	return true;
}

// Writes the tables for one a32-lpae case; returns H, or UINT64_MAX if the tables do not fit.
static uint64_t a32_lpae_tables(struct vm *v, const struct access *a) {
	uint32_t target = (uint32_t)a->ipa & ~0xfffU;
	uint64_t h = ((a->ipa >> 32) != 0 && target < HARNESS_DONE_IPA + 0x1000) ? A32_HIGH_BASE : 0;
	struct ptbuild p = {.mem = v->code_mem, .used = 0};
	memset(p.mem + HARNESS_PT_L1_IPA, 0, PT_END_IPA - HARNESS_PT_L1_IPA);
	bool ok = true;
	for (uint64_t off = 0; off < HARNESS_CODE_SIZE; off += 0x1000)
		ok = ok && pt_map(&p, (uint32_t)(h + off), HARNESS_CODE_IPA + off, LD_ATTR(ATTR_WB) | LD_SH_INNER);
	ok = ok && pt_map(&p, (uint32_t)(h + HARNESS_DONE_IPA), HARNESS_DONE_IPA, LD_ATTR(ATTR_DEVICE) | LD_XN | LD_PXN);
	ok = ok && pt_map(&p, target, a->ipa, a->kind == ACCESS_IFETCH ? LD_ATTR(ATTR_NC) : LD_ATTR(ATTR_DEVICE) | LD_XN | LD_PXN);
	__sync_synchronize();
	return ok ? h : UINT64_MAX;
}

// Sets the registers of AArch32 vCPU `fd` for one case starting at the stub at IPA `pc` (VA H + pc):
// a32-short runs with the MMU off, VA = IPA (op_run keeps ipa below 4 GiB), TTBCR.EAE = 0;
// a32-lpae with the MMU on and the tables above, TTBCR.EAE = 1 for every address.
enum a32_setup a32_setup_vcpu(struct vm *v, int fd, const struct gstate *gs, const struct access *a, uint64_t pc) {
	uint64_t h = 0, sctlr = 0;
	if (gs->lpae) h = a32_lpae_tables(v, a);
	if (h == UINT64_MAX) return A32_SETUP_NO_ROOM;
	bool ok = get_one_reg(fd, REG_SCTLR_EL1, &sctlr) == 0;
	sctlr &= ~(SCTLR_M | SCTLR_A | SCTLR_C | SCTLR_I | SCTLR_V | SCTLR_EE | SCTLR_TE); // vectors at VBAR, A32, little-endian
	if (gs->lpae) sctlr |= SCTLR_M | SCTLR_C | SCTLR_I;
	ok = ok &&
	     set_one_reg(fd, REG_MAIR_EL1, MAIR_VALUE) == 0 &&
	     set_one_reg(fd, REG_TTBR0_EL1, gs->lpae ? HARNESS_PT_L1_IPA : 0) == 0 &&
	     set_one_reg(fd, REG_TCR_EL1, gs->lpae ? TTBCR_LPAE : 0) == 0 &&
	     set_one_reg(fd, REG_SCTLR_EL1, sctlr) == 0 &&
	     set_one_reg(fd, REG_VBAR_EL1, h + guest_off(s2c_a32_vectors)) == 0 &&
	     set_one_reg(fd, REG_PSTATE, gs->pstate) == 0 &&
	     set_one_reg(fd, REG_PC, h + pc) == 0 &&
	     set_one_reg(fd, REG_X(0), (uint32_t)a->ipa) == 0 &&
	     set_one_reg(fd, REG_X(1), (uint32_t)a->data) == 0 &&
	     set_one_reg(fd, REG_X(2), 0) == 0 &&
	     set_one_reg(fd, REG_X(3), h + HARNESS_DONE_IPA) == 0 &&
	     set_one_reg(fd, REG_X(4), h + HARNESS_REPORT_IPA) == 0;
	return ok ? A32_SETUP_OK : A32_SETUP_IOCTL;
}
