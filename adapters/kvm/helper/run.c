// One access case: the vCPU set up at a stub of the guest code, KVM_RUN until the guest reports
// (DONE, REPORT) or exits to the VMM otherwise, a timer for a vCPU that never exits, and the
// outcome as the protocol sends it.
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "s2c.h"

// ---- hang detection ---------------------------------------------------------------------------
//
// A per-thread timer whose signal handler sets kvm_run->immediate_exit, so a KVM_RUN
// that is running returns EINTR and one about to be entered returns at once.

static timer_t hang_timer;
static bool hang_timer_ok;
static volatile sig_atomic_t hang_fired;
static struct kvm_run *volatile hang_run;

static void on_hang_signal(int sig) {
	(void)sig;
	hang_fired = 1;
	struct kvm_run *r = hang_run;
	if (r) r->immediate_exit = 1;
}

void hang_setup(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hang_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; // no SA_RESTART: KVM_RUN must return EINTR
	sigaction(SIGUSR1, &sa, NULL);
	struct sigevent sev;
	memset(&sev, 0, sizeof sev);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	hang_timer_ok = timer_create(CLOCK_MONOTONIC, &sev, &hang_timer) == 0;
}

void hang_arm(struct kvm_run *r, int64_t ms) {
	hang_fired = 0;
	hang_run = r;
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	if (hang_timer_ok) timer_settime(hang_timer, 0, &its, NULL);
}

void hang_disarm(void) {
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (hang_timer_ok) timer_settime(hang_timer, 0, &its, NULL);
	hang_run = NULL;
}

bool hang_watch(struct kvm_run *r) {
	hang_run = r;
	return !hang_fired;
}

// ---- the case ---------------------------------------------------------------------------------

// Each state of HARNESS_GUEST_STATES (harness.h, generated from GUEST_STATES in core/target.ts):
// PSTATE/CPSR at the stub, AArch32, LPAE. The table is that list in its order, so a state added
// there without a GS_<id> here does not compile.
// AArch64: DAIF masked, M[3:0] = EL1h 0b0101, EL1t 0b0100, EL0t 0b0000.
// AArch32: M[4:0] = SVC 0b10011, A/I/F masked (0x1c0), T = 0 (A32).
#define GS_el1h      0x3c5, false, false
#define GS_el1t      0x3c4, false, false
#define GS_el0       0x3c0, false, false
#define GS_a32_lpae  0x1d3, true, true
#define GS_a32_short 0x1d3, true, false
#define GS_ENTRY(id, name) {name, GS_##id},
static const struct gstate gstates[] = {HARNESS_GUEST_STATES(GS_ENTRY)};
#undef GS_ENTRY

const struct gstate *gstate_find(const char *name) {
	for (size_t i = 0; i < sizeof gstates / sizeof gstates[0]; i++)
		if (!strcmp(gstates[i].name, name)) return &gstates[i];
	return NULL;
}

static const unsigned char *stub_for(const struct access *a, bool a32) {
	static const unsigned char *const tab[2][2][4] = {
		{{s2c_stub_ld1w, s2c_stub_ld2w, s2c_stub_ld4w, s2c_stub_ld8w}, {s2c_stub_ld1, s2c_stub_ld2, s2c_stub_ld4, s2c_stub_ld8}},
		{{s2c_stub_st1w, s2c_stub_st2w, s2c_stub_st4w, s2c_stub_st8w}, {s2c_stub_st1, s2c_stub_st2, s2c_stub_st4, s2c_stub_st8}},
	};
	static const unsigned char *const tab32[2][2][3] = {
		{{s2c_a32_stub_ld1w, s2c_a32_stub_ld2w, s2c_a32_stub_ld4w}, {s2c_a32_stub_ld1, s2c_a32_stub_ld2, s2c_a32_stub_ld4}},
		{{s2c_a32_stub_st1w, s2c_a32_stub_st2w, s2c_a32_stub_st4w}, {s2c_a32_stub_st1, s2c_a32_stub_st2, s2c_a32_stub_st4}},
	};
	if (a->kind == ACCESS_IFETCH) return a32 ? s2c_a32_stub_ifetch : s2c_stub_ifetch;
	int si = a->size == 1 ? 0 : a->size == 2 ? 1 : a->size == 4 ? 2 : 3;
	if (a32) return tab32[a->kind][a->syndrome ? 1 : 0][si < 3 ? si : 2]; // op_run refuses size 8
	return tab[a->kind][a->syndrome ? 1 : 0][si];
}

static uint64_t mmio_data(const struct kvm_run *run) {
	uint64_t d = 0;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;
	memcpy(&d, run->mmio.data, len); // little-endian host
	return d;
}

// Completes a pending MMIO (or any) exit without entering the guest, so a later re-init starts clean.
static void flush_vcpu(struct vcpu *c) {
	if (c->run->exit_reason == KVM_EXIT_MMIO) {
		c->run->immediate_exit = 1;
		ioctl(c->fd, KVM_RUN, 0);
		c->run->immediate_exit = 0;
	}
}

void run_case(struct vm *v, const struct gstate *gs, const struct access *a, int64_t budget_ms, struct outcome *oc) {
	memset(oc, 0, sizeof *oc);
	const enum cpu_width width = gs->a32 ? CPU_A32 : CPU_A64;
	const char *e = vm_prepare_run(v, width);
	if (e) { oc->k = OC_ERROR; oc->error = e; v->tainted = true; return; }
	struct vcpu *c = &v->cpu[width];

	// ifetch into helper-backed memory: plant "str xzr, [x3]" (A32: "str r2, [r3]") so a fetch
	// that succeeds reports DONE.
	unsigned char *plant = NULL;
	uint32_t saved = 0;
	if (a->kind == ACCESS_IFETCH && (a->ipa & 3) == 0) {
		for (size_t i = 0; i < v->nslots; i++) {
			struct slotmap *s = &v->slots[i];
			if (s->addr && a->ipa >= s->gpa && a->ipa - s->gpa + 4 <= s->size && a->ipa - s->gpa + 4 <= s->len) {
				plant = (unsigned char *)s->addr + (a->ipa - s->gpa);
				memcpy(&saved, plant, 4);
				memcpy(plant, gs->a32 ? s2c_a32_planted : s2c_planted, 4);
				break;
			}
		}
	}

	int fd = c->fd;
	struct kvm_run *run = c->run;
	run->immediate_exit = 0;
	uint64_t pc = HARNESS_CODE_IPA + guest_off(stub_for(a, gs->a32)) + (a->spin ? 8 : 0);
	if (ioctl(fd, KVM_ARM_VCPU_INIT, &c->init) < 0) {
		int er = errno;
		oc->k = OC_ERROR;
		snprintf(oc->errbuf, sizeof oc->errbuf, "harness: KVM_ARM_VCPU_INIT (%s EL1) failed: %s%s", gs->a32 ? "AArch32" : "AArch64",
			 strerror(er), v->cpu[!width].fd >= 0 ? " (this VM has run the other register width: KVM gives a VM's vCPUs one width; use a fresh VM)" : "");
		oc->error = oc->errbuf;
		goto out;
	}
	bool ok;
	if (!gs->a32) {
		ok = set_one_reg(fd, REG_VBAR_EL1, HARNESS_CODE_IPA) == 0 &&
		     set_one_reg(fd, REG_PC, pc) == 0 &&
		     set_one_reg(fd, REG_PSTATE, gs->pstate) == 0 &&
		     set_one_reg(fd, REG_X(0), a->ipa) == 0 &&
		     set_one_reg(fd, REG_X(1), a->data) == 0 &&
		     set_one_reg(fd, REG_X(3), HARNESS_DONE_IPA) == 0;
	} else {
		enum a32_setup st = a32_setup_vcpu(v, fd, gs, a, pc);
		if (st == A32_SETUP_NO_ROOM) {
			oc->k = OC_ERROR;
			oc->error = "harness: a32-lpae translation tables do not fit their pool";
			goto out;
		}
		ok = st == A32_SETUP_OK;
	}
	if (!ok) {
		oc->k = OC_ERROR;
		snprintf(oc->errbuf, sizeof oc->errbuf, "harness: vCPU setup failed: %s", strerror(errno));
		oc->error = oc->errbuf;
		goto out;
	}
	int reports = 0;
	hang_arm(run, budget_ms);
	for (;;) {
		int rc = ioctl(fd, KVM_RUN, 0);
		if (rc < 0) {
			int er = errno;
			if (er == EINTR && hang_fired) { oc->k = OC_HANG; break; }
			if (er == EINTR) { run->immediate_exit = 0; continue; }
			oc->k = OC_RUN_ERRNO;
			oc->err = er;
			break;
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			uint64_t pa = run->mmio.phys_addr;
			if (pa == HARNESS_DONE_IPA && run->mmio.is_write) {
				oc->k = OC_COMPLETED;
				if (a->kind == ACCESS_LOAD) { oc->value = mmio_data(run); oc->has_value = true; }
				break;
			}
			if (pa >= HARNESS_REPORT_IPA && pa < HARNESS_REPORT_IPA + 24 && run->mmio.is_write) {
				uint64_t d = mmio_data(run);
				if (pa == HARNESS_REPORT_IPA) oc->vector = d, reports |= 1;
				else if (pa == HARNESS_REPORT_IPA + 8) oc->esr = d, reports |= 2;
				else if (pa == HARNESS_REPORT_IPA + 16) { oc->far = d; reports |= 4; oc->k = OC_EXCEPTION; break; }
				continue;
			}
			oc->k = OC_MMIO;
			oc->phys = pa;
			oc->len = run->mmio.len;
			oc->is_write = run->mmio.is_write;
			oc->data = run->mmio.is_write ? mmio_data(run) : 0;
			break;
		}
		if (run->exit_reason == KVM_EXIT_ARM_NISV) {
			oc->k = OC_NISV;
			oc->esr_iss = run->arm_nisv.esr_iss;
			oc->fault_ipa = run->arm_nisv.fault_ipa;
			break;
		}
		oc->k = OC_ERROR;
		snprintf(oc->errbuf, sizeof oc->errbuf, "harness: unexpected exit_reason %u", run->exit_reason);
		oc->error = oc->errbuf;
		break;
	}
	hang_disarm();
	flush_vcpu(c);
out:
	if (oc->k == OC_HANG || oc->k == OC_ERROR || oc->k == OC_RUN_ERRNO) v->tainted = true; // never parked
	run->immediate_exit = 0;
	if (plant) memcpy(plant, &saved, 4);
}

void op_run(struct req *r) {
	struct jp *j = r->j;
	struct vm *v = vm_find(jstr(j, jget(j, r->root, "vm")));
	if (!v) FAIL("run: no such vm");
	const char *state = jstr(j, jget(j, r->root, "state"));
	if (!state) FAIL("run: state must be a string");
	const struct gstate *gs = gstate_find(state);
	if (!gs) FAIL("run: unknown state '%.64s'", state);
	if (gs->a32 && ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_EL1_32BIT) <= 0)
		FAIL("unsupported: KVM_CAP_ARM_EL1_32BIT is 0 on this host (no AArch32 EL1)");
	int an = jget(j, r->root, "access");
	if (an < 0 || j->nodes[an].t != J_OBJ) FAIL("run: access must be an object");
	struct access a = {0};
	const char *kind = jstr(j, jget(j, an, "kind"));
	if (!kind) FAIL("run: access.kind must be a string");
	if (!strcmp(kind, "load")) a.kind = ACCESS_LOAD;
	else if (!strcmp(kind, "store")) a.kind = ACCESS_STORE;
	else if (!strcmp(kind, "ifetch")) a.kind = ACCESS_IFETCH;
	else FAIL("run: unknown access.kind '%s'", kind);
	int64_t size;
	if (!jint(j, jget(j, an, "size"), 1, 8, &size) || (size != 1 && size != 2 && size != 4 && size != 8))
		FAIL("run: access.size must be 1, 2, 4 or 8");
	if (a.kind == ACCESS_IFETCH && size != 4) FAIL("run: an ifetch has size 4");
	a.size = (int)size;
	if (!ju64(j, jget(j, an, "ipa"), &a.ipa)) FAIL("run: access.ipa must be \"0x..\"");
	int dn = jget(j, an, "data");
	if (dn >= 0 && !ju64(j, dn, &a.data)) FAIL("run: access.data must be \"0x..\"");
	int sv = jget(j, an, "syndromeValid");
	a.syndrome = true;
	if (sv >= 0) {
		if (j->nodes[sv].t != J_BOOL) FAIL("run: access.syndromeValid must be a boolean");
		a.syndrome = j->nodes[sv].b;
	}
	if (a.kind == ACCESS_IFETCH && !a.syndrome) FAIL("run: an ifetch has no syndromeValid=false variant");
	if (a.ipa < HARNESS_END)
		FAIL("run: IPA [0x%" PRIx64 ",0x%" PRIx64 ") belongs to the harness (code, DONE, REPORT)", (uint64_t)HARNESS_CODE_IPA, (uint64_t)HARNESS_END);
	if (gs->a32 && a.size == 8) FAIL("run: %s has no single-register 8-byte access (size 1, 2 or 4)", gs->name);
	if (gs->a32 && a.ipa >> (gs->lpae ? 40 : 32))
		FAIL("run: %s reaches IPAs below 2^%d only", gs->name, gs->lpae ? 40 : 32);
	int spn = jget(j, r->root, "spin");
	if (spn >= 0) {
		if (j->nodes[spn].t != J_BOOL) FAIL("run: spin must be a boolean");
		a.spin = j->nodes[spn].b;
	}
	int64_t budget = 2000;
	int bn = jget(j, r->root, "budgetMs");
	if (bn >= 0 && !jint(j, bn, 1, 600000, &budget)) FAIL("run: budgetMs must be 1..600000");
	int nn = jget(j, r->root, "nisvToUser");
	if (nn >= 0) {
		if (j->nodes[nn].t != J_BOOL) FAIL("run: nisvToUser must be a boolean");
		bool want = j->nodes[nn].b;
		if (want && !v->nisv) {
			struct kvm_enable_cap ec;
			memset(&ec, 0, sizeof ec);
			ec.cap = KVM_CAP_ARM_NISV_TO_USER;
			if (ioctl(v->fd, KVM_ENABLE_CAP, &ec) < 0) FAIL("run: enabling KVM_CAP_ARM_NISV_TO_USER failed: %s", strerror(errno));
			v->nisv = true;
		} else if (!want && v->nisv) {
			FAIL("run: KVM_CAP_ARM_NISV_TO_USER is enabled on this VM and cannot be disabled");
		}
	}
	struct outcome oc;
	run_case(v, gs, &a, budget, &oc);
	struct out *o = r->o;
	switch (oc.k) {
	case OC_COMPLETED:
		o_s(o, ",\"outcome\":\"completed\"");
		if (oc.has_value) { o_s(o, ",\"value\":"); o_hex(o, oc.value); }
		break;
	case OC_MMIO:
		o_s(o, ",\"outcome\":\"mmio\",\"physAddr\":"); o_hex(o, oc.phys);
		o_fmt(o, ",\"len\":%u,\"isWrite\":%s,\"data\":", oc.len, oc.is_write ? "true" : "false");
		o_hex(o, oc.data);
		break;
	case OC_NISV:
		o_s(o, ",\"outcome\":\"nisv\",\"esrIss\":"); o_hex(o, oc.esr_iss);
		o_s(o, ",\"faultIpa\":"); o_hex(o, oc.fault_ipa);
		break;
	case OC_RUN_ERRNO: o_fmt(o, ",\"outcome\":\"run_errno\",\"errno\":%d", oc.err); break;
	case OC_EXCEPTION:
		o_fmt(o, ",\"outcome\":\"exception\",\"vector\":%" PRIu64 ",\"esr\":", oc.vector); o_hex(o, oc.esr);
		o_s(o, ",\"far\":"); o_hex(o, oc.far);
		break;
	case OC_HANG: o_s(o, ",\"outcome\":\"hang\""); break;
	case OC_ERROR: o_s(o, ",\"error\":"); o_str(o, oc.error); break;
	}
}
