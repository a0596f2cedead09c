// Diagnostics: what the host is (probe), the helper's own per-case floor (batch), what the helper
// holds (stats), and the fault-injection and liveness ops (crash, ping).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "s2c.h"

static bool ci_contains(const char *hay, const char *needle) {
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n)) return true;
	return false;
}

void op_probe(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	struct out *o = r->o;
	struct utsname u;
	uname(&u);
	o_fmt(o, ",\"api\":%d", ioctl(kvm_fd, KVM_GET_API_VERSION, 0));
	o_fmt(o, ",\"ipaLimit\":%d", ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_VM_IPA_SIZE));
	o_s(o, ",\"release\":"); o_str(o, u.release);
	o_s(o, ",\"machine\":"); o_str(o, u.machine);
	// the page size and the upstream release (Debian's release string lacks the sublevel)
	o_fmt(o, ",\"pageSize\":%d", getpagesize());
	char ver[512];
	read_small_file("/proc/version", ver, sizeof ver);
	if (ver[0]) { o_s(o, ",\"procVersion\":"); o_str(o, ver); }
	char midr[64];
	read_small_file("/sys/devices/system/cpu/cpu0/regs/identification/midr_el1", midr, sizeof midr);
	if (midr[0]) { o_s(o, ",\"midr\":"); o_hex(o, strtoull(midr, NULL, 0)); }

	// Boot log lines about KVM (and the mode line).
	static char kmsg[64 * 1024];
	size_t kn = 0;
	const char *mode = NULL;
	int kf = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	o_s(o, ",\"kmsg\":[");
	int nlines = 0;
	if (kf >= 0) {
		for (;;) {
			ssize_t k = read(kf, kmsg, sizeof kmsg - 1);
			if (k < 0 && errno == EPIPE) continue; // overwritten records
			if (k <= 0) break;
			kmsg[k] = 0;
			char *text = strchr(kmsg, ';');
			if (!text) continue;
			text++;
			char *nl = strchr(text, '\n');
			if (nl) *nl = 0;
			// 6.1: "VHE mode", "Hyp mode" (nVHE), "Protected nVHE mode"; 6.12: "Hyp nVHE mode",
			// "Hyp hVHE mode" and "Protected hVHE mode" (hVHE: the nVHE hypervisor run with E2H=1).
			if (strstr(text, "mode initialized successfully")) {
				if (strstr(text, "Protected ")) mode = "protected";
				else if (strstr(text, "nVHE mode") || strstr(text, "hVHE mode") || strstr(text, "Hyp mode")) mode = "nvhe";
				else if (strstr(text, "VHE mode")) mode = "vhe";
			}
			if ((ci_contains(text, "kvm") || ci_contains(text, "hyp") || ci_contains(text, "IPA")) && nlines < 60) {
				if (nlines++) o_s(o, ",");
				o_str(o, text);
				kn += (size_t)k;
			}
		}
		close(kf);
	}
	(void)kn;
	o_s(o, "]");
	if (!mode) {
		char cmdline[4096];
		read_small_file("/proc/cmdline", cmdline, sizeof cmdline);
		if (strstr(cmdline, "kvm-arm.mode=protected")) mode = "protected";
		else if (strstr(cmdline, "kvm-arm.mode=nvhe")) mode = "nvhe";
	}
	if (mode) { o_s(o, ",\"mode\":"); o_str(o, mode); }

	// PARange the guest sees: ID_AA64MMFR0_EL1 of a scratch vCPU.
	int vmfd = ioctl(kvm_fd, KVM_CREATE_VM, 0UL);
	if (vmfd >= 0) {
		int vcpu = ioctl(vmfd, KVM_CREATE_VCPU, 0UL);
		struct kvm_vcpu_init init;
		memset(&init, 0, sizeof init);
		uint64_t mmfr0;
		if (vcpu >= 0 && ioctl(vmfd, KVM_ARM_PREFERRED_TARGET, &init) == 0 &&
		    ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) == 0 && get_one_reg(vcpu, REG_ID_AA64MMFR0_EL1, &mmfr0) == 0) {
			o_fmt(o, ",\"parange\":%u", (unsigned)(mmfr0 & 0xf));
			o_s(o, ",\"mmfr0\":"); o_hex(o, mmfr0);
		}
		if (vcpu >= 0) close(vcpu);
		close(vmfd);
	}
	static const int caps[] = {KVM_CAP_ARM_NISV_TO_USER, 205 /* KVM_CAP_ARM_MTE */, KVM_CAP_ARM_EL1_32BIT,
				   KVM_CAP_NR_MEMSLOTS, KVM_CAP_ARM_VM_IPA_SIZE};
	o_s(o, ",\"caps\":{");
	for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
		o_fmt(o, "%s\"%d\":%d", i ? "," : "", caps[i], ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i]));
	o_s(o, "}");
}

static uint64_t xorshift(uint64_t *s) {
	uint64_t x = *s;
	x ^= x << 13; x ^= x >> 7; x ^= x << 17;
	return *s = x;
}

// batch: n generated access cases on one VM (default IPA size) with one backed slot, all inside the
// helper: the baseline for the adapter's per-case overhead.
void op_batch(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	const char *family = jstr(r->j, jget(r->j, r->root, "family"));
	if (!family || strcmp(family, "access")) FAIL("batch: family must be \"access\"");
	int64_t n;
	uint64_t seed = 1;
	if (!jint(r->j, jget(r->j, r->root, "n"), 0, 1000000, &n)) FAIL("batch: n must be 0..1000000");
	int sn = jget(r->j, r->root, "seed");
	if (sn >= 0 && !ju64(r->j, sn, &seed)) FAIL("batch: bad seed");
	if (!seed) seed = 1;
	const struct gstate *el1h = gstate_find("el1h");
	struct vm tmp;
	vm_clear(&tmp);
	tmp.fd = ioctl(kvm_fd, KVM_CREATE_VM, 0UL);
	if (tmp.fd < 0) FAIL("batch: KVM_CREATE_VM failed: %s", strerror(errno));
	int ipa_bits = 40;
	const uint64_t back_gpa = 0x100000, back_size = 0x10000;
	void *mem = mmap(NULL, back_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) { vm_free(&tmp); FAIL("batch: mmap failed"); }
	tmp.slots = calloc(1, sizeof *tmp.slots);
	if (!tmp.slots) { munmap(mem, back_size); vm_free(&tmp); FAIL("batch: out of memory"); }
	tmp.slots[0] = (struct slotmap){.slot = 0, .addr = mem, .len = back_size, .gpa = back_gpa, .size = back_size, .uaddr = (uint64_t)(uintptr_t)mem};
	tmp.nslots = tmp.capslots = 1;
	if (do_set_region(tmp.fd, 0, 0, back_gpa, back_size, (uint64_t)(uintptr_t)mem)) { vm_free(&tmp); FAIL("batch: memslot failed"); }
	uint64_t counts[OC_KINDS] = {0};
	uint64_t t0 = now_ns();
	for (int64_t i = 0; i < n; i++) {
		struct access a = {0};
		uint64_t x = xorshift(&seed);
		a.kind = (x & 1) ? ACCESS_STORE : ACCESS_LOAD;
		a.size = 1 << ((x >> 1) & 3);
		a.syndrome = true;
		a.data = x;
		switch ((x >> 3) % 3) {
		case 0: a.ipa = back_gpa + ((x >> 8) & (back_size - 8) & ~7ULL); break;                  // backed
		case 1: a.ipa = 0x200000 + (((x >> 8) % ((1ULL << ipa_bits) - 0x400000)) & ~7ULL); break; // MMIO
		default: a.ipa = (1ULL << ipa_bits) + ((x >> 8) & 0xffff8ULL); break;                       // beyond IPA size
		}
		struct outcome oc;
		run_case(&tmp, el1h, &a, 2000, &oc);
		counts[oc.k]++;
		if (oc.k == OC_ERROR) { vm_free(&tmp); FAIL("batch: case %" PRId64 ": %s", i, oc.error); }
	}
	uint64_t dt = now_ns() - t0;
	vm_free(&tmp);
	o_fmt(r->o, ",\"n\":%" PRId64 ",\"ns\":%" PRIu64, n, dt);
	o_fmt(r->o, ",\"counts\":{\"completed\":%" PRIu64 ",\"mmio\":%" PRIu64 ",\"exception\":%" PRIu64 ",\"other\":%" PRIu64 "}",
	      counts[OC_COMPLETED], counts[OC_MMIO], counts[OC_EXCEPTION], counts[OC_NISV] + counts[OC_RUN_ERRNO] + counts[OC_HANG]);
}

// stats: what the helper holds, for soak runs (adapters/kvm/README.md): open descriptors, memory,
// live VMs and helper-owned mappings.
static long status_kb(const char *status, const char *key) {
	const char *p = strstr(status, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

// {"op":"stats","dropCaches":true} first drops the guest kernel's clean caches (drop_caches 3), so what
// MemAvailable and SUnreclaim then show is what is really held (a leak grows there, a cache does not).
void op_stats(struct req *r) {
	int dc = jget(r->j, r->root, "dropCaches");
	if (dc >= 0 && r->j->nodes[dc].t == J_BOOL && r->j->nodes[dc].b) {
		sync();
		int f = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
		if (f >= 0) {
			if (write(f, "3\n", 2) < 0) { /* not fatal: the figures are then with caches */ }
			close(f);
		}
	}
	int fds = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.') fds++;
		closedir(d);
		fds--; // the directory's own descriptor
	}
	static char status[8192];
	read_small_file("/proc/self/status", status, sizeof status);
	int maps = 0;
	int mf = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (mf >= 0) {
		char b[4096];
		ssize_t k;
		while ((k = read(mf, b, sizeof b)) > 0)
			for (ssize_t i = 0; i < k; i++) maps += b[i] == '\n';
		close(mf);
	}
	int live = 0, owned = 0, parked = 0;
	for (int i = 0; i < MAX_VMS; i++) {
		if (!vms[i].used) continue;
		if (vms[i].parked) parked++;
		else live++;
		for (int c = 0; c < 2; c++) owned += vms[i].cpu[c].run != NULL;
		owned += vms[i].code_mem != NULL;
		for (size_t s = 0; s < vms[i].nslots; s++) owned += vms[i].slots[s].addr != NULL;
	}
	// the guest kernel's own memory: what KVM's per-VM allocations (stage-2 tables, vCPU state) come from
	static char meminfo[4096];
	read_small_file("/proc/meminfo", meminfo, sizeof meminfo);
	o_fmt(r->o, ",\"fds\":%d,\"vmRssKb\":%ld,\"vmHwmKb\":%ld,\"vmSizeKb\":%ld,\"maps\":%d,\"vms\":%d,\"parked\":%d,\"ownedMaps\":%d,\"memAvailableKb\":%ld,\"slabKb\":%ld,\"sUnreclaimKb\":%ld",
	      fds, status_kb(status, "VmRSS:"), status_kb(status, "VmHWM:"), status_kb(status, "VmSize:"), maps, live, parked, owned,
	      status_kb(meminfo, "MemAvailable:"), status_kb(meminfo, "Slab:"), status_kb(meminfo, "SUnreclaim:"));
	// the rest of the guest kernel's memory, by kind: where a slow loss shows which allocator holds it
	static const char *const kinds[] = {"MemFree", "Cached", "SReclaimable", "KernelStack", "PageTables", "SecPageTables", "Percpu", "VmallocUsed", "AnonPages", "Shmem", "Buffers"};
	o_s(r->o, ",\"meminfoKb\":{");
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		char key[32];
		snprintf(key, sizeof key, "%s:", kinds[i]);
		o_fmt(r->o, "%s\"%s\":%ld", i ? "," : "", kinds[i], status_kb(meminfo, key));
	}
	o_s(r->o, "}");
	// pages on the per-CPU free lists: free, but not in MemFree (mm/page_alloc.c pcp lists; their size is tuned at run time)
	static char zoneinfo[32768];
	read_small_file("/proc/zoneinfo", zoneinfo, sizeof zoneinfo);
	long pcp = 0;
	for (const char *p = zoneinfo; (p = strstr(p, "count: ")); p += 7) pcp += strtol(p + 7, NULL, 10);
	o_fmt(r->o, ",\"pcpKb\":%ld", pcp * (getpagesize() / 1024));
}

void op_ping(struct req *r) { o_s(r->o, ",\"ok\":true"); }

// Fault injection: die without answering (as /init this panics the guest and QEMU ends).
void op_crash(struct req *r) {
	(void)r;
	flush_out(); // what was answered before it still goes out
	_exit(70);
}
