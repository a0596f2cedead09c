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
//
// The files, each with one job, are listed in s2c.h; this one is the program's entry.

#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/klog.h>
#include <unistd.h>

#include "s2c.h"

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
	int in_fd = console_open(tty);
	if (is_init) klogctl(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 1); // keep the console quiet from now on
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < MAX_VMS; i++) vm_clear(&vms[i]);
	kvm_open();
	hang_setup();
	send_ready(is_init);
	serve(in_fd);
	power_off();
}
