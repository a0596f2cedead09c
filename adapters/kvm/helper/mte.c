// mte family (seed 003): VMM memory of each backing kind, as a VMM maps it for a memslot.
// tmpfs and ramfs are mounted on first use (the helper is /init of an initramfs); hugetlb
// pages are reserved on first use; PFNMAP is /dev/mem over the virt machine's flash at
// physical 0 (MMIO, not RAM: remap_pfn_range with a Device mapping).
#define _GNU_SOURCE
#include "mte.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define HPAGE (2UL << 20)

static int file_seq;

static const char *mounted(const char *fs) {
	static char path[64];
	snprintf(path, sizeof path, "/s2c-%s", fs);
	struct stat st;
	char probe[96];
	snprintf(probe, sizeof probe, "%s/.mounted", path);
	if (stat(probe, &st) == 0) return path;
	mkdir(path, 0700);
	if (mount(fs, path, fs, 0, NULL) != 0 && errno != EBUSY) return NULL;
	int fd = open(probe, O_CREAT | O_WRONLY, 0600);
	if (fd < 0) return NULL;
	close(fd);
	return path;
}

static void hugepages(void) {
	int fd = open("/proc/sys/vm/nr_hugepages", O_RDWR);
	if (fd < 0) return;
	char b[32] = {0};
	ssize_t n = read(fd, b, sizeof b - 1);
	if (n > 0 && strtol(b, NULL, 10) < 8) {
		lseek(fd, 0, SEEK_SET);
		if (write(fd, "8\n", 2) < 0) { /* reported by the mmap that fails */ }
	}
	close(fd);
}

// A 2 MiB aligned range of `size` bytes, reserved PROT_NONE (the mapping then goes over it).
static void *aligned_hole(uint64_t size) {
	size_t len = (size_t)size + HPAGE;
	char *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) return NULL;
	char *a = (char *)(((uintptr_t)p + HPAGE - 1) & ~(uintptr_t)(HPAGE - 1));
	if (a > p) munmap(p, (size_t)(a - p));
	char *end = p + len, *aend = a + size;
	if (end > aend) munmap(aend, (size_t)(end - aend));
	return a;
}

static int backing_fd(const char *kind, uint64_t size, const char **why) {
	int fd = -1;
	if (!strcmp(kind, "memfd") || !strcmp(kind, "hugetlb")) {
		if (!strcmp(kind, "hugetlb")) hugepages();
		fd = memfd_create("s2c", !strcmp(kind, "hugetlb") ? MFD_HUGETLB : 0);
		if (fd < 0) { *why = !strcmp(kind, "hugetlb") ? "memfd_create(MFD_HUGETLB) failed (no hugetlbfs in this kernel?)" : "memfd_create failed"; return -1; }
	} else if (!strcmp(kind, "tmpfs") || !strcmp(kind, "ramfs")) {
		const char *dir = mounted(kind);
		if (!dir) { *why = !strcmp(kind, "tmpfs") ? "cannot mount tmpfs" : "cannot mount ramfs"; return -1; }
		char path[128];
		snprintf(path, sizeof path, "%s/f%d", dir, ++file_seq);
		fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
		if (fd < 0) { *why = "cannot create a file there"; return -1; }
		unlink(path);
	} else if (!strcmp(kind, "pfnmap")) {
		fd = open("/dev/mem", O_RDWR | O_SYNC);
		if (fd < 0) { *why = "no /dev/mem (CONFIG_DEVMEM off or no devtmpfs)"; return -1; }
		return fd;
	} else {
		*why = "unknown backing kind";
		return -1;
	}
	if (ftruncate(fd, (off_t)size) != 0) { *why = "ftruncate failed"; close(fd); return -1; }
	return fd;
}

void s2c_backing(const char *kind, int shared, uint64_t size, uint64_t at, char *out, size_t cap) {
	const char *why = NULL;
	if (!kind || size == 0 || size > (1ULL << 30)) { snprintf(out, cap, ",\"error\":\"backing: kind and a size up to 1 GiB\""); return; }
	void *addr = at ? (void *)(uintptr_t)at : aligned_hole(size);
	if (!addr) { snprintf(out, cap, ",\"unsupported\":\"cannot reserve address space\""); return; }
	int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED;
	void *p;
	if (!strcmp(kind, "anon")) {
		p = mmap(addr, (size_t)size, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	} else {
		if (!strcmp(kind, "pfnmap") && !shared) why = "/dev/mem is mapped MAP_SHARED only here";
		int fd = why ? -1 : backing_fd(kind, size, &why);
		if (fd < 0) {
			if (!at) munmap(addr, (size_t)size);
			snprintf(out, cap, ",\"unsupported\":\"%s\"", why);
			return;
		}
		p = mmap(addr, (size_t)size, PROT_READ | PROT_WRITE, flags, fd, 0);
		close(fd);
	}
	if (p == MAP_FAILED) {
		int e = errno;
		if (!at) munmap(addr, (size_t)size);
		snprintf(out, cap, ",\"unsupported\":\"mmap of %s failed: %s\"", kind, strerror(e));
		return;
	}
	snprintf(out, cap, ",\"uaddr\":\"0x%" PRIx64 "\"", (uint64_t)(uintptr_t)p);
}

void s2c_unbacking(uint64_t addr, uint64_t size, char *out, size_t cap) {
	if (munmap((void *)(uintptr_t)addr, (size_t)size) != 0) snprintf(out, cap, ",\"error\":\"munmap: %s\"", strerror(errno));
	else snprintf(out, cap, ",\"ok\":true");
}

void s2c_backing_probe(char *out, size_t cap) {
	static const char *kinds[] = {"memfd", "tmpfs", "ramfs", "hugetlb", "pfnmap"};
	size_t n = (size_t)snprintf(out, cap, ",\"unsupported\":{");
	int first = 1;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0] && n < cap; i++) {
		char r[256];
		s2c_backing(kinds[i], 1, HPAGE, 0, r, sizeof r);
		uint64_t a;
		if (sscanf(r, ",\"uaddr\":\"0x%" SCNx64 "\"", &a) == 1) {
			munmap((void *)(uintptr_t)a, HPAGE);
			continue;
		}
		const char *w = strstr(r, ":\"");
		n += (size_t)snprintf(out + n, cap - n, "%s\"%s\":\"%.*s\"", first ? "" : ",", kinds[i], w ? (int)strlen(w + 2) - 1 : 1, w ? w + 2 : "?");
		first = 0;
	}
	if (n < cap) snprintf(out + n, cap - n, "}");
}
