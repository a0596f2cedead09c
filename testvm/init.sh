#!/usr/bin/busybox sh
# /init of the s2conform test VM: a small arm64 machine with sshd and /dev/kvm, and nothing else.
# Kernel command line: s2ctv.key=<base64 of the ed25519 key allowed in>, s2ctv.lifetime=<s> (0: none),
# s2ctv.console=shell: a root shell on the console too, with sshd in the background (a LAVA device).
export PATH=/usr/sbin:/usr/bin
/usr/bin/busybox --install -s /usr/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
arg() { tr ' ' '\n' < /proc/cmdline | sed -n "s/^$1=//p"; }

# The network: virtio-net (a module in Debian's kernels), QEMU's user network at its usual addresses.
for m in $(cat /lib/modules/s2ctv/order); do insmod "/lib/modules/s2ctv/$m" || echo "s2c-testvm: insmod $m failed"; done
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

# Two users with the one key of this run: root, and nokvm (no access to /dev/kvm, which is 0600 root).
for h in /root /home/nokvm; do
  mkdir -p "$h/.ssh"
  echo "ssh-ed25519 $(arg s2ctv.key) s2conform-testvm" > "$h/.ssh/authorized_keys"
  chmod 700 "$h" "$h/.ssh"
  chmod 600 "$h/.ssh/authorized_keys"
done
chown -R 1000:1000 /home/nokvm

# A host key made at boot: its public half goes to the console, where the host reads it for known_hosts.
mkdir -p /etc/dropbear
dropbearkey -t ed25519 -f /etc/dropbear/ed25519_host_key > /dev/null 2>&1
echo "s2c-testvm: hostkey $(dropbearkey -y -f /etc/dropbear/ed25519_host_key | grep '^ssh-ed25519' | cut -d' ' -f1,2)"

life=$(arg s2ctv.lifetime)
if [ -n "$life" ] && [ "$life" != 0 ]; then
  (sleep "$life"; echo "s2c-testvm: lifetime of ${life}s over: powering off"; poweroff -f) &
fi
echo "s2c-testvm: ready $(uname -m) $(uname -r) kvm=$([ -e /dev/kvm ] && echo yes || echo no)"
if [ "$(arg s2ctv.console)" = shell ]; then
  dropbear -s -p 22 -r /etc/dropbear/ed25519_host_key
  export HOME=/root PS1='s2c-testvm# '
  cd /root
  # busybox poweroff/reboot signal PID 1 (USR2/TERM): this shell, which stays PID 1 to act on them
  trap 'poweroff -f' USR2
  trap 'reboot -f' TERM
  while :; do
    setsid cttyhack sh &
    wait
  done
fi
# -F foreground, -E log to stderr, -s no passwords, -p port, -r host key. If sshd dies, /init
# ends, the kernel panics and QEMU exits (panic=-1, -no-reboot): a dead sshd is a dead VM.
exec dropbear -F -E -s -p 22 -r /etc/dropbear/ed25519_host_key
