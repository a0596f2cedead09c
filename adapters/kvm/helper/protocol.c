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

int out_fd = 1;

void write_all(int fd, const char *p, size_t n) {
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

void emit(struct out *o) {
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

// Answers without helperNs, then powers off (as /init) or exits.
void op_shutdown(struct req *r) {
	o_s(r->o, ",\"ok\":true}");
	emit(r->o);
	power_off();
}

// Every op the helper answers. adapters/kvm/README.md's protocol table lists each name (a test
// checks it); the text here says what the op is for.
static const struct op {
	const char *name;
	void (*fn)(struct req *r);
	const char *what;
} ops[] = {
	{"probe", op_probe, "what the host is: KVM API, IPA limit, release, mode, PARange, caps, KVM boot log"},
	{"check_extension", op_check_extension, "KVM_CHECK_EXTENSION on /dev/kvm"},
	{"create_vm", op_create_vm, "KVM_CREATE_VM under a client-chosen name"},
	{"destroy_vm", op_destroy_vm, "close a VM with its vCPUs and helper-owned memory"},
	{"enable_cap", op_enable_cap, "KVM_ENABLE_CAP on a VM"},
	{"set_memslot", op_set_memslot, "KVM_SET_USER_MEMORY_REGION, with helper-owned (\"auto\") backing"},
	{"run", op_run, "one access case from a guest state: its outcome"},
	{"batch", op_batch, "n generated access cases inside the helper (per-case floor)"},
	{"ping", op_ping, "liveness (the adapter's keepalive)"},
	{"stats", op_stats, "descriptors, memory, VMs and mappings the helper holds (soak)"},
	{"backing", op_backing, "mte family: map VMM memory of one backing kind"},
	{"unbacking", op_unbacking, "mte family: unmap it"},
	{"backing_probe", op_backing_probe, "mte family: which backing kinds this host cannot make"},
	{"floor", op_floor, "n iterations of a bare KVM loop (fresh-vm, reuse-mmio, memslot), timed in the helper"},
	{"crash", op_crash, "fault injection: exit without answering"},
	{"shutdown", op_shutdown, "answer, then power off"},
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
	uint64_t t_op = now_ns(); // time inside the helper (issue 14: where does a case's time go?)
	const struct op *op = name ? op_find(name) : NULL;
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
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == MAX_LINE) {
			// Too long to be a request: say so once, then drop bytes up to the next newline.
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
}
