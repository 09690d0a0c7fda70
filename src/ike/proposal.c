/* Proposal construction and selection. */
#include "ike/proposal.h"
#include <string.h>
#include "crypto/dh.h"

int prop_from_cfg(const struct cfg_proposal *c, struct ike_cfgprop *out, int max)
{
	struct ike_cfgprop a, n;
	int k = 0;

	memset(&a, 0, sizeof(a));
	memset(&n, 0, sizeof(n));
	for (int i = 0; i < c->n_encr && i < CFG_MAX_ALGS; i++) {
		int gcm = c->encr[i] == CFG_ENCR_AES_GCM_128 || c->encr[i] == CFG_ENCR_AES_GCM_256;
		uint16_t kl = c->encr[i] == CFG_ENCR_AES_CBC_128 || c->encr[i] == CFG_ENCR_AES_GCM_128 ? 128 : 256;
		struct ike_cfgprop *p = gcm ? &a : &n;
		p->encr[p->n_encr] = gcm ? ENCR_AES_GCM_16 : ENCR_AES_CBC;
		p->encr_klen[p->n_encr++] = kl;
	}
	for (int i = 0; i < c->n_integ && i < CFG_MAX_ALGS; i++) {
		uint16_t id = c->integ[i] == CFG_INTEG_SHA256   ? AUTH_HMAC_SHA2_256_128
			      : c->integ[i] == CFG_INTEG_SHA384 ? AUTH_HMAC_SHA2_384_192
			      : c->integ[i] == CFG_INTEG_SHA512 ? AUTH_HMAC_SHA2_512_256
								: 0;
		if (id)
			n.integ[n.n_integ++] = id;
	}
	for (int i = 0; i < c->n_prf && i < CFG_MAX_ALGS; i++) {
		uint16_t id = (uint16_t)(PRF_HMAC_SHA2_256_ID + (c->prf[i] - CFG_PRF_SHA256));
		a.prf[a.n_prf++] = id;
		n.prf[n.n_prf++] = id;
	}
	if (!n.n_prf) /* IOS: without "prf", the PRF follows the integrity algorithms */
		for (int i = 0; i < n.n_integ; i++)
			n.prf[n.n_prf++] = (uint16_t)(PRF_HMAC_SHA2_256_ID + (n.integ[i] - AUTH_HMAC_SHA2_256_128));
	if (!a.n_prf)
		a.prf[a.n_prf++] = PRF_HMAC_SHA2_256_ID;
	for (int i = 0; i < c->n_group && i < CFG_MAX_ALGS; i++)
		if (dh_supported(c->group[i])) {
			a.dh[a.n_dh++] = (uint16_t)c->group[i];
			n.dh[n.n_dh++] = (uint16_t)c->group[i];
		}
	if (a.n_encr && a.n_dh && k < max)
		out[k++] = a;
	if (n.n_encr && n.n_integ && n.n_prf && n.n_dh && k < max)
		out[k++] = n;
	return k;
}

static void prop_add(struct ike_prop *p, uint8_t type, uint16_t id, uint16_t klen)
{
	if (p->n < IKE_MAX_XF)
		p->xf[p->n++] = (struct ike_xf){type, id, klen};
}

int prop_ike_offer(const struct ike_cfgprop *cp, int n, uint8_t spi_size, uint64_t spi,
		   struct ike_prop *out, int max)
{
	int k = 0;
	for (int i = 0; i < n && k < max; i++, k++) {
		struct ike_prop *p = &out[k];
		memset(p, 0, sizeof(*p));
		p->num = (uint8_t)(k + 1);
		p->proto = IKE_PROTO_IKE;
		p->spi_size = spi_size;
		p->spi = spi;
		for (int j = 0; j < cp[i].n_encr; j++)
			prop_add(p, IKE_XF_ENCR, cp[i].encr[j], cp[i].encr_klen[j]);
		for (int j = 0; j < cp[i].n_prf; j++)
			prop_add(p, IKE_XF_PRF, cp[i].prf[j], 0);
		for (int j = 0; j < cp[i].n_integ; j++)
			prop_add(p, IKE_XF_INTEG, cp[i].integ[j], 0);
		for (int j = 0; j < cp[i].n_dh; j++)
			prop_add(p, IKE_XF_DH, cp[i].dh[j], 0);
	}
	return k;
}

/* Does the received proposal offer transform (type, id, klen)? */
static int prop_has(const struct ike_prop *p, uint8_t type, uint16_t id, uint16_t klen)
{
	for (int i = 0; i < p->n; i++)
		if (p->xf[i].type == type && p->xf[i].id == id && p->xf[i].klen == klen)
			return 1;
	return 0;
}

static int prop_count(const struct ike_prop *p, uint8_t type)
{
	int c = 0;
	for (int i = 0; i < p->n; i++)
		c += p->xf[i].type == type;
	return c;
}

int prop_ike_select(const struct ike_cfgprop *cp, int n, const struct ike_prop *rx, int nrx,
		    uint16_t ke_group, struct ike_sel *sel)
{
	int alt = -1;
	struct ike_sel alt_sel;

	/* Peer's order decides (§2.7); our proposals filter. */
	for (int r = 0; r < nrx; r++) {
		const struct ike_prop *p = &rx[r];
		if (p->proto != IKE_PROTO_IKE)
			continue;
		for (int i = 0; i < n; i++) {
			struct ike_sel s = {.num = p->num, .spi = p->spi};
			int ok = 0;
			for (int j = 0; j < cp[i].n_encr && !ok; j++)
				if (prop_has(p, IKE_XF_ENCR, cp[i].encr[j], cp[i].encr_klen[j]))
					s.encr = cp[i].encr[j], s.klen = cp[i].encr_klen[j], ok = 1;
			if (!ok)
				continue;
			ok = 0;
			for (int j = 0; j < cp[i].n_prf && !ok; j++)
				if (prop_has(p, IKE_XF_PRF, cp[i].prf[j], 0))
					s.prf = cp[i].prf[j], ok = 1;
			if (!ok)
				continue;
			if (s.encr == ENCR_AES_GCM_16) {
				/* AEAD: no integrity, or only "NONE" */
				if (prop_count(p, IKE_XF_INTEG) && !prop_has(p, IKE_XF_INTEG, AUTH_NONE, 0))
					continue;
			} else {
				ok = 0;
				for (int j = 0; j < cp[i].n_integ && !ok; j++)
					if (prop_has(p, IKE_XF_INTEG, cp[i].integ[j], 0))
						s.integ = cp[i].integ[j], ok = 1;
				if (!ok)
					continue;
			}
			if (prop_has(p, IKE_XF_DH, ke_group, 0)) {
				for (int j = 0; j < cp[i].n_dh; j++)
					if (cp[i].dh[j] == ke_group) {
						s.dh = ke_group;
						*sel = s;
						return 0;
					}
			}
			for (int j = 0; j < cp[i].n_dh && alt < 0; j++)
				if (prop_has(p, IKE_XF_DH, cp[i].dh[j], 0)) {
					alt_sel = s;
					alt_sel.dh = cp[i].dh[j];
					alt = 1;
				}
		}
	}
	if (alt > 0) {
		*sel = alt_sel;
		return 1;
	}
	return -1;
}

int prop_esp_ids(enum cfg_esp_cipher c, enum cfg_esp_auth a, uint16_t *encr, uint16_t *klen,
		 uint16_t *integ)
{
	switch (c) {
	case CFG_ESP_GCM_128:
		*encr = ENCR_AES_GCM_16, *klen = 128;
		break;
	case CFG_ESP_GCM_256:
		*encr = ENCR_AES_GCM_16, *klen = 256;
		break;
	case CFG_ESP_AES_128:
		*encr = ENCR_AES_CBC, *klen = 128;
		break;
	case CFG_ESP_AES_256:
		*encr = ENCR_AES_CBC, *klen = 256;
		break;
	default:
		return -1;
	}
	*integ = a == CFG_ESP_SHA256   ? AUTH_HMAC_SHA2_256_128
		 : a == CFG_ESP_SHA384 ? AUTH_HMAC_SHA2_384_192
		 : a == CFG_ESP_SHA512 ? AUTH_HMAC_SHA2_512_256
				       : AUTH_NONE;
	if ((*encr == ENCR_AES_GCM_16) != (*integ == AUTH_NONE))
		return -1;
	return 0;
}

void prop_esp_offer(enum cfg_esp_cipher c, enum cfg_esp_auth a, uint16_t dh, uint32_t spi,
		    struct ike_prop *out)
{
	uint16_t encr = 0, klen = 0, integ = 0;

	memset(out, 0, sizeof(*out));
	out->num = 1;
	out->proto = IKE_PROTO_ESP;
	out->spi_size = 4;
	out->spi = spi;
	prop_esp_ids(c, a, &encr, &klen, &integ);
	prop_add(out, IKE_XF_ENCR, encr, klen);
	if (integ)
		prop_add(out, IKE_XF_INTEG, integ, 0);
	if (dh)
		prop_add(out, IKE_XF_DH, dh, 0);
	prop_add(out, IKE_XF_ESN, ESN_NO, 0);
}

int prop_esp_select(enum cfg_esp_cipher c, enum cfg_esp_auth a, int pfs, const struct ike_prop *rx,
		    int nrx, int ke_group, struct ike_sel *sel)
{
	uint16_t encr, klen, integ;
	int alt = 0;

	if (prop_esp_ids(c, a, &encr, &klen, &integ))
		return -1;
	for (int r = 0; r < nrx; r++) {
		const struct ike_prop *p = &rx[r];
		struct ike_sel s = {.num = p->num, .encr = encr, .klen = klen, .integ = integ,
				    .spi = p->spi};
		if (p->proto != IKE_PROTO_ESP || p->spi_size != 4 || !prop_has(p, IKE_XF_ENCR, encr, klen))
			continue;
		if (integ ? !prop_has(p, IKE_XF_INTEG, integ, 0)
			  : prop_count(p, IKE_XF_INTEG) && !prop_has(p, IKE_XF_INTEG, AUTH_NONE, 0))
			continue;
		/* We do not do ESN: "no ESN" must be allowed (an absent ESN transform means no). */
		if (prop_count(p, IKE_XF_ESN) && !prop_has(p, IKE_XF_ESN, ESN_NO, 0))
			continue;
		if (ke_group > 0) {
			if (!prop_has(p, IKE_XF_DH, (uint16_t)ke_group, 0)) {
				if (pfs && prop_has(p, IKE_XF_DH, (uint16_t)pfs, 0))
					alt = pfs;
				continue;
			}
			if (pfs && ke_group != pfs) {
				if (prop_has(p, IKE_XF_DH, (uint16_t)pfs, 0))
					alt = pfs;
				continue;
			}
			if (!dh_supported(ke_group))
				continue;
			s.dh = (uint16_t)ke_group;
		} else if (ke_group == 0) {
			/* No KE: acceptable only if the proposal allows no DH and we need no PFS. */
			if (pfs || (prop_count(p, IKE_XF_DH) && !prop_has(p, IKE_XF_DH, 0, 0)))
				continue;
		}
		*sel = s;
		return 0;
	}
	if (alt) {
		sel->dh = (uint16_t)alt;
		return 1;
	}
	return -1;
}

void prop_from_sel(const struct ike_sel *s, uint8_t proto, uint8_t spi_size, uint64_t spi,
		   struct ike_prop *out)
{
	memset(out, 0, sizeof(*out));
	out->num = s->num;
	out->proto = proto;
	out->spi_size = spi_size;
	out->spi = spi;
	prop_add(out, IKE_XF_ENCR, s->encr, s->klen);
	if (proto == IKE_PROTO_IKE)
		prop_add(out, IKE_XF_PRF, s->prf, 0);
	if (s->integ)
		prop_add(out, IKE_XF_INTEG, s->integ, 0);
	if (s->dh)
		prop_add(out, IKE_XF_DH, s->dh, 0);
	if (proto == IKE_PROTO_ESP)
		prop_add(out, IKE_XF_ESN, ESN_NO, 0);
}

const char *prop_encr_name(uint16_t encr, uint16_t klen)
{
	if (encr == ENCR_AES_GCM_16)
		return klen == 128 ? "AES-GCM-128" : "AES-GCM-256";
	if (encr == ENCR_AES_CBC)
		return klen == 128 ? "AES-CBC-128" : "AES-CBC-256";
	return "unknown";
}

const char *prop_prf_name(uint16_t p)
{
	return p == PRF_HMAC_SHA2_256_ID ? "SHA256" : p == PRF_HMAC_SHA2_384_ID ? "SHA384"
						 : p == PRF_HMAC_SHA2_512_ID ? "SHA512" : "None";
}

const char *prop_integ_name(uint16_t i)
{
	return i == AUTH_HMAC_SHA2_256_128 ? "SHA256" : i == AUTH_HMAC_SHA2_384_192 ? "SHA384"
						 : i == AUTH_HMAC_SHA2_512_256 ? "SHA512" : "None";
}
