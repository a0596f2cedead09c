// The helper's JSON reader and writer (see json.h).
#define _GNU_SOURCE
#include "json.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

// ---- writer ----------------------------------------------------------------------------------

void o_raw(struct out *o, const char *s, size_t n) {
	if (o->n + n + 2 > o->cap) { o->overflow = true; return; }
	memcpy(o->buf + o->n, s, n);
	o->n += n;
}
void o_s(struct out *o, const char *s) { o_raw(o, s, strlen(s)); }
void o_fmt(struct out *o, const char *fmt, ...) {
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (k < 0) return;
	o_raw(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}
void o_str(struct out *o, const char *s) {
	o_s(o, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\') { char e[2] = {'\\', (char)*p}; o_raw(o, e, 2); }
		else if (*p < 0x20 || *p >= 0x7f) o_fmt(o, "\\u%04x", *p);
		else o_raw(o, (const char *)p, 1);
	}
	o_s(o, "\"");
}
void o_hex(struct out *o, uint64_t v) { o_fmt(o, "\"0x%" PRIx64 "\"", v); }

// ---- reader: strings are decoded in place in the request line ----------------------------------

void jws(struct jp *j) { while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\r' || *j->p == '\n')) j->p++; }

static int hexval(char c) {
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

// Parses a string at j->p (which is at the opening quote); returns decoded start or NULL.
static char *jstring(struct jp *j, size_t *len) {
	char *w = ++j->p, *start = w;
	while (j->p < j->end) {
		char c = *j->p++;
		if (c == '"') { *w = 0; *len = (size_t)(w - start); return start; }
		if ((unsigned char)c < 0x20) { j->err = "control character in string"; return NULL; }
		if (c != '\\') { *w++ = c; continue; }
		if (j->p >= j->end) break;
		c = *j->p++;
		switch (c) {
		case '"': case '\\': case '/': *w++ = c; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			if (j->end - j->p < 4) { j->err = "bad \\u escape"; return NULL; }
			int v = 0;
			for (int i = 0; i < 4; i++) {
				int h = hexval(j->p[i]);
				if (h < 0) { j->err = "bad \\u escape"; return NULL; }
				v = v * 16 + h;
			}
			j->p += 4;
			// Only ASCII is meaningful in this protocol; anything else becomes '?'.
			*w++ = (v > 0 && v < 0x80) ? (char)v : '?';
			break;
		}
		default: j->err = "bad escape"; return NULL;
		}
	}
	j->err = "unterminated string";
	return NULL;
}


static int jnew(struct jp *j, enum jt t) {
	if (j->n >= MAX_NODES) { j->err = "request too complex"; return -1; }
	struct jv *v = &j->nodes[j->n];
	memset(v, 0, sizeof *v);
	v->t = t;
	v->first = v->next = -1;
	return j->n++;
}

static int jcontainer(struct jp *j, bool obj) {
	int me = jnew(j, obj ? J_OBJ : J_ARR);
	if (me < 0) return -1;
	if (++j->depth > 16) { j->err = "nesting too deep"; return -1; }
	j->p++;
	jws(j);
	int last = -1;
	if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; j->depth--; return me; }
	for (;;) {
		const char *key = NULL;
		jws(j);
		if (obj) {
			if (j->p >= j->end || *j->p != '"') { j->err = "expected member name"; return -1; }
			size_t kl;
			key = jstring(j, &kl);
			if (!key) return -1;
			jws(j);
			if (j->p >= j->end || *j->p != ':') { j->err = "expected ':'"; return -1; }
			j->p++;
		}
		int c = jvalue(j);
		if (c < 0) return -1;
		j->nodes[c].key = key;
		if (last < 0) j->nodes[me].first = c; else j->nodes[last].next = c;
		last = c;
		jws(j);
		if (j->p < j->end && *j->p == ',') { j->p++; continue; }
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; j->depth--; return me; }
		j->err = obj ? "expected ',' or '}'" : "expected ',' or ']'";
		return -1;
	}
}

int jvalue(struct jp *j) {
	jws(j);
	if (j->p >= j->end) { j->err = "unexpected end"; return -1; }
	char c = *j->p;
	if (c == '{') return jcontainer(j, true);
	if (c == '[') return jcontainer(j, false);
	if (c == '"') {
		int me = jnew(j, J_STR);
		if (me < 0) return -1;
		size_t l;
		char *s = jstring(j, &l);
		if (!s) return -1;
		j->nodes[me].s = s;
		j->nodes[me].slen = l;
		return me;
	}
	if (c == 't' && j->end - j->p >= 4 && !memcmp(j->p, "true", 4)) { int me = jnew(j, J_BOOL); if (me >= 0) { j->nodes[me].b = true; j->p += 4; } return me; }
	if (c == 'f' && j->end - j->p >= 5 && !memcmp(j->p, "false", 5)) { int me = jnew(j, J_BOOL); if (me >= 0) j->p += 5; return me; }
	if (c == 'n' && j->end - j->p >= 4 && !memcmp(j->p, "null", 4)) { int me = jnew(j, J_NULL); if (me >= 0) j->p += 4; return me; }
	if (c == '-' || (c >= '0' && c <= '9')) {
		int me = jnew(j, J_NUM);
		if (me < 0) return -1;
		j->nodes[me].s = j->p;
		while (j->p < j->end && (isdigit((unsigned char)*j->p) || (*j->p && strchr("+-.eE", *j->p)))) j->p++;
		j->nodes[me].slen = (size_t)(j->p - j->nodes[me].s);
		return me;
	}
	j->err = "unexpected character";
	return -1;
}

int jget(struct jp *j, int obj, const char *key) {
	if (obj < 0 || j->nodes[obj].t != J_OBJ) return -1;
	for (int c = j->nodes[obj].first; c >= 0; c = j->nodes[c].next)
		if (j->nodes[c].key && !strcmp(j->nodes[c].key, key)) return c;
	return -1;
}

bool jint(struct jp *j, int node, int64_t min, int64_t max, int64_t *out) {
	if (node < 0 || j->nodes[node].t != J_NUM) return false;
	const char *s = j->nodes[node].s;
	size_t n = j->nodes[node].slen, i = 0;
	bool neg = false;
	if (i < n && s[i] == '-') { neg = true; i++; }
	if (i >= n) return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (!isdigit((unsigned char)s[i])) return false;
		if (v > (UINT64_MAX - 9) / 10) return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX) return false;
	int64_t r = neg ? -(int64_t)v : (int64_t)v;
	if (r < min || r > max) return false;
	*out = r;
	return true;
}

bool ju64(struct jp *j, int node, uint64_t *out) {
	if (node < 0) return false;
	if (j->nodes[node].t == J_NUM) {
		int64_t v;
		if (!jint(j, node, 0, INT64_MAX, &v)) return false;
		*out = (uint64_t)v;
		return true;
	}
	if (j->nodes[node].t != J_STR) return false;
	const char *s = j->nodes[node].s;
	size_t n = j->nodes[node].slen;
	if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) return false;
	uint64_t v = 0;
	for (size_t i = 2; i < n; i++) {
		int h = hexval(s[i]);
		if (h < 0) return false;
		v = (v << 4) | (uint64_t)h;
	}
	*out = v;
	return true;
}

const char *jstr(struct jp *j, int node) {
	return (node >= 0 && j->nodes[node].t == J_STR) ? j->nodes[node].s : NULL;
}
