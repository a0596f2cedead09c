// A small JSON reader and writer for the helper's line protocol.
//
// The reader decodes one request line in place (strings are NUL-terminated inside the line) into a
// flat array of nodes; the writer appends to a fixed buffer and remembers an overflow instead of
// failing, so a response that does not fit can be replaced by an error as a whole.
#ifndef S2C_JSON_H
#define S2C_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_NODES 512

// ---- writer ----------------------------------------------------------------------------------

struct out {
	char *buf;
	size_t n, cap;
	bool overflow;
};

void o_raw(struct out *o, const char *s, size_t n);
void o_s(struct out *o, const char *s);
void o_fmt(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
// A JSON string: quotes and backslashes escaped, anything outside printable ASCII as \u00XX.
void o_str(struct out *o, const char *s);
// A 64-bit value as the protocol sends it: "0x..".
void o_hex(struct out *o, uint64_t v);

// ---- reader ----------------------------------------------------------------------------------

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

// Skips white space at j->p.
void jws(struct jp *j);
// Parses one value at j->p; returns its node index, or -1 with j->err set.
int jvalue(struct jp *j);
// The member `key` of object node `obj`, or -1.
int jget(struct jp *j, int obj, const char *key);
// An integer number (no fraction or exponent) in [min, max].
bool jint(struct jp *j, int node, int64_t min, int64_t max, int64_t *out);
// A 64-bit value: "0x..." (1..16 hex digits) or a non-negative integer number.
bool ju64(struct jp *j, int node, uint64_t *out);
// The decoded string of a J_STR node, or NULL.
const char *jstr(struct jp *j, int node);

#endif
