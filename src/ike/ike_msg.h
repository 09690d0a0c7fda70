/* IKE message codec: header, payload chain, SK payload (encrypt/decrypt), and
 * the payload codecs of ike_pld.c. Every decoder takes (p, len), checks each
 * length before it reads and returns 0 or -1; nothing here has side effects. */
#ifndef INSYNC_IKE_MSG_H
#define INSYNC_IKE_MSG_H
#include <stddef.h>
#include <stdint.h>
#include "ike/ike_wire.h"
#include "util/buf.h"

#define IKE_MAX_PLDS 48
#define IKE_BUILD_MAX 8192

struct ike_pld {
	uint8_t type, crit;
	const uint8_t *p; /* body, after the generic header */
	size_t len;
};

struct ike_msg {
	uint64_t spi_i, spi_r;
	uint8_t next, version, exch, flags;
	uint32_t msgid, length;
	const uint8_t *raw;
	size_t raw_len;
	int n;
	struct ike_pld pld[IKE_MAX_PLDS];
	int encrypted;      /* the payloads came out of an SK payload */
	uint8_t sk_first;   /* first inner payload type (SK's next payload) */
	const uint8_t *sk;  /* the SK payload body (IV || ct || ICV) */
	size_t sk_len;
	uint8_t *plain;     /* decrypted buffer (heap) */
	size_t plain_cap;
	uint8_t unknown_critical; /* type of an unknown critical payload, 0 = none */
};

/* SK protection parameters for one direction. */
struct ike_sk {
	int aead;           /* AES-GCM-16 (RFC 5282) */
	const uint8_t *ek;  /* encryption key (GCM: key || salt) */
	size_t ek_len;      /* without salt */
	int integ_prf;      /* PRF id whose HMAC is the integrity alg (CBC) */
	const uint8_t *ak;
	size_t ak_len, icv_len;
};

/* Header + outer payload chain. The SK payload, if present, must be last. */
int ike_msg_parse(struct ike_msg *m, const uint8_t *p, size_t len);
/* Verify and decrypt the SK payload and parse the inner chain into m->pld. */
int ike_msg_decrypt(struct ike_msg *m, const struct ike_sk *k);
void ike_msg_clear(struct ike_msg *m);
/* Find the first payload of a type, or NULL. */
const struct ike_pld *ike_msg_find(const struct ike_msg *m, uint8_t type);
struct ike_notify_pld;
/* The first notify of a type (parsed into *n, which may be NULL): 1 if found. */
int ike_msg_notify(const struct ike_msg *m, uint16_t type, struct ike_notify_pld *n);
/* The type of the first error notify (< 16384), or 0. */
uint16_t ike_msg_error(const struct ike_msg *m);
/* "SA KE No N(NATD_S_IP) ..." for debug output. */
void ike_msg_describe(const struct ike_msg *m, char *buf, size_t cap);
const char *ike_exch_name(int exch);
const char *ike_notify_name(int type);

/* Payload chain builder: pb_begin writes a generic header and links it into
 * the previous payload's Next Payload field; pb_end fixes the length. */
struct ike_pb {
	struct wr w;
	size_t prev; /* offset of the previous payload header, SIZE_MAX if none */
	uint8_t first;
	uint8_t buf[IKE_BUILD_MAX];
};
void pb_init(struct ike_pb *b);
size_t pb_begin(struct ike_pb *b, uint8_t type);
void pb_end(struct ike_pb *b, size_t start);

struct ike_hdr {
	uint64_t spi_i, spi_r;
	uint8_t exch, flags;
	uint32_t msgid;
};
/* Assemble a message: header + the chain in b, wrapped in SK when k != NULL.
 * Returns the length written into out, or -1. */
int ike_msg_build(const struct ike_hdr *h, const struct ike_pb *b, const struct ike_sk *k,
		  uint8_t *out, size_t cap);

/* Describe a built chain (for debug output of what we send). */
void ike_pb_describe(const struct ike_pb *b, char *buf, size_t cap);

/* ---- payload codecs (ike_pld.c) ---- */
#define IKE_MAX_XF 32
#define IKE_MAX_PROPS 16
struct ike_xf {
	uint8_t type;
	uint16_t id;
	uint16_t klen; /* key length attribute in bits, 0 = absent */
};
struct ike_prop {
	uint8_t num, proto, spi_size;
	uint64_t spi;
	int n;
	struct ike_xf xf[IKE_MAX_XF];
};
/* Proposals with unknown attributes keep the transform but mark klen 0xffff. */
int ike_pld_sa_parse(const uint8_t *p, size_t len, struct ike_prop *v, int max, int *n);
void ike_pld_sa_put(struct ike_pb *b, const struct ike_prop *v, int n);

int ike_pld_ke_parse(const uint8_t *p, size_t len, uint16_t *group, const uint8_t **data,
		     size_t *dlen);
void ike_pld_ke_put(struct ike_pb *b, uint16_t group, const uint8_t *data, size_t len);
void ike_pld_nonce_put(struct ike_pb *b, const uint8_t *n, size_t len);
int ike_pld_nonce_check(size_t len);

struct ike_id {
	uint8_t type;
	uint8_t data[255];
	size_t len;
};
int ike_pld_id_parse(const uint8_t *p, size_t len, struct ike_id *id);
void ike_pld_id_put(struct ike_pb *b, uint8_t type, const struct ike_id *id);
/* Printable form ("192.0.2.1", "host.example", "keyid") */
void ike_id_str(const struct ike_id *id, char *buf, size_t cap);

int ike_pld_auth_parse(const uint8_t *p, size_t len, uint8_t *method, const uint8_t **data,
		       size_t *dlen);
void ike_pld_auth_put(struct ike_pb *b, uint8_t method, const uint8_t *data, size_t len);

struct ike_notify_pld {
	uint8_t proto, spi_size;
	uint16_t type;
	const uint8_t *spi, *data;
	size_t data_len;
};
int ike_pld_n_parse(const uint8_t *p, size_t len, struct ike_notify_pld *n);
void ike_pld_n_put(struct ike_pb *b, uint8_t proto, const uint8_t *spi, uint8_t spi_size,
		   uint16_t type, const uint8_t *data, size_t dlen);

struct ike_delete_pld {
	uint8_t proto, spi_size;
	uint16_t num;
	const uint8_t *spis;
};
int ike_pld_d_parse(const uint8_t *p, size_t len, struct ike_delete_pld *d);
void ike_pld_d_put(struct ike_pb *b, uint8_t proto, uint8_t spi_size, const uint32_t *spis,
		   uint16_t num);

/* Traffic selectors: IPv4 ranges only; IPv6 selectors are parsed and skipped. */
#define IKE_MAX_TS 8
struct ike_ts {
	uint8_t proto;
	uint16_t sport, eport;
	uint32_t saddr, eaddr; /* host order */
};
int ike_pld_ts_parse(const uint8_t *p, size_t len, struct ike_ts *v, int max, int *n);
void ike_pld_ts_put(struct ike_pb *b, uint8_t type, const struct ike_ts *v, int n);
#endif
