// The channel's output, shared by protocol.c (responses) and init.c (console messages, the channel it
// opens): kept apart so that neither of those files needs the other for it.
#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

#include "s2c.h"

int out_fd = 1;

// s2c.idle=<seconds>: power off after that long without input. The adapter pings well within it, so
// this only fires when the process that booted QEMU died without stopping it (SIGKILL): QEMU's stdio
// chardev does not pass the end of its input on to the guest, so nothing else would end the guest.
// Set by init.c from the kernel command line, read by protocol.c's request loop.
int idle_ms;

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
