// The system around the helper. As /init of the QEMU guest it mounts devtmpfs, proc and sysfs, takes
// its channel and idle time from the kernel command line and powers the guest off at the end; as a
// plain program (--native) it only sets its channel raw.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "s2c.h"

bool is_init;

void read_small_file(const char *path, char *buf, size_t cap) {
	buf[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return;
	ssize_t k = read(fd, buf, cap - 1);
	close(fd);
	if (k < 0) k = 0;
	buf[k] = 0;
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' ')) buf[--k] = 0;
}

// The modules the channel needs where the kernel builds them as modules (the virtio console on
// 5.10 and 6.1): /lib/s2c/order lists them in insmod order (adapters/kvm/initramfs.ts).
static void load_modules(void) {
	char order[1024], path[128];
	read_small_file("/lib/s2c/order", order, sizeof order);
	for (char *name = strtok(order, "\n"); name; name = strtok(NULL, "\n")) {
		snprintf(path, sizeof path, "/lib/s2c/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)) {
			char m[200];
			int n = snprintf(m, sizeof m, "s2c-helper: cannot load %s: %s\n", path, strerror(errno));
			write_all(2, m, (size_t)n);
		}
		if (fd >= 0) close(fd);
	}
}

void init_system(const char **tty) {
	mkdir("/dev", 0755);
	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	load_modules();
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

static long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

// The channel: the tty named by s2c.tty= (or stdin/stdout), raw. Returns the fd to read from.
//
// A virtio console built as a module (5.10, 6.1) appears in steps after finit_module() returned:
// the host adds the port through the control queue, a kworker runs hvc_alloc(), whose hvc_init()
// registers the tty driver and so makes /dev/hvc0..hvc7 (each a round trip to kdevtmpfs, during
// which this process runs), and only then links the port into hvc_structs. Until the node exists
// open() fails with ENOENT; between the node and the port, hvc_install() finds no port and open()
// fails with ENODEV. Both mean "not yet". Any other error, or 30 s, is said on the console and ends
// the guest at once: a channel that fell back to the console would put READY where the adapter
// never looks for it, and the adapter would wait out its whole boot timeout.
#define TTY_WAIT_MS 30000
int console_open(const char *tty) {
	int in_fd = 0;
	if (tty) {
		long t0 = now_ms(), enoent_ms = 0, enodev_ms = 0, last = t0;
		int fd;
		while ((fd = open(tty, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 && (errno == ENOENT || errno == ENODEV) && last - t0 < TTY_WAIT_MS) {
			int e = errno;
			usleep(5000);
			long t = now_ms();
			*(e == ENOENT ? &enoent_ms : &enodev_ms) += t - last;
			last = t;
		}
		char m[200];
		if (fd < 0) {
			int n = snprintf(m, sizeof m, "s2c-helper: cannot open the channel %s: %s (after %ld ms: ENOENT %ld ms, ENODEV %ld ms)\n",
			                 tty, strerror(errno), now_ms() - t0, enoent_ms, enodev_ms);
			write_all(2, m, (size_t)n);
			power_off();
		}
		if (enoent_ms + enodev_ms > 0) {
			// evidence for the console log: how long the port took to appear, and in which step
			int n = snprintf(m, sizeof m, "s2c-helper: %s opened after %ld ms (ENOENT %ld ms, ENODEV %ld ms)\n", tty, now_ms() - t0, enoent_ms, enodev_ms);
			write_all(2, m, (size_t)n);
		}
		in_fd = out_fd = fd;
	}
	struct termios tio;
	if (tcgetattr(in_fd, &tio) == 0) {
		// Raw: no echo, no canonical mode (no line-length limit), no output processing.
		cfmakeraw(&tio);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		tcsetattr(in_fd, TCSANOW, &tio);
	}
	return in_fd;
}

void power_off(void) {
	for (int i = 0; i < MAX_VMS; i++)
		if (vms[i].used) vm_free(&vms[i]);
	if (is_init) {
		sync();
		reboot(RB_POWER_OFF);
	}
	exit(0);
}
