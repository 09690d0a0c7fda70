/* IKE header, payload chain and SK payload (RFC 7296 §3.1, §3.2, §3.14; RFC 5282). */
#include "ike/ike_msg.h"
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include "crypto/aead.h"
#include "crypto/prf.h"

void ike_msg_clear(struct ike_msg *m)
{
	if (!m)
		return;
	if (m->plain) {
		OPENSSL_cleanse(m->plain, m->plain_cap);
		free(m->plain);
	}
	memset(m, 0, sizeof(*m));
}

static int ike_known_payload(uint8_t t)
{
	return (t >= IKE_PLD_SA && t <= IKE_PLD_EAP) || t == IKE_PLD_SKF;
}

/* Walk a chain of generic payloads starting with type `next`. The three
 * length checks (header fits, declared length fits, declared >= header)
 * happen before any field is used. */
static int ike_msg_chain(struct ike_msg *m, uint8_t next, const uint8_t *p, size_t len, int inner)
{
	struct rd r;

	rd_init(&r, p, len);
	while (next != IKE_PLD_NONE) {
		uint8_t np, crit;
		uint16_t plen;
		const uint8_t *body;

		if (rd_left(&r) < IKE_PLD_HDR_LEN || m->n >= IKE_MAX_PLDS)
			return -1;
		rd_u8(&r, &np);
		rd_u8(&r, &crit);
		rd_u16(&r, &plen);
		if (plen < IKE_PLD_HDR_LEN || rd_ptr(&r, plen - IKE_PLD_HDR_LEN, &body))
			return -1;
		if (next == IKE_PLD_SK) {
			/* SK must be the last outer payload; its Next Payload names the first inner one. */
			if (inner || rd_left(&r) != 0)
				return -1;
			m->sk_first = np;
			m->sk = body;
			m->sk_len = plen - IKE_PLD_HDR_LEN;
			return 0;
		}
		if (!ike_known_payload(next) && (crit & IKE_PLD_CRITICAL) && !m->unknown_critical)
			m->unknown_critical = next;
		m->pld[m->n++] = (struct ike_pld){next, (uint8_t)(crit & IKE_PLD_CRITICAL), body,
						  plen - IKE_PLD_HDR_LEN};
		next = np;
	}
	/* Trailing bytes after the last payload are malformed. */
	return rd_left(&r) == 0 ? 0 : -1;
}

int ike_msg_parse(struct ike_msg *m, const uint8_t *p, size_t len)
{
	struct rd r;

	memset(m, 0, sizeof(*m));
	rd_init(&r, p, len);
	if (rd_u64(&r, &m->spi_i) || rd_u64(&r, &m->spi_r) || rd_u8(&r, &m->next) ||
	    rd_u8(&r, &m->version) || rd_u8(&r, &m->exch) || rd_u8(&r, &m->flags) ||
	    rd_u32(&r, &m->msgid) || rd_u32(&r, &m->length))
		return -1;
	if ((m->version & 0xf0) != IKE_VERSION || m->length != len || len > IKE_MSG_MAX)
		return -1;
	m->raw = p;
	m->raw_len = len;
	return ike_msg_chain(m, m->next, p + IKE_HDR_LEN, len - IKE_HDR_LEN, 0);
}

static size_t ike_sk_iv_len(const struct ike_sk *k)
{
	return k->aead ? IKE_GCM_IV_LEN : IKE_CBC_IV_LEN;
}

static size_t ike_sk_icv_len(const struct ike_sk *k)
{
	return k->aead ? IKE_GCM_ICV_LEN : k->icv_len;
}

/* A failed call leaves m as ike_msg_parse() left it (no inner payloads, no
 * buffer), so the caller may retry with other keys; a decrypted message is
 * never decrypted twice. */
int ike_msg_decrypt(struct ike_msg *m, const struct ike_sk *k)
{
	size_t ivl = ike_sk_iv_len(k), icvl = ike_sk_icv_len(k), ctl;
	const uint8_t *iv, *ct, *icv;
	int n_outer = m->n;
	uint8_t pad, crit_outer = m->unknown_critical;
	int rc = -1;

	if (!m->sk || m->plain || m->sk_len < ivl + icvl + 1)
		return -1; /* nothing to undo yet */
	iv = m->sk;
	ct = m->sk + ivl;
	ctl = m->sk_len - ivl - icvl;
	icv = ct + ctl;
	if (!(m->plain = malloc(ctl + 16)))
		goto out;
	m->plain_cap = ctl + 16;
	if (k->aead) {
		uint8_t nonce[12];
		/* AAD: IKE header through the end of the SK generic header. */
		size_t aadlen = (size_t)(m->sk - m->raw);
		memcpy(nonce, k->ek + k->ek_len, IKE_GCM_SALT_LEN);
		memcpy(nonce + 4, iv, IKE_GCM_IV_LEN);
		if (aead_gcm_open(k->ek, k->ek_len, nonce, m->raw, aadlen, ct, ctl, m->plain, icv))
			goto out;
	} else {
		uint8_t mac[PRF_MAX_LEN];
		/* Checksum covers the message from the IKE header to the end of the ciphertext. */
		if (ctl % 16 || prf(k->integ_prf, k->ak, k->ak_len, m->raw, (size_t)(icv - m->raw), mac) ||
		    CRYPTO_memcmp(mac, icv, icvl))
			goto out;
		if (aead_cbc(0, k->ek, k->ek_len, iv, ct, ctl, m->plain))
			goto out;
	}
	pad = m->plain[ctl - 1];
	if ((size_t)pad + 1 > ctl)
		goto out;
	rc = ike_msg_chain(m, m->sk_first, m->plain, ctl - 1 - pad, 1);
out:
	if (rc == 0) {
		m->encrypted = 1;
	} else if (m->plain) {
		OPENSSL_cleanse(m->plain, m->plain_cap);
		free(m->plain);
		m->plain = NULL;
		m->plain_cap = 0;
		m->n = n_outer;
		m->unknown_critical = crit_outer;
	}
	return rc;
}

const struct ike_pld *ike_msg_find(const struct ike_msg *m, uint8_t type)
{
	for (int i = 0; i < m->n; i++)
		if (m->pld[i].type == type)
			return &m->pld[i];
	return NULL;
}

int ike_msg_notify(const struct ike_msg *m, uint16_t type, struct ike_notify_pld *out)
{
	struct ike_notify_pld n;

	for (int i = 0; i < m->n; i++)
		if (m->pld[i].type == IKE_PLD_N && !ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &n) &&
		    n.type == type) {
			if (out)
				*out = n;
			return 1;
		}
	return 0;
}

uint16_t ike_msg_error(const struct ike_msg *m)
{
	struct ike_notify_pld n;

	for (int i = 0; i < m->n; i++)
		if (m->pld[i].type == IKE_PLD_N && !ike_pld_n_parse(m->pld[i].p, m->pld[i].len, &n) &&
		    n.type <= N_ERROR_MAX)
			return n.type;
	return 0;
}

void pb_init(struct ike_pb *b)
{
	wr_init(&b->w, b->buf, sizeof(b->buf));
	b->prev = SIZE_MAX;
	b->first = IKE_PLD_NONE;
}

size_t pb_begin(struct ike_pb *b, uint8_t type)
{
	size_t start = b->w.len;

	if (b->prev == SIZE_MAX)
		b->first = type;
	else if (!b->w.err)
		b->buf[b->prev] = type;
	wr_u8(&b->w, IKE_PLD_NONE);
	wr_u8(&b->w, 0);
	wr_u16(&b->w, 0);
	b->prev = start;
	return start;
}

void pb_end(struct ike_pb *b, size_t start)
{
	if (b->w.err || b->w.len - start > 0xffff) {
		b->w.err = -1;
		return;
	}
	put_be16(b->buf + start + 2, (uint16_t)(b->w.len - start));
}

static void ike_hdr_put(struct wr *w, const struct ike_hdr *h, uint8_t next)
{
	wr_u64(w, h->spi_i);
	wr_u64(w, h->spi_r);
	wr_u8(w, next);
	wr_u8(w, IKE_VERSION);
	wr_u8(w, h->exch);
	wr_u8(w, h->flags);
	wr_u32(w, h->msgid);
	wr_u32(w, 0); /* length, patched */
}

int ike_msg_build(const struct ike_hdr *h, const struct ike_pb *b, const struct ike_sk *k,
		  uint8_t *out, size_t cap)
{
	struct wr w;
	size_t ivl, icvl, plen, padn, ctl, sk_start;
	uint8_t *iv, *ct, *icv;

	if (b->w.err)
		return -1;
	wr_init(&w, out, cap);
	if (!k) {
		ike_hdr_put(&w, h, b->first);
		wr_bytes(&w, b->buf, b->w.len);
		if (w.err)
			return -1;
		put_be32(out + 24, (uint32_t)w.len);
		return (int)w.len;
	}
	ivl = ike_sk_iv_len(k);
	icvl = ike_sk_icv_len(k);
	plen = b->w.len + 1; /* payloads + pad length octet */
	padn = k->aead ? 0 : (16 - plen % 16) % 16;
	ctl = plen + padn;
	ike_hdr_put(&w, h, IKE_PLD_SK);
	sk_start = w.len;
	wr_u8(&w, b->first);
	wr_u8(&w, 0);
	wr_u16(&w, (uint16_t)(IKE_PLD_HDR_LEN + ivl + ctl + icvl));
	iv = wr_reserve(&w, ivl);
	ct = wr_reserve(&w, ctl);
	icv = wr_reserve(&w, icvl);
	if (w.err || IKE_PLD_HDR_LEN + ivl + ctl + icvl > 0xffff)
		return -1;
	put_be32(out + 24, (uint32_t)w.len);
	if (RAND_bytes(iv, (int)ivl) != 1)
		return -1;
	memcpy(ct, b->buf, b->w.len);
	memset(ct + b->w.len, 0, padn);
	ct[ctl - 1] = (uint8_t)padn;
	if (k->aead) {
		uint8_t nonce[12];
		memcpy(nonce, k->ek + k->ek_len, IKE_GCM_SALT_LEN);
		memcpy(nonce + 4, iv, IKE_GCM_IV_LEN);
		if (aead_gcm_seal(k->ek, k->ek_len, nonce, out, sk_start + IKE_PLD_HDR_LEN, ct, ctl, ct,
				  icv))
			return -1;
	} else {
		uint8_t mac[PRF_MAX_LEN];
		if (aead_cbc(1, k->ek, k->ek_len, iv, ct, ctl, ct) ||
		    prf(k->integ_prf, k->ak, k->ak_len, out, (size_t)(icv - out), mac))
			return -1;
		memcpy(icv, mac, icvl);
	}
	return (int)w.len;
}

const char *ike_exch_name(int exch)
{
	switch (exch) {
	case IKE_SA_INIT:
		return "IKE_SA_INIT";
	case IKE_AUTH:
		return "IKE_AUTH";
	case CREATE_CHILD_SA:
		return "CREATE_CHILD_SA";
	case INFORMATIONAL:
		return "INFORMATIONAL";
	}
	return "UNKNOWN";
}

const char *ike_notify_name(int type)
{
	switch (type) {
	case N_UNSUPPORTED_CRITICAL_PAYLOAD: return "UNSUPPORTED_CRITICAL_PAYLOAD";
	case N_INVALID_IKE_SPI: return "INVALID_IKE_SPI";
	case N_INVALID_MAJOR_VERSION: return "INVALID_MAJOR_VERSION";
	case N_INVALID_SYNTAX: return "INVALID_SYNTAX";
	case N_INVALID_MESSAGE_ID: return "INVALID_MESSAGE_ID";
	case N_INVALID_SPI: return "INVALID_SPI";
	case N_NO_PROPOSAL_CHOSEN: return "NO_PROPOSAL_CHOSEN";
	case N_INVALID_KE_PAYLOAD: return "INVALID_KE_PAYLOAD";
	case N_AUTHENTICATION_FAILED: return "AUTHENTICATION_FAILED";
	case N_SINGLE_PAIR_REQUIRED: return "SINGLE_PAIR_REQUIRED";
	case N_NO_ADDITIONAL_SAS: return "NO_ADDITIONAL_SAS";
	case N_TS_UNACCEPTABLE: return "TS_UNACCEPTABLE";
	case N_INVALID_SELECTORS: return "INVALID_SELECTORS";
	case N_TEMPORARY_FAILURE: return "TEMPORARY_FAILURE";
	case N_CHILD_SA_NOT_FOUND: return "CHILD_SA_NOT_FOUND";
	case N_INITIAL_CONTACT: return "INITIAL_CONTACT";
	case N_SET_WINDOW_SIZE: return "SET_WINDOW_SIZE";
	case N_NAT_DETECTION_SOURCE_IP: return "NAT_DETECTION_SOURCE_IP";
	case N_NAT_DETECTION_DESTINATION_IP: return "NAT_DETECTION_DESTINATION_IP";
	case N_COOKIE: return "COOKIE";
	case N_USE_TRANSPORT_MODE: return "USE_TRANSPORT_MODE";
	case N_REKEY_SA: return "REKEY_SA";
	case N_ESP_TFC_PADDING_NOT_SUPPORTED: return "ESP_TFC_PADDING_NOT_SUPPORTED";
	case N_NON_FIRST_FRAGMENTS_ALSO: return "NON_FIRST_FRAGMENTS_ALSO";
	case N_MOBIKE_SUPPORTED: return "MOBIKE_SUPPORTED";
	}
	return NULL;
}

static const char *ike_pld_name(uint8_t t)
{
	static const char *n[] = {"SA", "KE", "IDi", "IDr", "CERT", "CERTREQ", "AUTH", "No", "N",
				  "D", "V", "TSi", "TSr", "SK", "CP", "EAP"};
	if (t >= IKE_PLD_SA && t <= IKE_PLD_EAP)
		return n[t - IKE_PLD_SA];
	return NULL;
}

void ike_msg_describe(const struct ike_msg *m, char *buf, size_t cap)
{
	size_t off = 0;

	if (!cap)
		return;
	buf[0] = 0;
	for (int i = 0; i < m->n && off + 1 < cap; i++) {
		const struct ike_pld *pl = &m->pld[i];
		const char *nm = ike_pld_name(pl->type);
		int k;
		if (pl->type == IKE_PLD_N && pl->len >= 4) {
			uint16_t nt = get_be16(pl->p + 2);
			const char *nn = ike_notify_name(nt);
			k = nn ? snprintf(buf + off, cap - off, "%sN(%s)", off ? " " : "", nn)
			       : snprintf(buf + off, cap - off, "%sN(%u)", off ? " " : "", nt);
		} else if (nm) {
			k = snprintf(buf + off, cap - off, "%s%s", off ? " " : "", nm);
		} else {
			k = snprintf(buf + off, cap - off, "%s(%u)", off ? " " : "", pl->type);
		}
		if (k < 0 || (size_t)k >= cap - off)
			break;
		off += (size_t)k;
	}
}

void ike_pb_describe(const struct ike_pb *b, char *buf, size_t cap)
{
	struct ike_msg m;

	memset(&m, 0, sizeof(m));
	if (b->w.err || ike_msg_chain(&m, b->first, b->buf, b->w.len, 1)) {
		snprintf(buf, cap, "(unparsable)");
		return;
	}
	ike_msg_describe(&m, buf, cap);
}
