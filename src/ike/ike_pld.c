/* Payload codecs (RFC 7296 §3.3-3.13). Each parser gets the payload body (after
 * the generic header), validates every length before reading, and returns 0/-1.
 * Builders append one payload (header included) to a struct ike_pb. */
#include <arpa/inet.h>
#include <stdio.h>
#include "ike/ike_msg.h"

/* §3.3 SA payload. Substructure diagrams in ike_wire.h. */
static int ike_xf_parse(struct rd *r, struct ike_xf *xf, uint8_t *last)
{
	uint8_t res;
	uint16_t len;
	const uint8_t *body;
	struct rd a;

	if (rd_u8(r, last) || rd_u8(r, &res) || rd_u16(r, &len) || len < 8 ||
	    rd_ptr(r, len - 4, &body))
		return -1;
	if (*last != IKE_XF_LAST && *last != IKE_XF_MORE)
		return -1;
	rd_init(&a, body, len - 4);
	rd_u8(&a, &xf->type);
	rd_u8(&a, &res);
	rd_u16(&a, &xf->id);
	xf->klen = 0;
	while (rd_left(&a)) {
		uint16_t at, av;
		if (rd_u16(&a, &at) || rd_u16(&a, &av))
			return -1;
		if (!(at & IKE_ATTR_TV)) {
			/* TLV attributes: none defined for IKEv2 transforms we use; skip. */
			if (rd_skip(&a, av))
				return -1;
			xf->klen = 0xffff;
			continue;
		}
		if ((at & 0x7fff) == IKE_ATTR_KEY_LENGTH)
			xf->klen = av;
		else
			xf->klen = 0xffff; /* unknown attribute: transform unusable */
	}
	return 0;
}

int ike_pld_sa_parse(const uint8_t *p, size_t len, struct ike_prop *v, int max, int *n)
{
	struct rd r;
	uint8_t last = IKE_PROP_MORE;

	*n = 0;
	rd_init(&r, p, len);
	while (last == IKE_PROP_MORE) {
		uint8_t res, nxf;
		uint16_t plen;
		const uint8_t *body, *spi;
		struct rd s;
		struct ike_prop tmp, *pr = *n < max ? &v[*n] : &tmp;

		if (rd_u8(&r, &last) || rd_u8(&r, &res) || rd_u16(&r, &plen) || plen < 8 ||
		    rd_ptr(&r, plen - 4, &body))
			return -1;
		if (last != IKE_PROP_LAST && last != IKE_PROP_MORE)
			return -1;
		rd_init(&s, body, plen - 4);
		memset(pr, 0, sizeof(*pr));
		rd_u8(&s, &pr->num);
		rd_u8(&s, &pr->proto);
		rd_u8(&s, &pr->spi_size);
		rd_u8(&s, &nxf);
		if (pr->spi_size != 0 && pr->spi_size != 4 && pr->spi_size != 8)
			return -1;
		if (rd_ptr(&s, pr->spi_size, &spi))
			return -1;
		for (int i = 0; i < pr->spi_size; i++)
			pr->spi = pr->spi << 8 | spi[i];
		uint8_t xl = IKE_XF_MORE;
		for (int i = 0; i < nxf; i++) {
			struct ike_xf xf;
			if (xl != IKE_XF_MORE || ike_xf_parse(&s, &xf, &xl))
				return -1;
			if (pr->n < IKE_MAX_XF)
				pr->xf[pr->n++] = xf;
		}
		if (xl != IKE_XF_LAST || rd_left(&s))
			return -1;
		if (*n < max)
			(*n)++;
	}
	return rd_left(&r) ? -1 : 0;
}

void ike_pld_sa_put(struct ike_pb *b, const struct ike_prop *v, int n)
{
	size_t start = pb_begin(b, IKE_PLD_SA);

	for (int i = 0; i < n; i++) {
		const struct ike_prop *pr = &v[i];
		size_t ps = b->w.len;
		wr_u8(&b->w, i + 1 < n ? IKE_PROP_MORE : IKE_PROP_LAST);
		wr_u8(&b->w, 0);
		wr_u16(&b->w, 0);
		wr_u8(&b->w, pr->num);
		wr_u8(&b->w, pr->proto);
		wr_u8(&b->w, pr->spi_size);
		wr_u8(&b->w, (uint8_t)pr->n);
		for (int k = pr->spi_size - 1; k >= 0; k--)
			wr_u8(&b->w, (uint8_t)(pr->spi >> (8 * k)));
		for (int j = 0; j < pr->n; j++) {
			const struct ike_xf *xf = &pr->xf[j];
			wr_u8(&b->w, j + 1 < pr->n ? IKE_XF_MORE : IKE_XF_LAST);
			wr_u8(&b->w, 0);
			wr_u16(&b->w, xf->klen ? 12 : 8);
			wr_u8(&b->w, xf->type);
			wr_u8(&b->w, 0);
			wr_u16(&b->w, xf->id);
			if (xf->klen) {
				wr_u16(&b->w, IKE_ATTR_TV | IKE_ATTR_KEY_LENGTH);
				wr_u16(&b->w, xf->klen);
			}
		}
		if (!b->w.err)
			put_be16(b->buf + ps + 2, (uint16_t)(b->w.len - ps));
	}
	pb_end(b, start);
}

/* §3.4 KE */
int ike_pld_ke_parse(const uint8_t *p, size_t len, uint16_t *group, const uint8_t **data,
		     size_t *dlen)
{
	struct rd r;
	uint16_t res;

	rd_init(&r, p, len);
	if (rd_u16(&r, group) || rd_u16(&r, &res))
		return -1;
	*dlen = rd_left(&r);
	return rd_ptr(&r, *dlen, data);
}

void ike_pld_ke_put(struct ike_pb *b, uint16_t group, const uint8_t *data, size_t len)
{
	size_t s = pb_begin(b, IKE_PLD_KE);
	wr_u16(&b->w, group);
	wr_u16(&b->w, 0);
	wr_bytes(&b->w, data, len);
	pb_end(b, s);
}

/* §3.9 Nonce: 16..256 octets */
int ike_pld_nonce_check(size_t len)
{
	return len >= IKE_NONCE_MIN && len <= IKE_NONCE_MAX ? 0 : -1;
}

void ike_pld_nonce_put(struct ike_pb *b, const uint8_t *n, size_t len)
{
	size_t s = pb_begin(b, IKE_PLD_NONCE);
	wr_bytes(&b->w, n, len);
	pb_end(b, s);
}

/* §3.5 ID */
int ike_pld_id_parse(const uint8_t *p, size_t len, struct ike_id *id)
{
	struct rd r;
	const uint8_t *d;

	rd_init(&r, p, len);
	if (rd_u8(&r, &id->type) || rd_skip(&r, 3))
		return -1;
	id->len = rd_left(&r);
	if (id->len > sizeof(id->data) || rd_ptr(&r, id->len, &d))
		return -1;
	if (id->type == ID_IPV4_ADDR && id->len != 4)
		return -1;
	memcpy(id->data, d, id->len);
	return 0;
}

void ike_pld_id_put(struct ike_pb *b, uint8_t type, const struct ike_id *id)
{
	size_t s = pb_begin(b, type);
	wr_u8(&b->w, id->type);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, 0);
	wr_bytes(&b->w, id->data, id->len);
	pb_end(b, s);
}

void ike_id_str(const struct ike_id *id, char *buf, size_t cap)
{
	size_t i, o = 0;

	if (!cap)
		return;
	if (id->type == ID_IPV4_ADDR && id->len == 4) {
		if (!inet_ntop(AF_INET, id->data, buf, (socklen_t)cap))
			buf[0] = 0; /* cap too small: empty, never unterminated */
		return;
	}
	/* FQDN / key-id: printable characters only (never trust the peer's bytes). */
	for (i = 0; i < id->len && o + 1 < cap; i++)
		buf[o++] = id->data[i] >= 0x20 && id->data[i] < 0x7f ? (char)id->data[i] : '.';
	buf[o] = 0;
}

/* §3.8 AUTH */
int ike_pld_auth_parse(const uint8_t *p, size_t len, uint8_t *method, const uint8_t **data,
		       size_t *dlen)
{
	struct rd r;

	rd_init(&r, p, len);
	if (rd_u8(&r, method) || rd_skip(&r, 3))
		return -1;
	*dlen = rd_left(&r);
	return rd_ptr(&r, *dlen, data);
}

void ike_pld_auth_put(struct ike_pb *b, uint8_t method, const uint8_t *data, size_t len)
{
	size_t s = pb_begin(b, IKE_PLD_AUTH);
	wr_u8(&b->w, method);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, 0);
	wr_bytes(&b->w, data, len);
	pb_end(b, s);
}

/* §3.10 Notify */
int ike_pld_n_parse(const uint8_t *p, size_t len, struct ike_notify_pld *n)
{
	struct rd r;

	rd_init(&r, p, len);
	if (rd_u8(&r, &n->proto) || rd_u8(&r, &n->spi_size) || rd_u16(&r, &n->type) ||
	    rd_ptr(&r, n->spi_size, &n->spi))
		return -1;
	n->data_len = rd_left(&r);
	return rd_ptr(&r, n->data_len, &n->data);
}

void ike_pld_n_put(struct ike_pb *b, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		   uint16_t type, const uint8_t *data, size_t dlen)
{
	size_t s = pb_begin(b, IKE_PLD_N);
	wr_u8(&b->w, proto);
	wr_u8(&b->w, spi_size);
	wr_u16(&b->w, type);
	wr_bytes(&b->w, spi, spi_size);
	wr_bytes(&b->w, data, dlen);
	pb_end(b, s);
}

/* §3.11 Delete */
int ike_pld_d_parse(const uint8_t *p, size_t len, struct ike_delete_pld *d)
{
	struct rd r;

	rd_init(&r, p, len);
	if (rd_u8(&r, &d->proto) || rd_u8(&r, &d->spi_size) || rd_u16(&r, &d->num))
		return -1;
	if (d->proto == IKE_PROTO_IKE) {
		/* IKE SA: SPI size 0 (the SAs are in the header); tolerate 8 as some do. */
		if (d->spi_size != 0 && d->spi_size != 8)
			return -1;
	} else if (d->spi_size != 4) {
		return -1;
	}
	if (rd_left(&r) != (size_t)d->num * d->spi_size)
		return -1;
	return rd_ptr(&r, rd_left(&r), &d->spis);
}

void ike_pld_d_put(struct ike_pb *b, uint8_t proto, uint8_t spi_size, const uint32_t *spis,
		   uint16_t num)
{
	size_t s = pb_begin(b, IKE_PLD_D);
	wr_u8(&b->w, proto);
	wr_u8(&b->w, spi_size);
	wr_u16(&b->w, num);
	for (uint16_t i = 0; i < num; i++)
		wr_u32(&b->w, spis[i]);
	pb_end(b, s);
}

/* §3.13 Traffic selectors */
int ike_pld_ts_parse(const uint8_t *p, size_t len, struct ike_ts *v, int max, int *n)
{
	struct rd r;
	uint8_t cnt;

	*n = 0;
	rd_init(&r, p, len);
	if (rd_u8(&r, &cnt) || rd_skip(&r, 3) || cnt == 0)
		return -1;
	for (int i = 0; i < cnt; i++) {
		uint8_t type, proto;
		uint16_t slen, sp, ep;
		const uint8_t *body;
		struct rd s;
		if (rd_u8(&r, &type) || rd_u8(&r, &proto) || rd_u16(&r, &slen) || slen < 8 ||
		    rd_ptr(&r, slen - 4, &body))
			return -1;
		rd_init(&s, body, slen - 4);
		rd_u16(&s, &sp);
		rd_u16(&s, &ep);
		if (type == TS_IPV4_ADDR_RANGE) {
			uint32_t a, e;
			if (slen != IKE_TS_V4_LEN || rd_u32(&s, &a) || rd_u32(&s, &e))
				return -1;
			if (*n < max)
				v[(*n)++] = (struct ike_ts){proto, sp, ep, a, e};
		} else if (type == TS_IPV6_ADDR_RANGE) {
			if (slen != 40)
				return -1;
		} else {
			return -1;
		}
	}
	return rd_left(&r) ? -1 : 0;
}

void ike_pld_ts_put(struct ike_pb *b, uint8_t type, const struct ike_ts *v, int n)
{
	size_t s = pb_begin(b, type);

	wr_u8(&b->w, (uint8_t)n);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, 0);
	for (int i = 0; i < n; i++) {
		wr_u8(&b->w, TS_IPV4_ADDR_RANGE);
		wr_u8(&b->w, v[i].proto);
		wr_u16(&b->w, IKE_TS_V4_LEN);
		wr_u16(&b->w, v[i].sport);
		wr_u16(&b->w, v[i].eport);
		wr_u32(&b->w, v[i].saddr);
		wr_u32(&b->w, v[i].eaddr);
	}
	pb_end(b, s);
}
