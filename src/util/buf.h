/* Bounds-checked readers and writers for untrusted bytes (OpenSSH sshbuf style).
 * Every get returns 0 or -1 and never reads past the end; chain them with ||. */
#ifndef INSYNC_BUF_H
#define INSYNC_BUF_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static inline void rd_init(struct rd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}
static inline size_t rd_left(const struct rd *r)
{
	return r->len - r->off;
}
static inline int rd_u8(struct rd *r, uint8_t *v)
{
	if (rd_left(r) < 1) {
		*v = 0;
		return -1;
	}
	*v = r->p[r->off++];
	return 0;
}
static inline int rd_u16(struct rd *r, uint16_t *v)
{
	if (rd_left(r) < 2) {
		*v = 0;
		return -1;
	}
	*v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
	r->off += 2;
	return 0;
}
static inline int rd_u32(struct rd *r, uint32_t *v)
{
	if (rd_left(r) < 4) {
		*v = 0;
		return -1;
	}
	const uint8_t *q = r->p + r->off;
	*v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
	r->off += 4;
	return 0;
}
static inline int rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;
	if (rd_left(r) < 8) {
		*v = 0;
		return -1;
	}
	rd_u32(r, &hi);
	rd_u32(r, &lo);
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}
/* Borrow n bytes in place. */
static inline int rd_ptr(struct rd *r, size_t n, const uint8_t **v)
{
	if (rd_left(r) < n) {
		*v = NULL;
		return -1;
	}
	*v = r->p + r->off;
	r->off += n;
	return 0;
}
static inline int rd_copy(struct rd *r, void *dst, size_t n)
{
	const uint8_t *s;
	if (rd_ptr(r, n, &s))
		return -1;
	memcpy(dst, s, n);
	return 0;
}
static inline int rd_skip(struct rd *r, size_t n)
{
	const uint8_t *s;
	return rd_ptr(r, n, &s);
}

/* Writer into a fixed buffer; overflow sets err and further puts are no-ops. */
struct wr {
	uint8_t *p;
	size_t cap, len;
	int err;
};

static inline void wr_init(struct wr *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}
static inline uint8_t *wr_reserve(struct wr *w, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = -1;
		return NULL;
	}
	uint8_t *q = w->p + w->len;
	w->len += n;
	return q;
}
static inline void wr_u8(struct wr *w, uint8_t v)
{
	uint8_t *q = wr_reserve(w, 1);
	if (q)
		q[0] = v;
}
static inline void wr_u16(struct wr *w, uint16_t v)
{
	uint8_t *q = wr_reserve(w, 2);
	if (q) {
		q[0] = (uint8_t)(v >> 8);
		q[1] = (uint8_t)v;
	}
}
static inline void wr_u32(struct wr *w, uint32_t v)
{
	uint8_t *q = wr_reserve(w, 4);
	if (q) {
		q[0] = (uint8_t)(v >> 24);
		q[1] = (uint8_t)(v >> 16);
		q[2] = (uint8_t)(v >> 8);
		q[3] = (uint8_t)v;
	}
}
static inline void wr_u64(struct wr *w, uint64_t v)
{
	wr_u32(w, (uint32_t)(v >> 32));
	wr_u32(w, (uint32_t)v);
}
static inline void wr_bytes(struct wr *w, const void *s, size_t n)
{
	uint8_t *q = wr_reserve(w, n);
	if (q && n)
		memcpy(q, s, n);
}
static inline void put_be16(uint8_t *q, uint16_t v)
{
	q[0] = (uint8_t)(v >> 8);
	q[1] = (uint8_t)v;
}
static inline void put_be32(uint8_t *q, uint32_t v)
{
	q[0] = (uint8_t)(v >> 24);
	q[1] = (uint8_t)(v >> 16);
	q[2] = (uint8_t)(v >> 8);
	q[3] = (uint8_t)v;
}
static inline uint16_t get_be16(const uint8_t *q)
{
	return (uint16_t)(q[0] << 8 | q[1]);
}
static inline uint32_t get_be32(const uint8_t *q)
{
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}
#endif
