// The line protocol: one JSON request per line in, one response line out ("@S2C@ " + JSON with the
// request's id and helperNs), ops dispatched by name through the op table below.
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2c.h"

// Responses to the lines of one read are written together (one virtio-console kick, not one per
// response): under TCG each write costs a guest exit. Nothing waits long in the buffer: it is flushed
// when the input has no complete line left, before an op that may block (a KVM_RUN can hang for its
// whole budget, and the adapter's watchdog must not see earlier answers held back), and before any op
// once what it holds is FLUSH_NS old.
static char pend[256 * 1024];
static size_t npend;
static uint64_t pend_since;
#define FLUSH_NS 20000000ULL

void flush_out(void) {
	if (npend) write_all(out_fd, pend, npend);
	npend = 0;
}

void emit(struct out *o) {
	if (o->overflow) {
		// Cannot say more than that: replace the whole response with an error.
		o->n = 0;
		o->overflow = false;
		o_s(o, "{\"id\":null,\"error\":\"response too large\"}");
	}
	size_t need = sizeof PREFIX + o->n;
	if (npend + need > sizeof pend) flush_out();
	if (need > sizeof pend) { // larger than the buffer: on its own
		write_all(out_fd, PREFIX, sizeof PREFIX - 1);
		write_all(out_fd, o->buf, o->n);
		write_all(out_fd, "\n", 1);
		return;
	}
	if (npend == 0) pend_since = now_ns();
	memcpy(pend + npend, PREFIX, sizeof PREFIX - 1);
	memcpy(pend + npend + sizeof PREFIX - 1, o->buf, o->n);
	pend[npend + sizeof PREFIX - 1 + o->n] = '\n';
	npend += need;
}

// Answers without helperNs, then powers off (as /init) or exits.
void op_shutdown(struct req *r) {
	o_s(r->o, ",\"ok\":true}");
	emit(r->o);
	flush_out();
	power_off();
}

// Every op the helper answers. adapters/kvm/README.md's protocol table lists each name (a test
// checks it); the text here says what the op is for.
struct op {
	const char *name;
	void (*fn)(struct req *r);
	const char *what;
	bool blocks; // runs a vCPU: may take as long as its budget
};

static const struct op ops[] = {
	{"probe", op_probe, "what the host is: KVM API, IPA limit, release, mode, PARange, caps, KVM boot log", false},
	{"check_extension", op_check_extension, "KVM_CHECK_EXTENSION on /dev/kvm", false},
	{"create_vm", op_create_vm, "KVM_CREATE_VM under a client-chosen name", false},
	{"destroy_vm", op_destroy_vm, "close a VM with its vCPUs and helper-owned memory", false},
	{"enable_cap", op_enable_cap, "KVM_ENABLE_CAP on a VM", false},
	{"set_memslot", op_set_memslot, "KVM_SET_USER_MEMORY_REGION, with helper-owned (\"auto\") backing", false},
	{"run", op_run, "one access case from a guest state: its outcome", true},
	{"batch", op_batch, "n generated access cases inside the helper (per-case floor)", true},
	{"ping", op_ping, "liveness (the adapter's keepalive)", false},
	{"stats", op_stats, "descriptors, memory, VMs and mappings the helper holds (soak)", false},
	{"backing", op_backing, "mte family: map VMM memory of one backing kind", false},
	{"unbacking", op_unbacking, "mte family: unmap it", false},
	{"backing_probe", op_backing_probe, "mte family: which backing kinds this host cannot make", false},
	{"floor", op_floor, "n iterations of a bare KVM loop (fresh-vm, reuse-mmio, memslot), timed in the helper", true},
	{"crash", op_crash, "fault injection: exit without answering", false},
	{"shutdown", op_shutdown, "answer, then power off", false},
};

static const struct op *op_find(const char *name) {
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (!strcmp(ops[i].name, name)) return &ops[i];
	return NULL;
}

static void handle_line(char *line, size_t len) {
	static struct jp j;
	static char obuf[128 * 1024];
	struct out o = {.buf = obuf, .n = 0, .cap = sizeof obuf};
	memset(&j, 0, sizeof j);
	j.p = line;
	j.end = line + len;
	jws(&j);
	if (j.p == j.end) return; // blank line
	int root = jvalue(&j);
	if (root >= 0) { jws(&j); if (j.p != j.end) { j.err = "trailing characters"; root = -1; } }
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
	const char *name = jstr(&j, jget(&j, root, "op"));
	const struct op *op = name ? op_find(name) : NULL;
	if (npend && (now_ns() - pend_since > FLUSH_NS || (op && op->blocks))) flush_out();
	uint64_t t_op = now_ns(); // time inside the helper (where does a case's time go? scripts/timesplit.ts)
	if (!name) {
		o_s(&o, ",\"error\":\"missing op\"");
	} else if (op) {
		op->fn(&r);
	} else {
		char m[128];
		snprintf(m, sizeof m, "unknown op '%.64s'", name);
		o_s(&o, ",\"error\":");
		o_str(&o, m);
	}
	o_fmt(&o, ",\"helperNs\":%" PRIu64 "}", now_ns() - t_op);
	emit(&o);
}

void send_ready(bool init) {
	static char rb[512];
	struct out o = {.buf = rb, .n = 0, .cap = sizeof rb};
	o_s(&o, "{\"ready\":true,\"kvm\":");
	o_s(&o, kvm_fd >= 0 ? "true" : "false");
	if (kvm_fd < 0) { o_s(&o, ",\"error\":"); o_str(&o, kvm_open_error); }
	o_fmt(&o, ",\"init\":%s}", init ? "true" : "false");
	emit(&o);
	flush_out();
}

void serve(int in_fd) {
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
		flush_out(); // no complete line left: everything answered goes out
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == MAX_LINE) {
			// Too long to be a request: say so once, then drop bytes up to the next newline.
			if (!discarding) {
				static char eb[128];
				struct out e = {.buf = eb, .n = 0, .cap = sizeof eb};
				o_s(&e, "{\"id\":null,\"error\":\"request line too long\"}");
				emit(&e);
				flush_out();
			}
			discarding = true;
			have = 0;
		}
	}
}
