// s2c-helper: what the helper's files share (see s2c-helper.c for the program and its protocol).
//
//   json.c      the JSON reader and writer of the line protocol
//   protocol.c  the request loop, the op table, the response line
//   vm.c        /dev/kvm, VMs, memslots, the vCPUs and code slot a run needs
//   run.c       one access case: vCPU set-up, KVM_RUN, hang timer, outcome decoding
//   a32.c       AArch32 vCPU set-up and the a32-lpae translation tables
//   diag.c      diagnostics: probe, batch, stats, ping, crash
//   floor.c     floor: bare KVM loops timed inside the helper (the benchmark's floor)
//   init.c      the guest's /init: mounts, kernel command line, console, power-off
//   io.c        the channel's output (out_fd, write_all) and idle time, shared by protocol.c and init.c
//   mte.c       VMM memory of each backing kind (mte family)
//   guest.S     the guest code
//   harness.h   the harness IPA map, generated from core/harness.ts (scripts/gen-harness-h.ts)
#ifndef S2C_H
#define S2C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <linux/kvm.h>

#include "harness.h"
#include "json.h"

#define PREFIX "@S2C@ "
#define MAX_LINE (64 * 1024)
#define MAX_VMS 192
#define MAX_NAME 64

// ---- guest code (guest.S) ----------------------------------------------------------------------

extern const unsigned char s2c_guest_start[], s2c_guest_end[], s2c_planted[];
extern const unsigned char s2c_stub_ld1[], s2c_stub_ld2[], s2c_stub_ld4[], s2c_stub_ld8[];
extern const unsigned char s2c_stub_st1[], s2c_stub_st2[], s2c_stub_st4[], s2c_stub_st8[];
extern const unsigned char s2c_stub_ld1w[], s2c_stub_ld2w[], s2c_stub_ld4w[], s2c_stub_ld8w[];
extern const unsigned char s2c_stub_st1w[], s2c_stub_st2w[], s2c_stub_st4w[], s2c_stub_st8w[];
extern const unsigned char s2c_stub_ifetch[];
extern const unsigned char s2c_a32_vectors[], s2c_a32_planted[];
extern const unsigned char s2c_a32_stub_ld1[], s2c_a32_stub_ld2[], s2c_a32_stub_ld4[];
extern const unsigned char s2c_a32_stub_st1[], s2c_a32_stub_st2[], s2c_a32_stub_st4[];
extern const unsigned char s2c_a32_stub_ld1w[], s2c_a32_stub_ld2w[], s2c_a32_stub_ld4w[];
extern const unsigned char s2c_a32_stub_st1w[], s2c_a32_stub_st2w[], s2c_a32_stub_st4w[];
extern const unsigned char s2c_a32_stub_ifetch[];

// Offset of a guest symbol in the code slot (= its IPA, the slot being at HARNESS_CODE_IPA 0).
static inline uint64_t guest_off(const unsigned char *sym) { return (uint64_t)(sym - s2c_guest_start); }

// ---- KVM state (vm.c) --------------------------------------------------------------------------

struct slotmap {
	uint32_t slot;
	void *addr;   // helper-owned ("auto") backing, or NULL
	size_t len;
	uint64_t gpa, size;
	uint64_t uaddr;
};

// KVM fixes a vCPU's features (KVM_ARM_VCPU_EL1_32BIT among them) at its first KVM_ARM_VCPU_INIT,
// so AArch64 and AArch32 states each get their own vCPU, created at the first run that needs it.
// (KVM also gives all vCPUs of a VM one register width: a VM runs AArch64 or AArch32 states, not both.)
// The value is also the KVM vcpu id.
enum cpu_width { CPU_A64, CPU_A32 };

struct vcpu {
	int fd;
	struct kvm_run *run;
	struct kvm_vcpu_init init;
};

struct vm {
	bool used;
	char name[MAX_NAME];
	int fd;
	struct vcpu cpu[2]; // [CPU_A64], [CPU_A32]
	bool code_installed;
	uint32_t code_slot;
	void *code_mem;
	bool nisv;
	struct slotmap *slots;
	size_t nslots, capslots;
	// VM reuse: the VM's type and the client's reuse key ("" = never parked); a parked VM has
	// no name and no client memslot, and waits for a create_vm with the same type and key
	uint64_t type;
	char reuse[MAX_NAME];
	bool parked, handed_again, tainted;
	uint64_t parked_at;
};

extern int kvm_fd;
extern const char *kvm_open_error;
extern long vcpu_mmap_size;
extern uint32_t nr_memslots;
extern struct vm vms[MAX_VMS];
extern long page_size;

void kvm_open(void);
struct vm *vm_find(const char *name);
struct slotmap *slot_find(struct vm *v, uint32_t slot);
void vm_clear(struct vm *v);
void vm_free(struct vm *v);
// KVM_SET_USER_MEMORY_REGION; returns 0 or the errno.
int do_set_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t uaddr);
// Makes the vCPU of one width and the code memslot if the VM lacks them; returns NULL or an error.
const char *vm_prepare_run(struct vm *v, enum cpu_width width);

int set_one_reg(int fd, uint64_t id, uint64_t val);
int get_one_reg(int fd, uint64_t id, uint64_t *val);

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#define REG_PC CORE_REG(regs.pc)
#define REG_PSTATE CORE_REG(regs.pstate)
#define REG_SP_EL1 CORE_REG(sp_el1)
#define REG_X(n) CORE_REG(regs.regs[n])
#define REG_VBAR_EL1 ARM64_SYS_REG(3, 0, 12, 0, 0)
#define REG_ID_AA64MMFR0_EL1 ARM64_SYS_REG(3, 0, 0, 7, 0)
// AArch32 EL1 views: SCTLR, TTBCR (TCR_EL1[31:0]), TTBR0 (64-bit with LPAE), MAIR0/MAIR1 (MAIR_EL1 low/high)
#define REG_SCTLR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 0)
#define REG_TTBR0_EL1 ARM64_SYS_REG(3, 0, 2, 0, 0)
#define REG_TCR_EL1 ARM64_SYS_REG(3, 0, 2, 0, 2)
#define REG_MAIR_EL1 ARM64_SYS_REG(3, 0, 10, 2, 0)

// ---- one access case (run.c, a32.c) -----------------------------------------------------------

enum access_kind { ACCESS_LOAD, ACCESS_STORE, ACCESS_IFETCH };

struct access {
	enum access_kind kind;
	int size;
	uint64_t ipa, data;
	bool syndrome;
	bool spin; // diagnostic: start at a branch-to-self instead of the access (tests hang detection)
};

// A guest state: PSTATE/CPSR at the stub, and for AArch32 whether TTBCR.EAE (LPAE) is set.
struct gstate {
	const char *name;
	uint64_t pstate;
	bool a32, lpae;
};

enum outcome_kind { OC_COMPLETED, OC_MMIO, OC_NISV, OC_RUN_ERRNO, OC_EXCEPTION, OC_HANG, OC_ERROR };
#define OC_KINDS (OC_ERROR + 1)

struct outcome {
	enum outcome_kind k;
	uint64_t value; bool has_value;
	uint64_t phys, data; uint32_t len; bool is_write;
	uint64_t esr_iss, fault_ipa;
	int err;
	uint64_t vector, esr, far;
	const char *error;
	char errbuf[160];
};

void hang_setup(void);
// Arms the hang timer for `ms`: when it fires, a KVM_RUN on `r` returns EINTR (or at once).
void hang_arm(struct kvm_run *r, int64_t ms);
void hang_disarm(void);
// Points the armed timer at another kvm_run (NULL while none is mapped); false once it has fired.
bool hang_watch(struct kvm_run *r);
const struct gstate *gstate_find(const char *name);
void run_case(struct vm *v, const struct gstate *gs, const struct access *a, int64_t budget_ms, struct outcome *oc);

// How an AArch32 vCPU set-up ended.
enum a32_setup { A32_SETUP_OK, A32_SETUP_IOCTL /* errno says why */, A32_SETUP_NO_ROOM /* tables do not fit */ };
enum a32_setup a32_setup_vcpu(struct vm *v, int fd, const struct gstate *gs, const struct access *a, uint64_t pc);

// ---- the channel's output (io.c) -------------------------------------------------------------

extern int out_fd;
// s2c.idle in ms (0: none): init.c sets it, serve() powers off after that long without input.
extern int idle_ms;
void write_all(int fd, const char *p, size_t n);

// ---- requests (protocol.c) --------------------------------------------------------------------

struct req {
	struct jp *j;
	int root;
	struct out *o;
};

// Answers the request with an error and returns from the op.
#define FAIL(...) do { o_s(r->o, ",\"error\":"); char _m[256]; snprintf(_m, sizeof _m, __VA_ARGS__); o_str(r->o, _m); return; } while (0)

void emit(struct out *o);
void flush_out(void);
void send_ready(bool is_init);
// Serves requests from in_fd until it ends (or s2c.idle passes without input).
void serve(int in_fd);

// Ops, each in the file of its job; protocol.c's op table names them.
void ensure_kvm(struct req *r, bool *ok);
void op_check_extension(struct req *r);
void op_create_vm(struct req *r);
void op_destroy_vm(struct req *r);
void op_enable_cap(struct req *r);
void op_set_memslot(struct req *r);
void op_backing(struct req *r);
void op_unbacking(struct req *r);
void op_backing_probe(struct req *r);
void op_run(struct req *r);
void op_probe(struct req *r);
void op_batch(struct req *r);
void op_stats(struct req *r);
void op_ping(struct req *r);
void op_crash(struct req *r);
void op_floor(struct req *r);
void op_shutdown(struct req *r);

// ---- the system (init.c) ----------------------------------------------------------------------

extern bool is_init;
void init_system(const char **tty);
int console_open(const char *tty);
void read_small_file(const char *path, char *buf, size_t cap);
void power_off(void) __attribute__((noreturn));

static inline uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
