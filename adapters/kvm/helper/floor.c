// floor: what KVM itself costs, timed inside the helper with nothing of the protocol or
// the harness around it, as the floor under the adapter's per-case time.
//   {"op":"floor","loop":L,"n":N[,"budgetMs":B]} -> {"n":N,"ns":<total nanoseconds of the N iterations>}
//   fresh-vm    KVM_CREATE_VM, one 2 MiB memslot, KVM_CREATE_VCPU, KVM_ARM_VCPU_INIT, set PC, one
//               KVM_RUN to an MMIO exit, close everything
//   reuse-mmio  one VM and vCPU made before the clock starts, then N times: set PC, KVM_RUN to an
//               MMIO exit
//   memslot     on one VM, N times KVM_SET_USER_MEMORY_REGION add + delete
// The guest is the harness's st8 stub (str x1, [x0]; str x1, [x3]) in a 2 MiB slot at IPA 0, with x0
// and x3 both FLOOR_MMIO_IPA, outside every memslot.
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "s2c.h"

#define FLOOR_SLOT_SIZE (2ULL << 20)
#define FLOOR_MMIO_IPA (4ULL << 20)

enum floor_loop { FLOOR_FRESH_VM, FLOOR_REUSE_MMIO, FLOOR_MEMSLOT };

static const char *const floor_loops[] = {
	[FLOOR_FRESH_VM] = "fresh-vm",
	[FLOOR_REUSE_MMIO] = "reuse-mmio",
	[FLOOR_MEMSLOT] = "memslot",
};

// A VM, and its vCPU when made (fd -1 otherwise).
struct floor_vm {
	int vm, cpu;
	struct kvm_run *run;
};

// What failed, for the error response.
static char floor_err[160];

static const char *failed(const char *what) {
	snprintf(floor_err, sizeof floor_err, "%s failed: %s", what, strerror(errno));
	return floor_err;
}

static void floor_close(struct floor_vm *f) {
	hang_watch(NULL); // the timer must not touch a kvm_run being unmapped
	if (f->run) munmap(f->run, (size_t)vcpu_mmap_size);
	if (f->cpu >= 0) close(f->cpu);
	if (f->vm >= 0) close(f->vm);
	*f = (struct floor_vm){.vm = -1, .cpu = -1};
}

// Makes a VM; with `init`, also `mem` as its 2 MiB slot 0 at IPA 0 and vCPU 0, initialised, with
// x0 = x3 = FLOOR_MMIO_IPA (floor_mmio sets the PC). Returns NULL or what failed.
static const char *floor_open(struct floor_vm *f, void *mem, const struct kvm_vcpu_init *init) {
	*f = (struct floor_vm){.vm = -1, .cpu = -1};
	f->vm = ioctl(kvm_fd, KVM_CREATE_VM, 0UL);
	if (f->vm < 0) return failed("KVM_CREATE_VM");
	if (!init) return NULL;
	int e = do_set_region(f->vm, 0, 0, 0, FLOOR_SLOT_SIZE, (uint64_t)(uintptr_t)mem);
	if (e) { errno = e; return failed("KVM_SET_USER_MEMORY_REGION"); }
	f->cpu = ioctl(f->vm, KVM_CREATE_VCPU, 0UL);
	if (f->cpu < 0) return failed("KVM_CREATE_VCPU");
	void *run = mmap(NULL, (size_t)vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->cpu, 0);
	if (run == MAP_FAILED) return failed("mmap of kvm_run");
	f->run = run;
	if (ioctl(f->cpu, KVM_ARM_VCPU_INIT, init) < 0) return failed("KVM_ARM_VCPU_INIT");
	if (set_one_reg(f->cpu, REG_X(0), FLOOR_MMIO_IPA) || set_one_reg(f->cpu, REG_X(3), FLOOR_MMIO_IPA)) return failed("KVM_SET_ONE_REG");
	return NULL;
}

// One KVM_RUN to the MMIO exit at FLOOR_MMIO_IPA, the PC set back to the stub first. The previous
// exit's MMIO is still pending then, and KVM completes it on this KVM_RUN by stepping over the
// instruction at the PC we set: the guest runs the stub's second store, which exits the same way
// (and a kernel that did not step would run the first). Either way: one exit per call.
static const char *floor_mmio(struct floor_vm *f) {
	if (set_one_reg(f->cpu, REG_PC, guest_off(s2c_stub_st8))) return failed("KVM_SET_ONE_REG");
	for (;;) {
		if (!hang_watch(f->run)) return "budgetMs ran out";
		if (ioctl(f->cpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR) { f->run->immediate_exit = 0; continue; }
			return failed("KVM_RUN");
		}
		break;
	}
	if (f->run->exit_reason != KVM_EXIT_MMIO || f->run->mmio.phys_addr != FLOOR_MMIO_IPA) {
		snprintf(floor_err, sizeof floor_err, "KVM_RUN ended in exit_reason %u, not the MMIO exit at 0x%llx",
			 f->run->exit_reason, FLOOR_MMIO_IPA);
		return floor_err;
	}
	return NULL;
}

static const char *floor_loop(enum floor_loop loop, int64_t n, void *mem, const struct kvm_vcpu_init *init, uint64_t *ns) {
	struct floor_vm f;
	const char *e = NULL;
	uint64_t t0;
	switch (loop) {
	case FLOOR_FRESH_VM:
		t0 = now_ns();
		for (int64_t i = 0; i < n && !e; i++) {
			e = floor_open(&f, mem, init);
			if (!e) e = floor_mmio(&f);
			floor_close(&f);
		}
		*ns = now_ns() - t0;
		return e;
	case FLOOR_REUSE_MMIO:
		e = floor_open(&f, mem, init);
		t0 = now_ns();
		for (int64_t i = 0; i < n && !e; i++) e = floor_mmio(&f);
		*ns = now_ns() - t0;
		break;
	case FLOOR_MEMSLOT:
		e = floor_open(&f, mem, NULL);
		t0 = now_ns();
		for (int64_t i = 0; i < n && !e; i++) {
			int err = do_set_region(f.vm, 0, 0, 0, FLOOR_SLOT_SIZE, (uint64_t)(uintptr_t)mem);
			if (!err) err = do_set_region(f.vm, 0, 0, 0, 0, 0);
			if (err) { errno = err; e = failed("KVM_SET_USER_MEMORY_REGION"); }
		}
		*ns = now_ns() - t0;
		break;
	}
	floor_close(&f);
	return e;
}

void op_floor(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	const char *name = jstr(r->j, jget(r->j, r->root, "loop"));
	int loop = -1;
	for (size_t i = 0; name && i < sizeof floor_loops / sizeof floor_loops[0]; i++)
		if (!strcmp(name, floor_loops[i])) loop = (int)i;
	if (loop < 0) FAIL("floor: loop must be \"fresh-vm\", \"reuse-mmio\" or \"memslot\"");
	int64_t n, budget = 60000;
	if (!jint(r->j, jget(r->j, r->root, "n"), 0, 1000000, &n)) FAIL("floor: n must be 0..1000000");
	int bn = jget(r->j, r->root, "budgetMs");
	if (bn >= 0 && !jint(r->j, bn, 1, 600000, &budget)) FAIL("floor: budgetMs must be 1..600000");

	// Made once, outside the clock: the slot's memory (the guest code at its start) and the
	// vCPU init every VM's vCPU gets.
	void *mem = mmap(NULL, FLOOR_SLOT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) FAIL("floor: mmap failed: %s", strerror(errno));
	memcpy(mem, s2c_guest_start, (size_t)(s2c_guest_end - s2c_guest_start));
	struct kvm_vcpu_init init;
	memset(&init, 0, sizeof init);
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0UL);
	int err = vm < 0 || ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0 ? errno : 0;
	if (vm >= 0) close(vm);
	if (err) { munmap(mem, FLOOR_SLOT_SIZE); FAIL("floor: KVM_ARM_PREFERRED_TARGET failed: %s", strerror(err)); }

	uint64_t ns = 0;
	hang_arm(NULL, budget);
	const char *why = floor_loop((enum floor_loop)loop, n, mem, &init, &ns);
	hang_disarm();
	munmap(mem, FLOOR_SLOT_SIZE);
	if (why) FAIL("floor: %s: %s", floor_loops[loop], why);
	o_fmt(r->o, ",\"n\":%" PRId64 ",\"ns\":%" PRIu64, n, ns);
}
