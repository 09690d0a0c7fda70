/* libFuzzer harness for the IKE message and payload codecs (ike_msg.c,
 * ike_pld.c). Each input is used three ways:
 *   1. as a datagram: ike_msg_parse, every payload parser on every payload,
 *      then ike_msg_decrypt with a fixed AES-GCM key and a fixed AES-CBC key;
 *   2. as the plaintext of an SK payload (octet 0 is SK's Next Payload),
 *      sealed here with the GCM key, so that what follows the ICV check (Pad
 *      Length, inner chain) sees fuzzed bytes;
 *   3. the same with the CBC key, on the whole 16-octet blocks of the input.
 * Whatever a parser accepts must stay inside its buffer and must come back
 * unchanged from the matching builder (abort() otherwise). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/aead.h"
#include "crypto/prf.h"
#include "ike/ike_msg.h"

static uint8_t gcm_key[32 + IKE_GCM_SALT_LEN], cbc_ek[32], cbc_ak[32];
static struct ike_sk sk_gcm, sk_cbc;

static void keys_init(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	for (size_t i = 0; i < sizeof(gcm_key); i++)
		gcm_key[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < sizeof(cbc_ek); i++) {
		cbc_ek[i] = (uint8_t)(3 * i + 1);
		cbc_ak[i] = (uint8_t)(0xa5 ^ (5 * i));
	}
	sk_gcm = (struct ike_sk){.aead = 1, .ek = gcm_key, .ek_len = 32};
	sk_cbc = (struct ike_sk){.ek = cbc_ek,
	                         .ek_len = 32,
	                         .integ_prf = PRF_HMAC_SHA2_256,
	                         .ak = cbc_ak,
	                         .ak_len = 32,
	                         .icv_len = 16};
}

static void check(int ok)
{
	if (!ok)
		abort();
}

static int inside(const uint8_t *p, size_t len, const uint8_t *base, size_t cap)
{
	return p >= base && len <= cap && (size_t)(p - base) <= cap - len;
}

/* Wrap a built chain of one payload in a header and parse it back. */
static const struct ike_pld *rebuilt(const struct ike_pb *b, struct ike_msg *m)
{
	static uint8_t out[IKE_HDR_LEN + IKE_BUILD_MAX];
	struct ike_hdr h = {.spi_i = 1, .exch = IKE_AUTH};
	int len;

	check(!b->w.err);
	len = ike_msg_build(&h, b, NULL, out, sizeof(out));
	check(len > 0);
	check(ike_msg_parse(m, out, (size_t)len) == 0 && m->n == 1);
	return &m->pld[0];
}

static void sa_roundtrip(const struct ike_prop *v, int n)
{
	static struct ike_prop again[IKE_MAX_PROPS];
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;
	int n2 = -1;

	pb_init(&b);
	ike_pld_sa_put(&b, v, n);
	if (b.w.err)
		return; /* 16 proposals of 32 transforms can exceed the builder */
	p = rebuilt(&b, &m);
	check(ike_pld_sa_parse(p->p, p->len, again, IKE_MAX_PROPS, &n2) == 0 && n2 == n);
	for (int i = 0; i < n; i++) {
		check(again[i].num == v[i].num && again[i].proto == v[i].proto &&
		      again[i].spi_size == v[i].spi_size && again[i].spi == v[i].spi &&
		      again[i].n == v[i].n);
		for (int j = 0; j < v[i].n; j++)
			check(again[i].xf[j].type == v[i].xf[j].type &&
			      again[i].xf[j].id == v[i].xf[j].id &&
			      again[i].xf[j].klen == v[i].xf[j].klen);
	}
}

/* Every parser on one payload body; accepted results are checked and rebuilt. */
static void payload_parsers(const struct ike_pld *pl)
{
	static struct ike_prop props[IKE_MAX_PROPS];
	struct ike_ts ts[IKE_MAX_TS], ts2[IKE_MAX_TS];
	struct ike_id id, id2;
	struct ike_notify_pld n, n2;
	struct ike_delete_pld d, d2;
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;
	const uint8_t *data, *data2;
	size_t dlen, dlen2;
	uint16_t group, group2;
	uint8_t method, method2;
	int cnt, cnt2;
	char s[64];

	if (ike_pld_sa_parse(pl->p, pl->len, props, IKE_MAX_PROPS, &cnt) == 0) {
		check(cnt >= 1 && cnt <= IKE_MAX_PROPS);
		sa_roundtrip(props, cnt);
	}
	if (ike_pld_ke_parse(pl->p, pl->len, &group, &data, &dlen) == 0) {
		check(inside(data, dlen, pl->p, pl->len));
		pb_init(&b);
		ike_pld_ke_put(&b, group, data, dlen);
		if (!b.w.err) {
			p = rebuilt(&b, &m);
			check(ike_pld_ke_parse(p->p, p->len, &group2, &data2, &dlen2) == 0);
			check(group2 == group && dlen2 == dlen && !memcmp(data, data2, dlen));
		}
	}
	if (ike_pld_id_parse(pl->p, pl->len, &id) == 0) {
		check(id.len <= sizeof(id.data));
		ike_id_str(&id, s, sizeof(s));
		check(strlen(s) < sizeof(s));
		pb_init(&b);
		ike_pld_id_put(&b, IKE_PLD_IDI, &id);
		p = rebuilt(&b, &m);
		check(ike_pld_id_parse(p->p, p->len, &id2) == 0);
		check(id2.type == id.type && id2.len == id.len &&
		      !memcmp(id.data, id2.data, id.len));
	}
	if (ike_pld_auth_parse(pl->p, pl->len, &method, &data, &dlen) == 0) {
		check(inside(data, dlen, pl->p, pl->len));
		pb_init(&b);
		ike_pld_auth_put(&b, method, data, dlen);
		if (!b.w.err) {
			p = rebuilt(&b, &m);
			check(ike_pld_auth_parse(p->p, p->len, &method2, &data2, &dlen2) == 0);
			check(method2 == method && dlen2 == dlen && !memcmp(data, data2, dlen));
		}
	}
	if (ike_pld_n_parse(pl->p, pl->len, &n) == 0) {
		check(inside(n.spi, n.spi_size, pl->p, pl->len));
		check(inside(n.data, n.data_len, pl->p, pl->len));
		pb_init(&b);
		ike_pld_n_put(&b, n.proto, n.spi, n.spi_size, n.type, n.data, n.data_len);
		if (!b.w.err) {
			p = rebuilt(&b, &m);
			check(ike_pld_n_parse(p->p, p->len, &n2) == 0);
			check(n2.proto == n.proto && n2.spi_size == n.spi_size &&
			      n2.type == n.type && n2.data_len == n.data_len &&
			      !memcmp(n.spi, n2.spi, n.spi_size) &&
			      !memcmp(n.data, n2.data, n.data_len));
		}
	}
	if (ike_pld_d_parse(pl->p, pl->len, &d) == 0) {
		check(inside(d.spis, (size_t)d.num * d.spi_size, pl->p, pl->len));
		if (d.spi_size == 4) { /* the builder writes 4-octet SPIs only */
			static uint32_t spis[0x10000];
			for (uint16_t i = 0; i < d.num; i++)
				spis[i] = get_be32(d.spis + 4 * i);
			pb_init(&b);
			ike_pld_d_put(&b, d.proto, d.spi_size, spis, d.num);
			if (!b.w.err) {
				p = rebuilt(&b, &m);
				check(ike_pld_d_parse(p->p, p->len, &d2) == 0);
				check(d2.proto == d.proto && d2.num == d.num &&
				      !memcmp(d.spis, d2.spis, 4 * (size_t)d.num));
			}
		}
	}
	if (ike_pld_ts_parse(pl->p, pl->len, ts, IKE_MAX_TS, &cnt) == 0) {
		check(cnt >= 0 && cnt <= IKE_MAX_TS);
		if (cnt > 0) { /* IPv6 selectors are skipped, so only IPv4 ones come back */
			pb_init(&b);
			ike_pld_ts_put(&b, IKE_PLD_TSI, ts, cnt);
			p = rebuilt(&b, &m);
			check(ike_pld_ts_parse(p->p, p->len, ts2, IKE_MAX_TS, &cnt2) == 0 &&
			      cnt2 == cnt);
			for (int i = 0; i < cnt; i++)
				check(ts2[i].proto == ts[i].proto && ts2[i].sport == ts[i].sport &&
				      ts2[i].eport == ts[i].eport && ts2[i].saddr == ts[i].saddr &&
				      ts2[i].eaddr == ts[i].eaddr);
		}
	}
	(void)ike_pld_nonce_check(pl->len);
}

static void all_payloads(const struct ike_msg *m, const uint8_t *base, size_t cap)
{
	char desc[256];

	check(m->n >= 0 && m->n <= IKE_MAX_PLDS);
	for (int i = 0; i < m->n; i++) {
		const struct ike_pld *pl = &m->pld[i];
		/* Outer payloads lie in the datagram, inner ones in the plaintext. */
		check(inside(pl->p, pl->len, base, cap) ||
		      (m->plain && inside(pl->p, pl->len, m->plain, m->plain_cap)));
		payload_parsers(pl);
	}
	ike_msg_describe(m, desc, sizeof(desc));
	check(strlen(desc) < sizeof(desc));
}

/* View 1: the input is a datagram. */
static void as_datagram(const uint8_t *data, size_t size)
{
	struct ike_msg m;

	if (ike_msg_parse(&m, data, size) == 0) {
		check(m.length == size && (!m.sk || inside(m.sk, m.sk_len, data, size)));
		all_payloads(&m, data, size);
		if (ike_msg_decrypt(&m, &sk_gcm) == 0 || ike_msg_decrypt(&m, &sk_cbc) == 0)
			all_payloads(&m, data, size);
		else
			check(!m.plain && !m.encrypted);
	}
	ike_msg_clear(&m);
}

/* Views 2 and 3: the input is SK plaintext; seal it and open it through the API. */
static void as_plaintext(const uint8_t *data, size_t size, const struct ike_sk *k)
{
	static uint8_t msg[IKE_MSG_MAX];
	size_t ivl = k->aead ? IKE_GCM_IV_LEN : IKE_CBC_IV_LEN, icvl = k->aead ? 16 : k->icv_len;
	size_t ptl, len;
	uint8_t *iv, *ct, nonce[12], mac[PRF_MAX_LEN];
	struct ike_msg m;
	struct wr w;

	if (size < 2)
		return;
	ptl = size - 1;
	if (!k->aead)
		ptl -= ptl % 16;
	len = IKE_HDR_LEN + IKE_PLD_HDR_LEN + ivl + ptl + icvl;
	if (ptl == 0 || len > sizeof(msg))
		return;
	wr_init(&w, msg, len);
	wr_u64(&w, 0x0102030405060708ull);
	wr_u64(&w, 0x1112131415161718ull);
	wr_u8(&w, IKE_PLD_SK);
	wr_u8(&w, IKE_VERSION);
	wr_u8(&w, IKE_AUTH);
	wr_u8(&w, IKE_FLAG_I);
	wr_u32(&w, 1);
	wr_u32(&w, (uint32_t)len);
	wr_u8(&w, data[0]);
	wr_u8(&w, 0);
	wr_u16(&w, (uint16_t)(len - IKE_HDR_LEN));
	iv = msg + IKE_HDR_LEN + IKE_PLD_HDR_LEN;
	ct = iv + ivl;
	memset(iv, 0x5a, ivl);
	if (k->aead) {
		memcpy(nonce, k->ek + k->ek_len, 4);
		memcpy(nonce + 4, iv, 8);
		check(aead_gcm_seal(k->ek, k->ek_len, nonce, msg, (size_t)(iv - msg), data + 1, ptl,
		                    ct, ct + ptl) == 0);
	} else {
		check(aead_cbc(1, k->ek, k->ek_len, iv, data + 1, ptl, ct) == 0);
		check(prf(k->integ_prf, k->ak, k->ak_len, msg, len - icvl, mac) == 0);
		memcpy(ct + ptl, mac, icvl);
	}
	check(ike_msg_parse(&m, msg, len) == 0 && m.n == 0 && m.sk);
	if (ike_msg_decrypt(&m, k) == 0) {
		check(m.encrypted && m.plain && !memcmp(m.plain, data + 1, ptl));
		all_payloads(&m, msg, len);
		check(ike_msg_decrypt(&m, k) == -1); /* never twice */
	} else {
		check(m.n == 0 && !m.plain && !m.encrypted);
	}
	ike_msg_clear(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	keys_init();
	as_datagram(data, size);
	as_plaintext(data, size, &sk_gcm);
	as_plaintext(data, size, &sk_cbc);
	return 0;
}
