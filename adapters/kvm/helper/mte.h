// mte family (seed 003): VMM memory of each backing kind, mapped for a memslot.
#ifndef S2C_MTE_H
#define S2C_MTE_H
#include <stddef.h>
#include <stdint.h>

// Maps `size` bytes of a backing kind ("anon", "memfd", "tmpfs", "ramfs", "hugetlb", "pfnmap"),
// MAP_SHARED when `shared`, at `at` (MAP_FIXED) when nonzero, else 2 MiB aligned. Writes a JSON
// fragment into out: ,"uaddr":"0x…" or ,"unsupported":"why".
void s2c_backing(const char *kind, int shared, uint64_t size, uint64_t at, char *out, size_t cap);
// munmap; writes ,"ok":true or ,"error":"…".
void s2c_unbacking(uint64_t addr, uint64_t size, char *out, size_t cap);
// Tries every kind once; writes ,"unsupported":{"kind":"why",…}.
void s2c_backing_probe(char *out, size_t cap);

#endif
