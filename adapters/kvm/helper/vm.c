// VMs, memslots and vCPUs: /dev/kvm, the client's named VMs and their memslots, and what a run
// adds to a VM (one vCPU per register width, the read-only code memslot at IPA 0).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mte.h"
#include "s2c.h"

int kvm_fd = -1;
const char *kvm_open_error;
long vcpu_mmap_size;
uint32_t nr_memslots;
struct vm vms[MAX_VMS];
long page_size = 4096;

void kvm_open(void) {
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		static char e[128];
		snprintf(e, sizeof e, "cannot open /dev/kvm: %s", strerror(errno));
		kvm_open_error = e;
	} else {
		vcpu_mmap_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
		int nm = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
		nr_memslots = nm > 0 ? (uint32_t)nm : 32;
	}
}

void ensure_kvm(struct req *r, bool *ok) {
	*ok = kvm_fd >= 0;
	if (!*ok) { o_s(r->o, ",\"error\":"); o_str(r->o, kvm_open_error ? kvm_open_error : "no /dev/kvm"); }
}

struct vm *vm_find(const char *name) {
	if (!name) return NULL;
	for (int i = 0; i < MAX_VMS; i++)
		if (vms[i].used && !vms[i].parked && !strcmp(vms[i].name, name)) return &vms[i];
	return NULL;
}

// ---- reuse ---------------------------------------------------------------------------------------
//
// A client that creates a VM with "reuse":KEY promises that every case using KEY does the same
// things a fresh VM cannot tell apart from a used one: the same type, the same caps, one register
// width. destroy_vm then parks the VM instead of closing it: every client memslot is deleted (KVM
// unmaps its stage-2 range, the helper unmaps its memory), and the vCPU is reset by the
// KVM_ARM_VCPU_INIT every run starts with. The next create_vm with the same type and key gets it
// back. A VM whose last run hung, failed or errored is closed instead. Whether a case on a parked
// VM observes what it would on a fresh one is a property (abort/reuse-equivalence), not an assumption.

#define MAX_PARKED 160

static uint64_t park_clock;

static struct vm *oldest_parked(int *count) {
	struct vm *old = NULL;
	*count = 0;
	for (int i = 0; i < MAX_VMS; i++) {
		if (!vms[i].used || !vms[i].parked) continue;
		(*count)++;
		if (!old || vms[i].parked_at < old->parked_at) old = &vms[i];
	}
	return old;
}

// Deletes every client memslot; false if KVM refused one (the VM is then closed, not parked).
static bool clear_slots(struct vm *v) {
	bool ok = true;
	for (size_t i = 0; i < v->nslots; i++) {
		struct slotmap *s = &v->slots[i];
		if (do_set_region(v->fd, s->slot, 0, s->gpa, 0, 0)) ok = false;
		if (s->addr) munmap(s->addr, s->len);
	}
	v->nslots = 0;
	return ok;
}

static void vm_park(struct vm *v) {
	if (!clear_slots(v)) { vm_free(v); return; }
	v->parked = true;
	v->handed_again = false;
	v->name[0] = 0;
	v->parked_at = ++park_clock;
	int n;
	struct vm *old = oldest_parked(&n);
	if (n > MAX_PARKED && old) vm_free(old);
}

// A free entry; when all are taken, the longest-parked VM is closed to make one.
static struct vm *vm_slot(void) {
	for (int i = 0; i < MAX_VMS; i++)
		if (!vms[i].used) return &vms[i];
	int n;
	struct vm *old = oldest_parked(&n);
	if (old) vm_free(old);
	return old;
}

// The most recently parked VM of this type and key.
static struct vm *vm_unpark(uint64_t type, const char *key) {
	struct vm *best = NULL;
	for (int i = 0; i < MAX_VMS; i++) {
		struct vm *v = &vms[i];
		if (v->used && v->parked && v->type == type && !strcmp(v->reuse, key) && (!best || v->parked_at > best->parked_at)) best = v;
	}
	return best;
}

struct slotmap *slot_find(struct vm *v, uint32_t slot) {
	for (size_t i = 0; i < v->nslots; i++)
		if (v->slots[i].slot == slot) return &v->slots[i];
	return NULL;
}

static void slot_remove(struct vm *v, struct slotmap *s) {
	if (s->addr) munmap(s->addr, s->len);
	size_t i = (size_t)(s - v->slots);
	v->slots[i] = v->slots[v->nslots - 1];
	v->nslots--;
}

void vm_clear(struct vm *v) {
	memset(v, 0, sizeof *v);
	v->fd = v->cpu[CPU_A64].fd = v->cpu[CPU_A32].fd = -1;
}

void vm_free(struct vm *v) {
	for (int i = 0; i < 2; i++) {
		if (v->cpu[i].run) munmap(v->cpu[i].run, (size_t)vcpu_mmap_size);
		if (v->cpu[i].fd >= 0) close(v->cpu[i].fd);
	}
	if (v->fd >= 0) close(v->fd);
	for (size_t i = 0; i < v->nslots; i++)
		if (v->slots[i].addr) munmap(v->slots[i].addr, v->slots[i].len);
	free(v->slots);
	if (v->code_mem) munmap(v->code_mem, HARNESS_CODE_SIZE);
	vm_clear(v);
}

int set_one_reg(int fd, uint64_t id, uint64_t val) {
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&val};
	return ioctl(fd, KVM_SET_ONE_REG, &r);
}
int get_one_reg(int fd, uint64_t id, uint64_t *val) {
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
	return ioctl(fd, KVM_GET_ONE_REG, &r);
}

int do_set_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t uaddr) {
	struct kvm_userspace_memory_region m = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = uaddr};
	return ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &m) < 0 ? errno : 0;
}

void op_check_extension(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	int64_t cap;
	if (!jint(r->j, jget(r->j, r->root, "cap"), 0, INT32_MAX, &cap)) FAIL("check_extension: cap must be a number");
	int v = ioctl(kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
	if (v < 0) o_fmt(r->o, ",\"errno\":%d", errno);
	else o_fmt(r->o, ",\"value\":%d", v);
}

void op_create_vm(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	const char *name = jstr(r->j, jget(r->j, r->root, "vm"));
	uint64_t type;
	if (!name || !*name || strlen(name) >= MAX_NAME) FAIL("create_vm: vm must be a non-empty string shorter than %d", MAX_NAME);
	if (!ju64(r->j, jget(r->j, r->root, "type"), &type)) FAIL("create_vm: type must be \"0x..\"");
	if (vm_find(name)) FAIL("create_vm: vm '%s' exists", name);
	int rn = jget(r->j, r->root, "reuse");
	const char *key = rn >= 0 ? jstr(r->j, rn) : "";
	if (!key || strlen(key) >= MAX_NAME) FAIL("create_vm: reuse must be a string shorter than %d", MAX_NAME);
	struct vm *v = *key ? vm_unpark(type, key) : NULL;
	if (v) {
		v->parked = false;
		v->handed_again = true;
		snprintf(v->name, sizeof v->name, "%s", name);
		o_s(r->o, ",\"ok\":true,\"reused\":true");
		return;
	}
	v = vm_slot();
	if (!v) FAIL("create_vm: too many VMs (max %d)", MAX_VMS);
	int fd = ioctl(kvm_fd, KVM_CREATE_VM, (unsigned long)type);
	if (fd < 0) { o_fmt(r->o, ",\"errno\":%d", errno); return; }
	vm_clear(v);
	v->used = true;
	snprintf(v->name, sizeof v->name, "%s", name);
	snprintf(v->reuse, sizeof v->reuse, "%s", key);
	v->type = type;
	v->fd = fd;
	o_s(r->o, *key ? ",\"ok\":true,\"reused\":false" : ",\"ok\":true");
}

void op_destroy_vm(struct req *r) {
	struct vm *v = vm_find(jstr(r->j, jget(r->j, r->root, "vm")));
	if (!v) FAIL("destroy_vm: no such vm");
	// parked only if it ran one register width and nothing went wrong in it
	if (v->reuse[0] && !v->tainted && !(v->cpu[CPU_A64].fd >= 0 && v->cpu[CPU_A32].fd >= 0)) vm_park(v);
	else vm_free(v);
	o_s(r->o, ",\"ok\":true");
}

void op_enable_cap(struct req *r) {
	struct vm *v = vm_find(jstr(r->j, jget(r->j, r->root, "vm")));
	if (!v) FAIL("enable_cap: no such vm");
	int64_t cap, flags = 0;
	if (!jint(r->j, jget(r->j, r->root, "cap"), 0, INT32_MAX, &cap)) FAIL("enable_cap: cap must be a number");
	int fl = jget(r->j, r->root, "flags");
	if (fl >= 0 && !jint(r->j, fl, 0, UINT32_MAX, &flags)) FAIL("enable_cap: bad flags");
	struct kvm_enable_cap ec;
	memset(&ec, 0, sizeof ec);
	ec.cap = (uint32_t)cap;
	ec.flags = (uint32_t)flags;
	int args = jget(r->j, r->root, "args");
	if (args >= 0) {
		if (r->j->nodes[args].t != J_ARR) FAIL("enable_cap: args must be an array");
		int i = 0;
		for (int c = r->j->nodes[args].first; c >= 0; c = r->j->nodes[c].next, i++) {
			if (i >= 4) FAIL("enable_cap: at most 4 args");
			uint64_t a;
			if (!ju64(r->j, c, &a)) FAIL("enable_cap: args must be \"0x..\"");
			ec.args[i] = a;
		}
	}
	int rc = ioctl(v->fd, KVM_ENABLE_CAP, &ec);
	o_fmt(r->o, ",\"errno\":%d", rc < 0 ? errno : 0);
	if (rc == 0 && cap == KVM_CAP_ARM_NISV_TO_USER) v->nisv = true;
}

void op_set_memslot(struct req *r) {
	struct vm *v = vm_find(jstr(r->j, jget(r->j, r->root, "vm")));
	if (!v) FAIL("set_memslot: no such vm");
	int64_t slot, flags;
	uint64_t gpa, size, uaddr = 0;
	if (!jint(r->j, jget(r->j, r->root, "slot"), 0, UINT32_MAX, &slot)) FAIL("set_memslot: slot must be a u32 number");
	if (!jint(r->j, jget(r->j, r->root, "flags"), 0, UINT32_MAX, &flags)) FAIL("set_memslot: flags must be a u32 number");
	if (!ju64(r->j, jget(r->j, r->root, "gpa"), &gpa)) FAIL("set_memslot: gpa must be \"0x..\"");
	if (!ju64(r->j, jget(r->j, r->root, "size"), &size)) FAIL("set_memslot: size must be \"0x..\"");
	int un = jget(r->j, r->root, "uaddr");
	const char *us = jstr(r->j, un);
	bool autom = us && !strcmp(us, "auto");
	if (!autom && !ju64(r->j, un, &uaddr)) FAIL("set_memslot: uaddr must be \"0x..\" or \"auto\"");
	if (v->code_installed && (uint32_t)slot == v->code_slot && v->handed_again) {
		// a fresh VM would get its code slot at its first run, after this one: so move it there
		if (do_set_region(v->fd, v->code_slot, 0, HARNESS_CODE_IPA, 0, 0)) FAIL("set_memslot: cannot move the harness code slot %u", v->code_slot);
		v->code_installed = false;
	}
	if (v->code_installed && (uint32_t)slot == v->code_slot) FAIL("set_memslot: slot %u belongs to the harness (code at IPA 0)", v->code_slot);

	struct slotmap *old = slot_find(v, (uint32_t)slot);
	void *mem = NULL;
	size_t len = 0;
	if (autom && size > 0) {
		if (old && old->addr && old->size == size) {
			uaddr = (uint64_t)(uintptr_t)old->addr; // reuse: KVM requires the same uaddr on a modify
		} else {
			if (size > (uint64_t)SIZE_MAX - (uint64_t)page_size) FAIL("set_memslot: auto size too large");
			len = (size_t)((size + (uint64_t)page_size - 1) & ~((uint64_t)page_size - 1));
			mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
			if (mem == MAP_FAILED) FAIL("set_memslot: auto: mmap of 0x%" PRIx64 " bytes failed: %s", size, strerror(errno));
			uaddr = (uint64_t)(uintptr_t)mem;
		}
	}
	int e = do_set_region(v->fd, (uint32_t)slot, (uint32_t)flags, gpa, size, uaddr);
	if (e) {
		if (mem) munmap(mem, len);
	} else if (size == 0) {
		if (old) slot_remove(v, old);
	} else {
		if (old) {
			if (old->addr && old->addr != (void *)(uintptr_t)uaddr) { munmap(old->addr, old->len); old->addr = NULL; }
		} else {
			if (v->nslots == v->capslots) {
				size_t nc = v->capslots ? v->capslots * 2 : 8;
				struct slotmap *ns = realloc(v->slots, nc * sizeof *ns);
				if (!ns) {
					// Cannot track it: undo, so nothing leaks.
					do_set_region(v->fd, (uint32_t)slot, 0, gpa, 0, 0);
					if (mem) munmap(mem, len);
					FAIL("set_memslot: out of memory");
				}
				v->slots = ns;
				v->capslots = nc;
			}
			old = &v->slots[v->nslots++];
			memset(old, 0, sizeof *old);
			old->slot = (uint32_t)slot;
		}
		if (mem) { old->addr = mem; old->len = len; }
		old->gpa = gpa;
		old->size = size;
		old->uaddr = uaddr;
	}
	o_fmt(r->o, ",\"errno\":%d", e);
}

// The vCPU for one register width (created at its first run, after the client's memslots and caps)
// and the code memslot.
const char *vm_prepare_run(struct vm *v, enum cpu_width width) {
	static char err[160];
	struct vcpu *c = &v->cpu[width];
	if (c->fd < 0) {
		int fd = ioctl(v->fd, KVM_CREATE_VCPU, (unsigned long)width);
		if (fd < 0) { snprintf(err, sizeof err, "harness: KVM_CREATE_VCPU failed: %s", strerror(errno)); return err; }
		void *run = mmap(NULL, (size_t)vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (run == MAP_FAILED) { close(fd); snprintf(err, sizeof err, "harness: mmap kvm_run failed: %s", strerror(errno)); return err; }
		memset(&c->init, 0, sizeof c->init);
		if (ioctl(v->fd, KVM_ARM_PREFERRED_TARGET, &c->init) < 0) {
			munmap(run, (size_t)vcpu_mmap_size); close(fd);
			snprintf(err, sizeof err, "harness: KVM_ARM_PREFERRED_TARGET failed: %s", strerror(errno)); return err;
		}
		if (width == CPU_A32) c->init.features[0] |= 1U << KVM_ARM_VCPU_EL1_32BIT;
		c->fd = fd;
		c->run = run;
	}
	if (!v->code_installed) {
		if ((size_t)(s2c_guest_end - s2c_guest_start) > HARNESS_PT_L1_IPA) {
			snprintf(err, sizeof err, "harness: guest code overlaps the page tables at IPA 0x%" PRIx64, (uint64_t)HARNESS_PT_L1_IPA);
			return err;
		}
		if (!v->code_mem) {
			void *m = mmap(NULL, HARNESS_CODE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED) return "harness: mmap of code memory failed";
			memset(m, 0, HARNESS_CODE_SIZE); // populate every page: the page tables are written later
			memcpy(m, s2c_guest_start, (size_t)(s2c_guest_end - s2c_guest_start));
			v->code_mem = m;
		}
		// Highest slot id the client does not use.
		uint32_t slot = nr_memslots ? nr_memslots - 1 : 31;
		while (slot > 0 && slot_find(v, slot)) slot--;
		int e = do_set_region(v->fd, slot, KVM_MEM_READONLY, HARNESS_CODE_IPA, HARNESS_CODE_SIZE, (uint64_t)(uintptr_t)v->code_mem);
		if (e) {
			snprintf(err, sizeof err, "harness: cannot install the code memslot %u at IPA [0x%" PRIx64 ",0x%" PRIx64 "): %s (the harness owns IPA [0x%" PRIx64 ",0x%" PRIx64 "))",
				 slot, (uint64_t)HARNESS_CODE_IPA, (uint64_t)(HARNESS_CODE_IPA + HARNESS_CODE_SIZE), strerror(e), (uint64_t)HARNESS_CODE_IPA, (uint64_t)HARNESS_END);
			return err;
		}
		v->code_slot = slot;
		v->code_installed = true;
	}
	return NULL;
}

// ---- VMM memory for the mte family (mte.c writes the response fragment) ------------------------

void op_backing(struct req *r) {
	uint64_t at = 0, size = 0;
	char b[1024];
	int sh = jget(r->j, r->root, "shared");
	ju64(r->j, jget(r->j, r->root, "at"), &at);
	ju64(r->j, jget(r->j, r->root, "size"), &size);
	s2c_backing(jstr(r->j, jget(r->j, r->root, "kind")), sh >= 0 && r->j->nodes[sh].t == J_BOOL && r->j->nodes[sh].b, size, at, b, sizeof b);
	o_s(r->o, b);
}

void op_unbacking(struct req *r) {
	uint64_t at = 0, size = 0;
	char b[1024];
	ju64(r->j, jget(r->j, r->root, "at"), &at);
	ju64(r->j, jget(r->j, r->root, "size"), &size);
	s2c_unbacking(at, size, b, sizeof b);
	o_s(r->o, b);
}

void op_backing_probe(struct req *r) {
	char b[1024];
	s2c_backing_probe(b, sizeof b);
	o_s(r->o, b);
}
