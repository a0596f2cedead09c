// Standalone reproducer (docs/findings.md F4): on a CPU with the ARM erratum 834220 workaround
// (Cortex-A57 r0p0-r1p2; "CPU features: detected: ARM erratum 834220" in the boot log), a stage-2
// fault taken on a stage-1 table walk (ESR_EL2.S1PTW = 1) is never resolved from v6.15 on: the
// vCPU re-enters the guest forever and KVM_RUN returns only to a signal. Up to 6.14 KVM maps the
// table page and the guest goes on.
//
// The guest: MMU on, 4K granule, 39-bit VA, one level-1 block mapping VA [0, 1 GiB) to IPA [0, 1 GiB);
// its only table is at IPA 0x1000, in a page no access has touched yet, so the first instruction
// fetch walks stage 1 through an IPA stage 2 has not mapped: a translation fault with S1PTW = 1. The
// guest then stores to IPA 0x10000000, where no memslot is: KVM_EXIT_MMIO.
//
// Expected (6.12 and earlier; any CPU without 834220): "ok: KVM_EXIT_MMIO at 0x10000000".
// Seen on 6.16.12, 6.18.15, 6.19.14, 7.2.13, 7.3.4 under -cpu cortex-a57: "HANG".
//
// Build: aarch64-linux-gnu-gcc -static -O2 -o s1ptw-834220 s1ptw-834220.c
// Run:   ./s1ptw-834220          (on an arm64 host with /dev/kvm; also works as /init, then powers off)
// Exit:  0 ok, 1 hang, 2 setup error.

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, x) / sizeof(__u32)))
#define SCTLR_EL1 ARM64_SYS_REG(3, 0, 1, 0, 0)
#define TTBR0_EL1 ARM64_SYS_REG(3, 0, 2, 0, 0)
#define TCR_EL1 ARM64_SYS_REG(3, 0, 2, 0, 2)
#define MAIR_EL1 ARM64_SYS_REG(3, 0, 10, 2, 0)

#define MMIO_IPA 0x10000000ULL

static const uint32_t guest_code[] = {
	0xd2a20000, // movz x0, #0x1000, lsl #16   x0 = 0x10000000 (MMIO_IPA)
	0x52800841, // movz w1, #0x42
	0xb9000001, // str  w1, [x0]                -> KVM_EXIT_MMIO
	0x14000000, // b    .
};

static int die(const char *what) {
	printf("setup error: %s: %s\n", what, strerror(errno));
	return 2;
}

static int set_reg(int vcpu, uint64_t id, uint64_t v) {
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&v};
	return ioctl(vcpu, KVM_SET_ONE_REG, &r);
}

static void on_alarm(int sig) { (void)sig; }

static int reproduce(void) {
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) return die("open /dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	if (vm < 0) return die("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) return die("mmap");
	memcpy(mem, guest_code, sizeof guest_code);
	// level-1 table at IPA 0x1000: entry 0 = block, VA [0, 1 GiB) -> IPA 0, AttrIndx 0, inner shareable, AF
	uint64_t *l1 = (uint64_t *)(mem + 0x1000);
	l1[0] = 0x1 | (3ULL << 8) | (1ULL << 10);
	struct kvm_userspace_memory_region slot = {.slot = 0, .guest_phys_addr = 0, .memory_size = 0x2000, .userspace_addr = (uint64_t)(uintptr_t)mem};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot)) return die("KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu < 0) return die("KVM_CREATE_VCPU");
	struct kvm_vcpu_init init;
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init)) return die("KVM_ARM_PREFERRED_TARGET");
	if (ioctl(vcpu, KVM_ARM_VCPU_INIT, &init)) return die("KVM_ARM_VCPU_INIT");
	long run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) return die("mmap kvm_run");
	if (set_reg(vcpu, CORE_REG(regs.pc), 0) ||
	    set_reg(vcpu, CORE_REG(regs.pstate), 0x3c5) ||                 // EL1h, DAIF masked
	    set_reg(vcpu, MAIR_EL1, 0xff) ||                                // attr 0: Normal, write-back
	    set_reg(vcpu, TCR_EL1, 25 | (1 << 8) | (1 << 10) | (3 << 12) | (1ULL << 23)) || // T0SZ 25, WB, inner shareable, 4K, EPD1
	    set_reg(vcpu, TTBR0_EL1, 0x1000) ||
	    set_reg(vcpu, SCTLR_EL1, 0x30d00800 | 1 | (1 << 2) | (1 << 12))) // RES1 | M | C | I
		return die("KVM_SET_ONE_REG");
	struct sigaction sa = {.sa_handler = on_alarm};
	sigaction(SIGALRM, &sa, NULL);
	alarm(5);
	int r = ioctl(vcpu, KVM_RUN, 0);
	int err = errno;
	alarm(0);
	if (r < 0 && err == EINTR) {
		printf("HANG: KVM_RUN did not return within 5 s (a stage-2 fault on a stage-1 walk, S1PTW = 1, is never resolved)\n");
		return 1;
	}
	if (r < 0) { errno = err; return die("KVM_RUN"); }
	if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == MMIO_IPA && run->mmio.is_write) {
		printf("ok: KVM_EXIT_MMIO at 0x%llx\n", (unsigned long long)run->mmio.phys_addr);
		return 0;
	}
	printf("unexpected exit: reason %u\n", run->exit_reason);
	return 2;
}

int main(void) {
	bool as_init = getpid() == 1;
	if (as_init) {
		mkdir("/dev", 0755);
		mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	}
	int rc = reproduce();
	fflush(stdout);
	if (as_init) reboot(RB_POWER_OFF);
	return rc;
}
