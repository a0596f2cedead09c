// s2c-helper: the KVM side of the s2conform `kvm` adapter.
//
// Runs on an arm64 Linux with /dev/kvm: as /init of a QEMU guest (it then mounts devtmpfs, proc and
// sysfs itself and talks over the serial console named by `s2c.tty=` on the kernel command line), or
// as a plain program (native / ssh targets: stdin and stdout).
//
// Protocol: one JSON request per line in, one JSON response per line out, carrying the request's
// "id". Each response line starts with the prefix "@S2C@ " so the adapter can tell it from kernel
// console output. 64-bit values travel as "0x..." hex strings. See adapters/kvm/README.md.
//
// The helper must never crash on bad input: every malformed or impossible request gets
// {"id":..,"error":".."}.

#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <dirent.h>
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/kvm.h>
#include "harness.h" // the harness IPA map, generated from core/harness.ts
#include "mte.h"

#define PREFIX "@S2C@ "
#define MAX_LINE (64 * 1024)
#define MAX_NODES 512
#define MAX_VMS 64
#define MAX_NAME 64


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

static uint64_t guest_off(const unsigned char *sym) { return (uint64_t)(sym - s2c_guest_start); }

// ------------------------------------------------------------------------------------------------
// Output

struct out {
	char *buf;
	size_t n, cap;
	bool overflow;
};

static void o_raw(struct out *o, const char *s, size_t n) {
	if (o->n + n + 2 > o->cap) { o->overflow = true; return; }
	memcpy(o->buf + o->n, s, n);
	o->n += n;
}
static void o_s(struct out *o, const char *s) { o_raw(o, s, strlen(s)); }
static void o_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void o_fmt(struct out *o, const char *fmt, ...) {
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k < 0) return;
	o_raw(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}
static void o_str(struct out *o, const char *s) {
	o_s(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') { char e[2] = {'\\', (char)*p}; o_raw(o, e, 2); }
		else if (*p < 0x20 || *p >= 0x7f) o_fmt(o, "\\u%04x", *p);
		else o_raw(o, (const char *)p, 1);
	}
	o_s(o, "\"");
}
static void o_hex(struct out *o, uint64_t v) { o_fmt(o, "\"0x%" PRIx64 "\"", v); }

static int out_fd = 1;

static void write_all(int fd, const char *p, size_t n) {
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN) continue;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

// ------------------------------------------------------------------------------------------------
// A small JSON parser: strings are decoded in place in the request line.

enum jt { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
struct jv {
	enum jt t;
	const char *key; // member name when inside an object
	const char *s;   // J_STR: decoded, NUL-terminated; J_NUM: raw text start
	size_t slen;
	bool b;
	int first, next; // children / siblings (node indices, -1 = none)
};
struct jp {
	char *p, *end;
	struct jv nodes[MAX_NODES];
	int n;
	const char *err;
	int depth;
};

static void ws(struct jp *j) { while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')) j->p++; }

static int hexval(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

// Parses a string at j->p (which is at the opening quote); returns decoded start or NULL.
static char *jstring(struct jp *j, size_t *len) {
	char *w = ++j->p, *start = w;
	while (j->p < j->end) {
		char c = *j->p++;
		if (c == '"') { *w = 0; *len = (size_t)(w - start); return start; }
		if ((unsigned char)c < 0x20) { j->err = "control character in string"; return NULL; }
		if (c != '\\') { *w++ = c; continue; }
		if (j->p >= j->end) break;
		c = *j->p++;
		switch (c) {
		case '"': case '\\': case '/': *w++ = c; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			if (j->end - j->p < 4) { j->err = "bad \\u escape"; return NULL; }
			int v = 0;
			for (int i = 0; i < 4; i++) {
				int h = hexval(j->p[i]);
				if (h < 0) { j->err = "bad \\u escape"; return NULL; }
				v = v * 16 + h;
			}
			j->p += 4;
			// Only ASCII is meaningful in this protocol; anything else becomes '?'.
			*w++ = (v > 0 && v < 0x80) ? (char)v : '?';
			break;
		}
		default: j->err = "bad escape"; return NULL;
		}
	}
	j->err = "unterminated string";
	return NULL;
}

static int jvalue(struct jp *j);

static int jnew(struct jp *j, enum jt t) {
	if (j->n >= MAX_NODES) { j->err = "request too complex"; return -1; }
	struct jv *v = &j->nodes[j->n];
	memset(v, 0, sizeof *v);
	v->t = t;
	v->first = v->next = -1;
	return j->n++;
}

static int jcontainer(struct jp *j, bool obj) {
	int me = jnew(j, obj ? J_OBJ : J_ARR);
	if (me < 0) return -1;
	if (++j->depth > 16) { j->err = "nesting too deep"; return -1; }
	j->p++;
	ws(j);
	int last = -1;
	if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; j->depth--; return me; }
	for (;;) {
		const char *key = NULL;
		ws(j);
		if (obj) {
			if (j->p >= j->end || *j->p != '"') { j->err = "expected member name"; return -1; }
			size_t kl;
			key = jstring(j, &kl);
			if (!key) return -1;
			ws(j);
			if (j->p >= j->end || *j->p != ':') { j->err = "expected ':'"; return -1; }
			j->p++;
		}
		int c = jvalue(j);
		if (c < 0) return -1;
		j->nodes[c].key = key;
		if (last < 0) j->nodes[me].first = c; else j->nodes[last].next = c;
		last = c;
		ws(j);
		if (j->p < j->end && *j->p == ',') { j->p++; continue; }
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; j->depth--; return me; }
		j->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

static int jvalue(struct jp *j) {
	ws(j);
	if (j->p >= j->end) { j->err = "unexpected end"; return -1; }
	char c = *j->p;
	if (c == '{') return jcontainer(j, true);
	if (c == '[') return jcontainer(j, false);
	if (c == '"') {
		int me = jnew(j, J_STR);
		if (me < 0) return -1;
		size_t l;
		char *s = jstring(j, &l);
		if (!s) return -1;
		j->nodes[me].s = s;
		j->nodes[me].slen = l;
		return me;
	}
	if (c == 't' && j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) { int me = jnew(j, J_BOOL); if (me >= 0) { j->nodes[me].b = true; j->p += 4; } return me; }
	if (c == 'f' && j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) { int me = jnew(j, J_BOOL); if (me >= 0) j->p += 5; return me; }
	if (c == 'n' && j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) { int me = jnew(j, J_NULL); if (me >= 0) j->p += 4; return me; }
	if (c == '-' || (c >= '0' && c <= '9')) {
		int me = jnew(j, J_NUM);
		if (me < 0) return -1;
		j->nodes[me].s = j->p;
		while (j->p < j->end && (isdigit((unsigned char)*j->p) || (*j->p && strchr("+-.eE", *j->p)))) j->p++;
		j->nodes[me].slen = (size_t)(j->p - j->nodes[me].s);
		return me;
	}
	j->err = "unexpected character";
	return -1;
}

static int jget(struct jp *j, int obj, const char *key) {
	if (obj < 0 || j->nodes[obj].t != J_OBJ) return -1;
	for (int c = j->nodes[obj].first; c >= 0; c = j->nodes[c].next)
		if (j->nodes[c].key && !strcmp(j->nodes[c].key, key)) return c;
	return -1;
}

// An integer number (no fraction or exponent) in [min, max].
static bool jint(struct jp *j, int node, int64_t min, int64_t max, int64_t *out) {
	if (node < 0 || j->nodes[node].t != J_NUM) return false;
	const char *s = j->nodes[node].s;
	size_t n = j->nodes[node].slen, i = 0;
	bool neg = false;
	if (i < n && s[i] == '-') { neg = true; i++; }
	if (i >= n) return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) return false;
		if (v > (UINT64_MAX - 9) / 10) return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX) return false;
	int64_t r = neg ? -(int64_t)v : (int64_t)v;
	if (r < min || r > max) return false;
	*out = r;
	return true;
}

// A 64-bit value: "0x..." (1..16 hex digits) or a non-negative integer number.
static bool ju64(struct jp *j, int node, uint64_t *out) {
	if (node < 0) return false;
	if (j->nodes[node].t == J_NUM) {
		int64_t v;
		if (!jint(j, node, 0, INT64_MAX, &v)) return false;
		*out = (uint64_t)v;
		return true;
	}
	if (j->nodes[node].t != J_STR) return false;
	const char *s = j->nodes[node].s;
	size_t n = j->nodes[node].slen;
	if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
	uint64_t v = 0;
	for (size_t i = 2; i < n; i++) {
		int h = hexval(s[i]);
		if (h < 0) return false;
		v = (v << 4) | (uint64_t)h;
	}
	*out = v;
	return true;
}

static const char *jstr(struct jp *j, int node) {
	return (node >= 0 && j->nodes[node].t == J_STR) ? j->nodes[node].s : NULL;
}

// ------------------------------------------------------------------------------------------------
// KVM state

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
enum { CPU_A64, CPU_A32 };
struct vcpu {
	int fd;
	struct kvm_run *run;
	struct kvm_vcpu_init init;
};

struct vm {
	bool used;
	char name[MAX_NAME];
	int fd;
	struct vcpu cpu[2]; // [CPU_A64], [CPU_A32] (KVM vcpu ids 0 and 1)
	bool code_installed;
	uint32_t code_slot;
	void *code_mem;
	bool nisv;
	struct slotmap *slots;
	size_t nslots, capslots;
};

static int kvm_fd = -1;
static const char *kvm_open_error;
static long vcpu_mmap_size;
static uint32_t nr_memslots;
static struct vm vms[MAX_VMS];
static bool is_init;
static long page_size = 4096;

static struct vm *vm_find(const char *name) {
	if (!name) return NULL;
	for (int i = 0; i < MAX_VMS; i++)
		if (vms[i].used && !strcmp(vms[i].name, name)) return &vms[i];
	return NULL;
}

static struct slotmap *slot_find(struct vm *v, uint32_t slot) {
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

static void vm_clear(struct vm *v) {
	memset(v, 0, sizeof *v);
	v->fd = v->cpu[CPU_A64].fd = v->cpu[CPU_A32].fd = -1;
}

static void vm_free(struct vm *v) {
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

static int set_one_reg(int fd, uint64_t id, uint64_t val) {
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)&val};
	return ioctl(fd, KVM_SET_ONE_REG, &r);
}
static int get_one_reg(int fd, uint64_t id, uint64_t *val) {
	struct kvm_one_reg r = {.id = id, .addr = (uint64_t)(uintptr_t)val};
	return ioctl(fd, KVM_GET_ONE_REG, &r);
}

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

// ------------------------------------------------------------------------------------------------
// Hang detection: a per-thread timer whose signal handler sets kvm_run->immediate_exit, so a KVM_RUN
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

static void hang_setup(void) {
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

static void hang_arm(struct kvm_run *r, int64_t ms) {
	hang_fired = 0;
	hang_run = r;
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	if (hang_timer_ok) timer_settime(hang_timer, 0, &its, NULL);
}

static void hang_disarm(void) {
	struct itimerspec its;
	memset(&its, 0, sizeof its);
	if (hang_timer_ok) timer_settime(hang_timer, 0, &its, NULL);
	hang_run = NULL;
}

// ------------------------------------------------------------------------------------------------
// Ops

struct req {
	struct jp *j;
	int root;
	struct out *o;
};

#define FAIL(...) do { o_s(r->o, ",\"error\":"); char _m[256]; snprintf(_m, sizeof _m, __VA_ARGS__); o_str(r->o, _m); return; } while (0)

static void ensure_kvm(struct req *r, bool *ok) {
	*ok = kvm_fd >= 0;
	if (!*ok) { o_s(r->o, ",\"error\":"); o_str(r->o, kvm_open_error ? kvm_open_error : "no /dev/kvm"); }
}

static void read_small_file(const char *path, char *buf, size_t cap) {
	buf[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return;
	ssize_t k = read(fd, buf, cap - 1);
	close(fd);
	if (k < 0) k = 0;
	buf[k] = 0;
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' ')) buf[--k] = 0;
}

static bool ci_contains(const char *hay, const char *needle) {
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n)) return true;
	return false;
}

static void op_probe(struct req *r) {
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

static void op_check_extension(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	int64_t cap;
	if (!jint(r->j, jget(r->j, r->root, "cap"), 0, INT32_MAX, &cap)) FAIL("check_extension: cap must be a number");
	int v = ioctl(kvm_fd, KVM_CHECK_EXTENSION, (unsigned long)cap);
	if (v < 0) o_fmt(r->o, ",\"errno\":%d", errno);
	else o_fmt(r->o, ",\"value\":%d", v);
}

static void op_create_vm(struct req *r) {
	bool ok;
	ensure_kvm(r, &ok);
	if (!ok) return;
	const char *name = jstr(r->j, jget(r->j, r->root, "vm"));
	uint64_t type;
	if (!name || !*name || strlen(name) >= MAX_NAME) FAIL("create_vm: vm must be a non-empty string shorter than %d", MAX_NAME);
	if (!ju64(r->j, jget(r->j, r->root, "type"), &type)) FAIL("create_vm: type must be \"0x..\"");
	if (vm_find(name)) FAIL("create_vm: vm '%s' exists", name);
	struct vm *v = NULL;
	for (int i = 0; i < MAX_VMS; i++)
		if (!vms[i].used) { v = &vms[i]; break; }
	if (!v) FAIL("create_vm: too many VMs (max %d)", MAX_VMS);
	int fd = ioctl(kvm_fd, KVM_CREATE_VM, (unsigned long)type);
	if (fd < 0) { o_fmt(r->o, ",\"errno\":%d", errno); return; }
	vm_clear(v);
	v->used = true;
	snprintf(v->name, sizeof v->name, "%s", name);
	v->fd = fd;
	o_s(r->o, ",\"ok\":true");
}

static void op_destroy_vm(struct req *r) {
	struct vm *v = vm_find(jstr(r->j, jget(r->j, r->root, "vm")));
	if (!v) FAIL("destroy_vm: no such vm");
	vm_free(v);
	o_s(r->o, ",\"ok\":true");
}

static void op_enable_cap(struct req *r) {
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

static int do_set_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t uaddr) {
	struct kvm_userspace_memory_region m = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = uaddr};
	return ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &m) < 0 ? errno : 0;
}

static void op_set_memslot(struct req *r) {
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

// a32-lpae translation tables, in the code slot after the guest code (harness.h).
#define PT_END_IPA (HARNESS_PT_POOL_IPA + HARNESS_PT_POOL_PAGES * 0x1000ULL)

// The vCPU for one register width (created at its first run, after the client's memslots and caps)
// and the code memslot.
static const char *vm_prepare_run(struct vm *v, int width) {
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

enum outcome_kind { OC_COMPLETED, OC_MMIO, OC_NISV, OC_RUN_ERRNO, OC_EXCEPTION, OC_HANG, OC_ERROR };
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

struct access {
	int kind; // 0 load, 1 store, 2 ifetch
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

// AArch64: DAIF masked, M[3:0] = EL1h 0b0101, EL1t 0b0100, EL0t 0b0000.
// AArch32: M[4:0] = SVC 0b10011, A/I/F masked (0x1c0), T = 0 (A32).
static const struct gstate gstates[] = {
	{"el1h", 0x3c5, false, false},
	{"el1t", 0x3c4, false, false},
	{"el0", 0x3c0, false, false},
	{"a32-lpae", 0x1d3, true, true},
	{"a32-short", 0x1d3, true, false},
};

static const struct gstate *gstate_find(const char *name) {
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
	if (a->kind == 2) return a32 ? s2c_a32_stub_ifetch : s2c_stub_ifetch;
	int si = a->size == 1 ? 0 : a->size == 2 ? 1 : a->size == 4 ? 2 : 3;
	if (a32) return tab32[a->kind][a->syndrome ? 1 : 0][si < 3 ? si : 2]; // op_run refuses size 8
	return tab[a->kind][a->syndrome ? 1 : 0][si];
}

// ------------------------------------------------------------------------------------------------
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
	ok = ok && pt_map(&p, target, a->ipa, a->kind == 2 ? LD_ATTR(ATTR_NC) : LD_ATTR(ATTR_DEVICE) | LD_XN | LD_PXN);
	__sync_synchronize();
	return ok ? h : UINT64_MAX;
}

static void run_case(struct vm *v, const struct gstate *gs, const struct access *a, int64_t budget_ms, struct outcome *oc) {
	memset(oc, 0, sizeof *oc);
	const int width = gs->a32 ? CPU_A32 : CPU_A64;
	const char *e = vm_prepare_run(v, width);
	if (e) { oc->k = OC_ERROR; oc->error = e; return; }
	struct vcpu *c = &v->cpu[width];

	// ifetch into helper-backed memory: plant "str xzr, [x3]" (A32: "str r2, [r3]") so a fetch
	// that succeeds reports DONE.
	unsigned char *plant = NULL;
	uint32_t saved = 0;
	if (a->kind == 2 && (a->ipa & 3) == 0) {
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
		// a32-short: MMU off, VA = IPA (op_run keeps ipa below 4 GiB), TTBCR.EAE = 0.
		// a32-lpae: MMU on with the tables above, TTBCR.EAE = 1 for every address.
		uint64_t h = 0, sctlr = 0;
		if (gs->lpae) h = a32_lpae_tables(v, a);
		if (h == UINT64_MAX) {
			oc->k = OC_ERROR;
			oc->error = "harness: a32-lpae translation tables do not fit their pool";
			goto out;
		}
		ok = get_one_reg(fd, REG_SCTLR_EL1, &sctlr) == 0;
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
				if (a->kind == 0) { oc->value = mmio_data(run); oc->has_value = true; }
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
	run->immediate_exit = 0;
	if (plant) memcpy(plant, &saved, 4);
}

static void op_run(struct req *r) {
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
	if (!strcmp(kind, "load")) a.kind = 0;
	else if (!strcmp(kind, "store")) a.kind = 1;
	else if (!strcmp(kind, "ifetch")) a.kind = 2;
	else FAIL("run: unknown access.kind '%s'", kind);
	int64_t size;
	if (!jint(j, jget(j, an, "size"), 1, 8, &size) || (size != 1 && size != 2 && size != 4 && size != 8))
		FAIL("run: access.size must be 1, 2, 4 or 8");
	if (a.kind == 2 && size != 4) FAIL("run: an ifetch has size 4");
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
	if (a.kind == 2 && !a.syndrome) FAIL("run: an ifetch has no syndromeValid=false variant");
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

static uint64_t now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t xorshift(uint64_t *s) {
	uint64_t x = *s;
	x ^= x << 13; x ^= x >> 7; x ^= x << 17;
	return *s = x;
}

// batch: n generated access cases on one VM (default IPA size) with one backed slot, all inside the
// helper: the baseline for the adapter's per-case overhead.
static void op_batch(struct req *r) {
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
	uint64_t counts[7] = {0};
	uint64_t t0 = now_ns();
	for (int64_t i = 0; i < n; i++) {
		struct access a = {0};
		uint64_t x = xorshift(&seed);
		a.kind = (int)(x & 1);
		a.size = 1 << ((x >> 1) & 3);
		a.syndrome = true;
		a.data = x;
		switch ((x >> 3) % 3) {
		case 0: a.ipa = back_gpa + ((x >> 8) & (back_size - 8) & ~7ULL); break;                  // backed
		case 1: a.ipa = 0x200000 + (((x >> 8) % ((1ULL << ipa_bits) - 0x400000)) & ~7ULL); break; // MMIO
		default: a.ipa = (1ULL << ipa_bits) + ((x >> 8) & 0xffff8ULL); break;                       // beyond IPA size
		}
		struct outcome oc;
		run_case(&tmp, &gstates[0], &a, 2000, &oc);
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

static void op_stats(struct req *r) {
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
	int live = 0, owned = 0;
	for (int i = 0; i < MAX_VMS; i++) {
		if (!vms[i].used) continue;
		live++;
		for (int c = 0; c < 2; c++) owned += vms[i].cpu[c].run != NULL;
		owned += vms[i].code_mem != NULL;
		for (size_t s = 0; s < vms[i].nslots; s++) owned += vms[i].slots[s].addr != NULL;
	}
	o_fmt(r->o, ",\"fds\":%d,\"vmRssKb\":%ld,\"vmHwmKb\":%ld,\"vmSizeKb\":%ld,\"maps\":%d,\"vms\":%d,\"ownedMaps\":%d",
	      fds, status_kb(status, "VmRSS:"), status_kb(status, "VmHWM:"), status_kb(status, "VmSize:"), maps, live, owned);
}

static void power_off(void) {
	for (int i = 0; i < MAX_VMS; i++)
		if (vms[i].used) vm_free(&vms[i]);
	if (is_init) {
		sync();
		reboot(RB_POWER_OFF);
	}
	exit(0);
}

// ------------------------------------------------------------------------------------------------

static void emit(struct out *o) {
	if (o->overflow) {
		// Cannot say more than that: replace the whole response with an error.
		o->n = 0;
		o->overflow = false;
		o_s(o, "{\"id\":null,\"error\":\"response too large\"}");
	}
	char *line = malloc(o->n + sizeof PREFIX + 2);
	if (!line) return;
	memcpy(line, PREFIX, sizeof PREFIX - 1);
	memcpy(line + sizeof PREFIX - 1, o->buf, o->n);
	line[sizeof PREFIX - 1 + o->n] = '\n';
	write_all(out_fd, line, sizeof PREFIX + o->n);
	free(line);
}

static void handle_line(char *line, size_t len) {
	static struct jp j;
	static char obuf[128 * 1024];
	struct out o = {.buf = obuf, .n = 0, .cap = sizeof obuf};
	memset(&j, 0, sizeof j);
	j.p = line;
	j.end = line + len;
	ws(&j);
	if (j.p == j.end) return; // blank line
	int root = jvalue(&j);
	if (root >= 0) { ws(&j); if (j.p != j.end) { j.err = "trailing characters"; root = -1; } }
	if (root < 0 || j.nodes[root].t != J_OBJ) {
		o_s(&o, "{\"id\":null,\"error\":");
		o_str(&o, j.err ? j.err : "request must be a JSON object");
		o_s(&o, "}");
		emit(&o);
		return;
	}
	o_s(&o, "{\"id\":");
	int idn = jget(&j, root, "id");
	int64_t idv;
	if (idn >= 0 && j.nodes[idn].t == J_STR) o_str(&o, j.nodes[idn].s);
	else if (idn >= 0 && jint(&j, idn, INT64_MIN + 1, INT64_MAX, &idv)) o_fmt(&o, "%" PRId64, idv);
	else o_s(&o, "null");
	struct req r = {.j = &j, .root = root, .o = &o};
	const char *op = jstr(&j, jget(&j, root, "op"));
	uint64_t t_op = now_ns(); // time inside the helper (issue 14: where does a case's time go?)
	if (!op) { o_s(&o, ",\"error\":\"missing op\""); }
	else if (!strcmp(op, "probe")) op_probe(&r);
	else if (!strcmp(op, "check_extension")) op_check_extension(&r);
	else if (!strcmp(op, "create_vm")) op_create_vm(&r);
	else if (!strcmp(op, "destroy_vm")) op_destroy_vm(&r);
	else if (!strcmp(op, "enable_cap")) op_enable_cap(&r);
	else if (!strcmp(op, "set_memslot")) op_set_memslot(&r);
	else if (!strcmp(op, "run")) op_run(&r);
	else if (!strcmp(op, "batch")) op_batch(&r);
	else if (!strcmp(op, "ping")) o_s(&o, ",\"ok\":true");
	else if (!strcmp(op, "stats")) op_stats(&r);
	else if (!strcmp(op, "backing") || !strcmp(op, "unbacking") || !strcmp(op, "backing_probe")) { // mte.c
		uint64_t at = 0, size = 0; char b[1024]; int sh = jget(&j, root, "shared"); ju64(&j, jget(&j, root, "at"), &at); ju64(&j, jget(&j, root, "size"), &size);
		if (!strcmp(op, "backing")) s2c_backing(jstr(&j, jget(&j, root, "kind")), sh >= 0 && j.nodes[sh].t == J_BOOL && j.nodes[sh].b, size, at, b, sizeof b);
		else if (!strcmp(op, "unbacking")) s2c_unbacking(at, size, b, sizeof b); else s2c_backing_probe(b, sizeof b);
		o_s(&o, b); }
	else if (!strcmp(op, "crash")) _exit(70); // diagnostic (fault injection): die without answering
	else if (!strcmp(op, "shutdown")) { o_s(&o, ",\"ok\":true}"); emit(&o); power_off(); }
	else { o_s(&o, ",\"error\":"); char m[128]; snprintf(m, sizeof m, "unknown op '%.64s'", op); o_str(&o, m); }
	o_fmt(&o, ",\"helperNs\":%" PRIu64 "}", now_ns() - t_op);
	emit(&o);
}

// s2c.idle=<seconds>: power off after that long without input. The adapter pings well within it, so
// this only fires when the process that booted QEMU died without stopping it (SIGKILL): QEMU's stdio
// chardev does not pass the end of its input on to the guest, so nothing else would end the guest.
static int idle_ms;

static void init_system(const char **tty) {
	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	static char dev[64];
	char cmdline[4096];
	read_small_file("/proc/cmdline", cmdline, sizeof cmdline);
	const char *t = strstr(cmdline, "s2c.tty=");
	if (t) {
		t += 8;
		size_t n = strcspn(t, " \n");
		if (n > 0 && n < 40) { snprintf(dev, sizeof dev, "/dev/%.*s", (int)n, t); *tty = dev; }
	}
	const char *idle = strstr(cmdline, "s2c.idle=");
	if (idle) {
		long v = strtol(idle + 9, NULL, 10);
		if (v > 0 && v <= 86400) idle_ms = (int)(v * 1000);
	}
}

int main(int argc, char **argv) {
	// As /init of the QEMU guest (PID 1, no arguments) the helper sets the system up and powers it
	// off at the end. Anywhere else it runs only when asked with --native (the native and ssh
	// targets pass it), and then never mounts, reboots or changes the console log level.
	bool native = argc == 2 && !strcmp(argv[1], "--native");
	if (argc > 2 || (argc == 2 && !native)) {
		static const char m[] = "usage: s2c-helper [--native]\n";
		write_all(2, m, sizeof m - 1);
		return 2;
	}
	is_init = !native && getpid() == 1;
	if (!native && !is_init) {
		static const char m[] = PREFIX "{\"ready\":false,\"kvm\":false,\"error\":\"s2c-helper runs as /init of the QEMU guest; "
					"on a real host it needs --native\"}\n";
		write_all(1, m, sizeof m - 1);
		return 2;
	}
	const char *tty = NULL;
	if (is_init) init_system(&tty);
	page_size = sysconf(_SC_PAGESIZE);
	int in_fd = 0;
	if (tty) {
		int fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) { in_fd = out_fd = fd; }
	}
	struct termios tio;
	if (tcgetattr(in_fd, &tio) == 0) {
		// Raw: no echo, no canonical mode (no line-length limit), no output processing.
		cfmakeraw(&tio);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		tcsetattr(in_fd, TCSANOW, &tio);
	}
	if (is_init) klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1); // keep the console quiet from now on
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_VMS; i++) vm_clear(&vms[i]);
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
	hang_setup();
	{
		static char rb[512];
		struct out o = {.buf = rb, .n = 0, .cap = sizeof rb};
		o_s(&o, "{\"ready\":true,\"kvm\":");
		o_s(&o, kvm_fd >= 0 ? "true" : "false");
		if (kvm_fd < 0) { o_s(&o, ",\"error\":"); o_str(&o, kvm_open_error); }
		o_fmt(&o, ",\"init\":%s}", is_init ? "true" : "false");
		emit(&o);
	}

	static char buf[MAX_LINE + 1];
	size_t have = 0;
	bool discarding = false;
	for (;;) {
		if (idle_ms > 0) {
			struct pollfd pfd = {.fd = in_fd, .events = POLLIN};
			int pr = poll(&pfd, 1, idle_ms);
			if (pr < 0 && errno == EINTR) continue;
			if (pr == 0) {
				static const char m[] = "s2c-helper: no input within s2c.idle: powering off\n";
				write_all(2, m, sizeof m - 1);
				break;
			}
		}
		ssize_t k = read(in_fd, buf + have, MAX_LINE - have);
		if (k < 0 && errno == EINTR) continue;
		if (k <= 0) break;
		have += (size_t)k;
		size_t start = 0;
		for (size_t i = 0; i < have; i++) {
			if (buf[i] != '\n') continue;
			if (!discarding) handle_line(buf + start, i - start);
			discarding = false;
			start = i + 1;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == MAX_LINE) {
			if (!discarding) {
				static char eb[128];
				struct out e = {.buf = eb, .n = 0, .cap = sizeof eb};
				o_s(&e, "{\"id\":null,\"error\":\"request line too long\"}");
				emit(&e);
			}
			discarding = true;
			have = 0;
		}
	}
	power_off();
	return 0;
}
