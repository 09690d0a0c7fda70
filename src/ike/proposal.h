/* SA proposals: build our offers from the configuration and select from the
 * peer's (RFC 7296 §2.7, §3.3). AEAD and non-AEAD ciphers never share a
 * proposal (§3.3.3), so one configured proposal may become two. */
#ifndef INSYNC_PROPOSAL_H
#define INSYNC_PROPOSAL_H
#include "ike/keymat.h"
#include "ops/config.h"

#define PROP_MAX_CFG 16
struct ike_cfgprop {
	int n_encr, n_prf, n_integ, n_dh;
	uint16_t encr[CFG_MAX_ALGS], encr_klen[CFG_MAX_ALGS];
	uint16_t prf[CFG_MAX_ALGS], integ[CFG_MAX_ALGS], dh[CFG_MAX_ALGS];
};

/* Convert one configured IKE proposal; returns how many entries (0..2) were written. */
int prop_from_cfg(const struct cfg_proposal *c, struct ike_cfgprop *out, int max);
/* Our IKE offer: one proposal per entry (spi_size 0 in IKE_SA_INIT, 8 when rekeying). */
int prop_ike_offer(const struct ike_cfgprop *cp, int n, uint8_t spi_size, uint64_t spi,
		   struct ike_prop *out, int max);
/* Pick from the peer's IKE proposals. ke_group: the group of the KE payload.
 * Returns 0 (sel set), 1 when only another DH group would do (sel->dh = the
 * group to ask for with INVALID_KE_PAYLOAD), -1 when nothing matches. */
int prop_ike_select(const struct ike_cfgprop *cp, int n, const struct ike_prop *rx, int nrx,
		    uint16_t ke_group, struct ike_sel *sel);
/* Map a configured ESP transform to IANA ids. */
int prop_esp_ids(enum cfg_esp_cipher c, enum cfg_esp_auth a, uint16_t *encr, uint16_t *klen,
		 uint16_t *integ);
/* Our ESP offer (one proposal): dh 0 = no PFS. */
void prop_esp_offer(enum cfg_esp_cipher c, enum cfg_esp_auth a, uint16_t dh, uint32_t spi,
		    struct ike_prop *out);
/* Pick from the peer's ESP proposals. ke_group: -1 ignore DH transforms
 * (IKE_AUTH), 0 no KE payload (no DH allowed), else the KE group (must be
 * offered; pfs_required: our configured group or 0). Same returns as above. */
int prop_esp_select(enum cfg_esp_cipher c, enum cfg_esp_auth a, int pfs, const struct ike_prop *rx,
		    int nrx, int ke_group, struct ike_sel *sel);
/* The chosen proposal as a one-transform-per-type proposal. */
void prop_from_sel(const struct ike_sel *s, uint8_t proto, uint8_t spi_size, uint64_t spi,
		   struct ike_prop *out);
/* "AES-GCM-256", "SHA256", ... for show output. */
const char *prop_encr_name(uint16_t encr, uint16_t klen);
const char *prop_prf_name(uint16_t prf);
const char *prop_integ_name(uint16_t integ);
#endif
