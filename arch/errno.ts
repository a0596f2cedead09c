// Linux errno values (asm-generic), by name: outcomes compare names, the
// helper's protocol carries numbers.

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  ERANGE: 34,
  ENOSYS: 38,
  ENOTSUP: 95,
  ENOEXEC: 8,
  ENXIO: 6,
} as const;

export type Errno = keyof typeof ERRNO;

const BY_NUMBER = new Map<number, Errno>((Object.entries(ERRNO) as [Errno, number][]).map(([k, v]) => [v, k]));

export function errnoName(n: number): Errno | undefined {
  return BY_NUMBER.get(Math.abs(n));
}
