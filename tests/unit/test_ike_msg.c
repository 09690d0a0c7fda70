/* IKE message codec (ike_msg.c) and payload codecs (ike_pld.c): build -> parse
 * round trips for every payload, SK protection with AES-GCM and AES-CBC+HMAC,
 * and tables of malformed messages and payload bodies that must fail with -1.
 * Hand-written wire bytes are hex strings laid out like the RFC diagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include "crypto/aead.h"
#include "crypto/prf.h"
#include "ike/ike_msg.h"

#define SPI_I 0x0011223344556677ull
#define SPI_R 0x8899aabbccddeeffull
#define BIG (IKE_MSG_MAX + 64)

static uint8_t gcm_key[32 + IKE_GCM_SALT_LEN]; /* key || salt */
static uint8_t gcm128_key[16 + IKE_GCM_SALT_LEN];
static uint8_t cbc_ek[32], cbc_ak[32];
static struct ike_sk sk_gcm, sk_gcm128, sk_cbc;

static int setup_keys(void **state)
{
	for (size_t i = 0; i < sizeof(gcm_key); i++)
		gcm_key[i] = (uint8_t)(0x40 + i);
	for (size_t i = 0; i < sizeof(gcm128_key); i++)
		gcm128_key[i] = (uint8_t)(0x90 ^ i);
	for (size_t i = 0; i < sizeof(cbc_ek); i++) {
		cbc_ek[i] = (uint8_t)(3 * i + 1);
		cbc_ak[i] = (uint8_t)(0xa5 ^ (5 * i));
	}
	sk_gcm = (struct ike_sk){.aead = 1, .ek = gcm_key, .ek_len = 32};
	sk_gcm128 = (struct ike_sk){.aead = 1, .ek = gcm128_key, .ek_len = 16};
	sk_cbc = (struct ike_sk){.ek = cbc_ek,
	                         .ek_len = 32,
	                         .integ_prf = PRF_HMAC_SHA2_256,
	                         .ak = cbc_ak,
	                         .ak_len = 32,
	                         .icv_len = 16};
	return 0;
}

/* "00 2a ff" -> bytes; spaces and '|' are layout only. Returns the length. */
static size_t hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (*s) {
		unsigned v;
		if (*s == ' ' || *s == '|') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1 || n >= cap)
			fail_msg("bad hex at \"%s\"", s);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static int build(const struct ike_pb *b, const struct ike_sk *k, uint8_t *out, size_t cap)
{
	struct ike_hdr h = {
	    .spi_i = SPI_I, .spi_r = SPI_R, .exch = IKE_AUTH, .flags = IKE_FLAG_I, .msgid = 7};
	return ike_msg_build(&h, b, k, out, cap);
}

/* Build b in clear, parse it back and return the one payload of type t. */
static const struct ike_pld *one(const struct ike_pb *b, uint8_t t, struct ike_msg *m, uint8_t *out,
                                 size_t cap)
{
	int len = build(b, NULL, out, cap);

	assert_true(len > IKE_HDR_LEN);
	assert_int_equal(ike_msg_parse(m, out, (size_t)len), 0);
	assert_int_equal(m->n, 1);
	assert_int_equal(m->pld[0].type, t);
	assert_ptr_equal(ike_msg_find(m, t), &m->pld[0]);
	return &m->pld[0];
}

/* ---- round trips ---- */

static void test_header_and_chain(void **state)
{
	struct ike_pb b;
	struct ike_msg m;
	uint8_t out[512], nonce[32] = {1};
	char desc[128];
	int len;

	pb_init(&b);
	ike_pld_nonce_put(&b, nonce, sizeof(nonce));
	ike_pld_n_put(&b, 0, NULL, 0, N_NAT_DETECTION_SOURCE_IP, nonce, 20);
	ike_pld_n_put(&b, 0, NULL, 0, 40000, NULL, 0);
	len = build(&b, NULL, out, sizeof(out));
	assert_int_equal(len, IKE_HDR_LEN + 36 + 28 + 8);
	/* Header bytes as RFC 7296 §3.1 lays them out. */
	assert_int_equal(out[16], IKE_PLD_NONCE);
	assert_int_equal(out[17], IKE_VERSION);
	assert_int_equal(out[18], IKE_AUTH);
	assert_int_equal(out[19], IKE_FLAG_I);
	assert_int_equal(get_be32(out + 20), 7);
	assert_int_equal(get_be32(out + 24), (uint32_t)len);

	assert_int_equal(ike_msg_parse(&m, out, (size_t)len), 0);
	assert_true(m.spi_i == SPI_I && m.spi_r == SPI_R);
	assert_int_equal(m.exch, IKE_AUTH);
	assert_int_equal(m.flags, IKE_FLAG_I);
	assert_int_equal(m.msgid, 7);
	assert_int_equal(m.n, 3);
	assert_null(m.sk);
	assert_int_equal(m.pld[0].type, IKE_PLD_NONCE);
	assert_int_equal(m.pld[0].len, 32);
	assert_memory_equal(m.pld[0].p, nonce, 32);
	assert_null(ike_msg_find(&m, IKE_PLD_SA));
	ike_msg_describe(&m, desc, sizeof(desc));
	assert_string_equal(desc, "No N(NAT_DETECTION_SOURCE_IP) N(40000)");
	ike_pb_describe(&b, desc, sizeof(desc));
	assert_string_equal(desc, "No N(NAT_DETECTION_SOURCE_IP) N(40000)");
	ike_msg_describe(&m, desc, 5); /* truncated output stays terminated */
	assert_true(strlen(desc) < 5);
	ike_msg_clear(&m);

	/* An empty chain: header only. */
	pb_init(&b);
	assert_int_equal(build(&b, NULL, out, sizeof(out)), IKE_HDR_LEN);
	assert_int_equal(ike_msg_parse(&m, out, IKE_HDR_LEN), 0);
	assert_int_equal(m.n, 0);
}

static void test_sa_roundtrip(void **state)
{
	struct ike_prop in[2] = {
	    {.num = 1,
	     .proto = IKE_PROTO_IKE,
	     .n = 4,
	     .xf = {{IKE_XF_ENCR, ENCR_AES_GCM_16, 256},
	            {IKE_XF_PRF, PRF_HMAC_SHA2_256_ID, 0},
	            {IKE_XF_DH, 19, 0},
	            {IKE_XF_DH, 14, 0}}},
	    {.num = 2,
	     .proto = IKE_PROTO_ESP,
	     .spi_size = 4,
	     .spi = 0xc0ffee01,
	     .n = 3,
	     .xf = {{IKE_XF_ENCR, ENCR_AES_CBC, 128},
	            {IKE_XF_INTEG, AUTH_HMAC_SHA2_256_128, 0},
	            {IKE_XF_ESN, ESN_NO, 0}}},
	};
	struct ike_prop outp[IKE_MAX_PROPS];
	struct ike_pb b;
	struct ike_msg m;
	uint8_t out[512];
	const struct ike_pld *p;
	int n = -1;

	pb_init(&b);
	ike_pld_sa_put(&b, in, 2);
	p = one(&b, IKE_PLD_SA, &m, out, sizeof(out));
	assert_int_equal(ike_pld_sa_parse(p->p, p->len, outp, IKE_MAX_PROPS, &n), 0);
	assert_int_equal(n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(outp[i].num, in[i].num);
		assert_int_equal(outp[i].proto, in[i].proto);
		assert_int_equal(outp[i].spi_size, in[i].spi_size);
		assert_true(outp[i].spi == in[i].spi);
		assert_int_equal(outp[i].n, in[i].n);
		for (int j = 0; j < in[i].n; j++) {
			assert_int_equal(outp[i].xf[j].type, in[i].xf[j].type);
			assert_int_equal(outp[i].xf[j].id, in[i].xf[j].id);
			assert_int_equal(outp[i].xf[j].klen, in[i].xf[j].klen);
		}
	}
	/* max smaller than the count: the rest is validated but not stored. */
	assert_int_equal(ike_pld_sa_parse(p->p, p->len, outp, 1, &n), 0);
	assert_int_equal(n, 1);

	/* An 8-octet SPI (IKE SA rekey). */
	in[0].spi_size = 8;
	in[0].spi = 0x0102030405060708ull;
	pb_init(&b);
	ike_pld_sa_put(&b, in, 1);
	p = one(&b, IKE_PLD_SA, &m, out, sizeof(out));
	assert_int_equal(ike_pld_sa_parse(p->p, p->len, outp, IKE_MAX_PROPS, &n), 0);
	assert_int_equal(n, 1);
	assert_true(outp[0].spi == 0x0102030405060708ull);
}

static void test_ke_roundtrip(void **state)
{
	uint8_t pub[65], out[256];
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;
	const uint8_t *d;
	uint16_t group;
	size_t dlen;

	for (size_t i = 0; i < sizeof(pub); i++)
		pub[i] = (uint8_t)(i * 11);
	pb_init(&b);
	ike_pld_ke_put(&b, 19, pub, sizeof(pub));
	p = one(&b, IKE_PLD_KE, &m, out, sizeof(out));
	assert_int_equal(ike_pld_ke_parse(p->p, p->len, &group, &d, &dlen), 0);
	assert_int_equal(group, 19);
	assert_int_equal(dlen, sizeof(pub));
	assert_memory_equal(d, pub, sizeof(pub));
}

static void test_nonce_roundtrip(void **state)
{
	uint8_t nonce[IKE_NONCE_MAX + 1], out[512];
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;

	for (size_t i = 0; i < sizeof(nonce); i++)
		nonce[i] = (uint8_t)~i;
	pb_init(&b);
	ike_pld_nonce_put(&b, nonce, IKE_NONCE_LEN);
	p = one(&b, IKE_PLD_NONCE, &m, out, sizeof(out));
	assert_int_equal(p->len, IKE_NONCE_LEN);
	assert_memory_equal(p->p, nonce, IKE_NONCE_LEN);
	assert_int_equal(ike_pld_nonce_check(p->len), 0);
	/* §2.10: 16..256 octets. */
	assert_int_equal(ike_pld_nonce_check(0), -1);
	assert_int_equal(ike_pld_nonce_check(IKE_NONCE_MIN - 1), -1);
	assert_int_equal(ike_pld_nonce_check(IKE_NONCE_MIN), 0);
	assert_int_equal(ike_pld_nonce_check(IKE_NONCE_MAX), 0);
	assert_int_equal(ike_pld_nonce_check(IKE_NONCE_MAX + 1), -1);
	assert_int_equal(ike_pld_nonce_check(SIZE_MAX), -1);
}

static void test_id_roundtrip(void **state)
{
	struct ike_id in = {.type = ID_IPV4_ADDR, .data = {192, 0, 2, 1}, .len = 4}, got;
	uint8_t out[512];
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;
	char s[64];

	pb_init(&b);
	ike_pld_id_put(&b, IKE_PLD_IDI, &in);
	p = one(&b, IKE_PLD_IDI, &m, out, sizeof(out));
	assert_int_equal(ike_pld_id_parse(p->p, p->len, &got), 0);
	assert_int_equal(got.type, ID_IPV4_ADDR);
	assert_int_equal(got.len, 4);
	assert_memory_equal(got.data, in.data, 4);
	ike_id_str(&got, s, sizeof(s));
	assert_string_equal(s, "192.0.2.1");
	ike_id_str(&got, s, 4); /* too small for the address: empty, terminated */
	assert_string_equal(s, "");

	/* FQDN, printed with non-printable bytes masked. */
	in.type = ID_FQDN;
	memcpy(in.data, "vpn.example\x01", 12);
	in.len = 12;
	pb_init(&b);
	ike_pld_id_put(&b, IKE_PLD_IDR, &in);
	p = one(&b, IKE_PLD_IDR, &m, out, sizeof(out));
	assert_int_equal(ike_pld_id_parse(p->p, p->len, &got), 0);
	assert_int_equal(got.type, ID_FQDN);
	assert_int_equal(got.len, 12);
	ike_id_str(&got, s, sizeof(s));
	assert_string_equal(s, "vpn.example.");
	ike_id_str(&got, s, 4);
	assert_string_equal(s, "vpn");

	/* The largest ID data the struct holds. */
	memset(in.data, 'a', sizeof(in.data));
	in.len = sizeof(in.data);
	pb_init(&b);
	ike_pld_id_put(&b, IKE_PLD_IDI, &in);
	p = one(&b, IKE_PLD_IDI, &m, out, sizeof(out));
	assert_int_equal(ike_pld_id_parse(p->p, p->len, &got), 0);
	assert_int_equal(got.len, sizeof(in.data));
}

static void test_auth_roundtrip(void **state)
{
	uint8_t mac[32], out[256], method;
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;
	const uint8_t *d;
	size_t dlen;

	memset(mac, 0x5c, sizeof(mac));
	pb_init(&b);
	ike_pld_auth_put(&b, IKE_AUTH_PSK, mac, sizeof(mac));
	p = one(&b, IKE_PLD_AUTH, &m, out, sizeof(out));
	assert_int_equal(ike_pld_auth_parse(p->p, p->len, &method, &d, &dlen), 0);
	assert_int_equal(method, IKE_AUTH_PSK);
	assert_int_equal(dlen, sizeof(mac));
	assert_memory_equal(d, mac, sizeof(mac));
}

static void test_notify_roundtrip(void **state)
{
	uint8_t spi[4] = {0xde, 0xad, 0xbe, 0xef}, data[3] = {1, 2, 3}, out[256];
	struct ike_notify_pld n;
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;

	pb_init(&b);
	ike_pld_n_put(&b, IKE_PROTO_ESP, spi, 4, N_REKEY_SA, data, sizeof(data));
	p = one(&b, IKE_PLD_N, &m, out, sizeof(out));
	assert_int_equal(ike_pld_n_parse(p->p, p->len, &n), 0);
	assert_int_equal(n.proto, IKE_PROTO_ESP);
	assert_int_equal(n.spi_size, 4);
	assert_int_equal(n.type, N_REKEY_SA);
	assert_memory_equal(n.spi, spi, 4);
	assert_int_equal(n.data_len, 3);
	assert_memory_equal(n.data, data, 3);

	pb_init(&b);
	ike_pld_n_put(&b, 0, NULL, 0, N_INITIAL_CONTACT, NULL, 0);
	p = one(&b, IKE_PLD_N, &m, out, sizeof(out));
	assert_int_equal(ike_pld_n_parse(p->p, p->len, &n), 0);
	assert_int_equal(n.spi_size, 0);
	assert_int_equal(n.type, N_INITIAL_CONTACT);
	assert_int_equal(n.data_len, 0);
	assert_string_equal(ike_notify_name(n.type), "INITIAL_CONTACT");
	assert_null(ike_notify_name(12345));
}

static void test_delete_roundtrip(void **state)
{
	uint32_t spis[3] = {0x11111111, 0xff000001, 0x00000100};
	uint8_t out[256];
	struct ike_delete_pld d;
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;

	pb_init(&b);
	ike_pld_d_put(&b, IKE_PROTO_ESP, 4, spis, 3);
	p = one(&b, IKE_PLD_D, &m, out, sizeof(out));
	assert_int_equal(ike_pld_d_parse(p->p, p->len, &d), 0);
	assert_int_equal(d.proto, IKE_PROTO_ESP);
	assert_int_equal(d.spi_size, 4);
	assert_int_equal(d.num, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(get_be32(d.spis + 4 * i), spis[i]);

	/* Deleting the IKE SA itself: no SPIs. */
	pb_init(&b);
	ike_pld_d_put(&b, IKE_PROTO_IKE, 0, NULL, 0);
	p = one(&b, IKE_PLD_D, &m, out, sizeof(out));
	assert_int_equal(ike_pld_d_parse(p->p, p->len, &d), 0);
	assert_int_equal(d.proto, IKE_PROTO_IKE);
	assert_int_equal(d.num, 0);
}

static void test_ts_roundtrip(void **state)
{
	struct ike_ts in[2] = {{0, 0, 65535, 0x0a000000, 0x0affffff},
	                       {17, 500, 4500, 0xc0000201, 0xc0000201}},
	              got[IKE_MAX_TS];
	uint8_t out[256];
	struct ike_pb b;
	struct ike_msg m;
	const struct ike_pld *p;
	int n = -1;

	pb_init(&b);
	ike_pld_ts_put(&b, IKE_PLD_TSR, in, 2);
	p = one(&b, IKE_PLD_TSR, &m, out, sizeof(out));
	assert_int_equal(ike_pld_ts_parse(p->p, p->len, got, IKE_MAX_TS, &n), 0);
	assert_int_equal(n, 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(got[i].proto, in[i].proto);
		assert_int_equal(got[i].sport, in[i].sport);
		assert_int_equal(got[i].eport, in[i].eport);
		assert_int_equal(got[i].saddr, in[i].saddr);
		assert_int_equal(got[i].eaddr, in[i].eaddr);
	}
	assert_int_equal(ike_pld_ts_parse(p->p, p->len, got, 1, &n), 0);
	assert_int_equal(n, 1);
}

/* ---- builder limits ---- */

static void test_builder_overflow(void **state)
{
	static uint8_t blob[IKE_BUILD_MAX], out[IKE_BUILD_MAX + 256];
	struct ike_pb b;

	/* A payload that does not fit the chain buffer poisons the builder. */
	pb_init(&b);
	ike_pld_nonce_put(&b, blob, IKE_BUILD_MAX);
	assert_true(b.w.err != 0);
	assert_int_equal(build(&b, NULL, out, sizeof(out)), -1);
	assert_int_equal(build(&b, &sk_gcm, out, sizeof(out)), -1);

	/* An output buffer too small for the message. */
	pb_init(&b);
	ike_pld_nonce_put(&b, blob, 32);
	assert_int_equal(build(&b, NULL, out, IKE_HDR_LEN + 35), -1);
	assert_int_equal(build(&b, NULL, out, IKE_HDR_LEN + 36), IKE_HDR_LEN + 36);
	assert_int_equal(build(&b, &sk_gcm, out, IKE_HDR_LEN + 4 + 8 + 37 + 15), -1);
	assert_int_equal(build(&b, &sk_gcm, out, IKE_HDR_LEN + 4 + 8 + 37 + 16),
	                 IKE_HDR_LEN + 4 + 8 + 37 + 16);
}

/* ---- SK payload ---- */

/* An IKE_AUTH-like chain: IDi, AUTH, SA, TSi, TSr, then a payload of `extra` bytes. */
static void auth_chain(struct ike_pb *b, size_t extra)
{
	struct ike_id id = {.type = ID_FQDN, .data = "initiator.example", .len = 17};
	struct ike_prop pr = {.num = 1,
	                      .proto = IKE_PROTO_ESP,
	                      .spi_size = 4,
	                      .spi = 0xffabcdef,
	                      .n = 2,
	                      .xf = {{IKE_XF_ENCR, ENCR_AES_GCM_16, 256}, {IKE_XF_ESN, ESN_NO, 0}}};
	struct ike_ts ts = {0, 0, 65535, 0, 0xffffffff};
	uint8_t auth[32], blob[64];

	memset(auth, 0xa1, sizeof(auth));
	memset(blob, 0xb2, sizeof(blob));
	pb_init(b);
	ike_pld_id_put(b, IKE_PLD_IDI, &id);
	ike_pld_auth_put(b, IKE_AUTH_PSK, auth, sizeof(auth));
	ike_pld_sa_put(b, &pr, 1);
	ike_pld_ts_put(b, IKE_PLD_TSI, &ts, 1);
	ike_pld_ts_put(b, IKE_PLD_TSR, &ts, 1);
	ike_pld_n_put(b, 0, NULL, 0, N_INITIAL_CONTACT, blob, extra);
}

static void check_auth_chain(const struct ike_msg *m, size_t extra)
{
	static const uint8_t want[] = {IKE_PLD_IDI, IKE_PLD_AUTH, IKE_PLD_SA,
	                               IKE_PLD_TSI, IKE_PLD_TSR,  IKE_PLD_N};
	struct ike_id id;

	assert_int_equal(m->n, 6);
	assert_int_equal(m->encrypted, 1);
	for (int i = 0; i < 6; i++)
		assert_int_equal(m->pld[i].type, want[i]);
	assert_int_equal(ike_pld_id_parse(m->pld[0].p, m->pld[0].len, &id), 0);
	assert_int_equal(id.len, 17);
	assert_memory_equal(id.data, "initiator.example", 17);
	assert_int_equal(m->pld[5].len, 4 + extra);
}

static void sk_roundtrip(const struct ike_sk *k, size_t ivl, size_t icvl, size_t block)
{
	uint8_t out[1024];
	struct ike_pb b;
	struct ike_msg m;

	/* Every padding length the chain length can give. */
	for (size_t extra = 0; extra < 2 * 16; extra++) {
		size_t clear, ctl, pad;
		int len;

		auth_chain(&b, extra);
		clear = b.w.len;
		len = build(&b, k, out, sizeof(out));
		ctl = (size_t)len - IKE_HDR_LEN - IKE_PLD_HDR_LEN - ivl - icvl;
		pad = ctl - clear - 1;
		assert_true(len > 0);
		assert_int_equal(ctl % block, 0);
		assert_true(pad < block);
		assert_int_equal(out[16], IKE_PLD_SK);
		assert_int_equal(out[IKE_HDR_LEN], IKE_PLD_IDI); /* SK's Next Payload */
		assert_int_equal(get_be16(out + IKE_HDR_LEN + 2), (size_t)len - IKE_HDR_LEN);

		assert_int_equal(ike_msg_parse(&m, out, (size_t)len), 0);
		assert_int_equal(m.n, 0);
		assert_non_null(m.sk);
		assert_int_equal(m.sk_first, IKE_PLD_IDI);
		assert_int_equal(m.sk_len, ivl + ctl + icvl);
		assert_int_equal(ike_msg_decrypt(&m, k), 0);
		check_auth_chain(&m, extra);
		/* Decrypting twice is refused and changes nothing. */
		assert_int_equal(ike_msg_decrypt(&m, k), -1);
		check_auth_chain(&m, extra);
		ike_msg_clear(&m);
	}
}

static void test_sk_gcm_roundtrip(void **state)
{
	sk_roundtrip(&sk_gcm, IKE_GCM_IV_LEN, IKE_GCM_ICV_LEN, 1);
	sk_roundtrip(&sk_gcm128, IKE_GCM_IV_LEN, IKE_GCM_ICV_LEN, 1);
}

static void test_sk_cbc_roundtrip(void **state)
{
	sk_roundtrip(&sk_cbc, IKE_CBC_IV_LEN, 16, 16);
}

/* The GCM SK payload is RFC 5282: checked here with plain EVP, not the library. */
static void test_sk_gcm_wire_format(void **state)
{
	uint8_t out[1024], plain[1024], nonce[12];
	struct ike_pb b;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	const uint8_t *iv, *ct, *tag;
	size_t ctl;
	int len, n;

	auth_chain(&b, 3);
	len = build(&b, &sk_gcm, out, sizeof(out));
	assert_true(len > 0);
	iv = out + IKE_HDR_LEN + IKE_PLD_HDR_LEN;
	ct = iv + IKE_GCM_IV_LEN;
	ctl = (size_t)len - (size_t)(ct - out) - IKE_GCM_ICV_LEN;
	tag = ct + ctl;
	memcpy(nonce, gcm_key + 32, 4);
	memcpy(nonce + 4, iv, 8);
	assert_non_null(ctx);
	assert_int_equal(EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL), 1);
	assert_int_equal(EVP_DecryptInit_ex(ctx, NULL, NULL, gcm_key, nonce), 1);
	/* AAD: IKE header and SK generic header. */
	assert_int_equal(EVP_DecryptUpdate(ctx, NULL, &n, out, IKE_HDR_LEN + IKE_PLD_HDR_LEN), 1);
	assert_int_equal(EVP_DecryptUpdate(ctx, plain, &n, ct, (int)ctl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, (void *)tag), 1);
	assert_int_equal(EVP_DecryptFinal_ex(ctx, plain + n, &n), 1);
	EVP_CIPHER_CTX_free(ctx);
	/* No padding for GCM: the chain, then a zero Pad Length. */
	assert_int_equal(ctl, b.w.len + 1);
	assert_memory_equal(plain, b.buf, b.w.len);
	assert_int_equal(plain[ctl - 1], 0);
}

/* Flipping any one bit anywhere in a protected message fails decryption and
 * leaves the message as parsed. */
static void flip_every_bit(const struct ike_sk *k)
{
	uint8_t out[512], copy[512];
	struct ike_pb b;
	struct ike_msg m;
	int len, n;

	auth_chain(&b, 0);
	len = build(&b, k, out, sizeof(out));
	assert_true(len > 0);
	for (int i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, out, (size_t)len);
			copy[i] ^= (uint8_t)(1 << bit);
			if (ike_msg_parse(&m, copy, (size_t)len))
				continue; /* header or SK length damaged */
			n = m.n;          /* a flipped Next Payload may turn SK into another type */
			assert_int_equal(ike_msg_decrypt(&m, k), -1);
			assert_int_equal(m.n, n);
			assert_int_equal(m.encrypted, 0);
			assert_null(m.plain);
			ike_msg_clear(&m);
		}
	}
}

static void test_sk_icv_flip(void **state)
{
	flip_every_bit(&sk_gcm);
	flip_every_bit(&sk_cbc);
}

static void test_sk_wrong_key(void **state)
{
	uint8_t out[512];
	struct ike_pb b;
	struct ike_msg m;
	struct ike_sk k;
	int len;

	auth_chain(&b, 1);
	len = build(&b, &sk_gcm, out, sizeof(out));
	assert_int_equal(ike_msg_parse(&m, out, (size_t)len), 0);
	k = sk_gcm;
	k.ek = gcm128_key;
	k.ek_len = 16;
	assert_int_equal(ike_msg_decrypt(&m, &k), -1);
	assert_int_equal(ike_msg_decrypt(&m, &sk_cbc), -1);
	/* A failed attempt leaves the message ready for the right key. */
	assert_int_equal(ike_msg_decrypt(&m, &sk_gcm), 0);
	check_auth_chain(&m, 1);
	ike_msg_clear(&m);
	ike_msg_clear(NULL);

	len = build(&b, &sk_cbc, out, sizeof(out));
	assert_int_equal(ike_msg_parse(&m, out, (size_t)len), 0);
	k = sk_cbc;
	k.ak = cbc_ek;
	assert_int_equal(ike_msg_decrypt(&m, &k), -1);
	k = sk_cbc;
	k.integ_prf = PRF_HMAC_SHA2_384;
	assert_int_equal(ike_msg_decrypt(&m, &k), -1);
	assert_int_equal(ike_msg_decrypt(&m, &sk_gcm), -1);
	assert_int_equal(ike_msg_decrypt(&m, &sk_cbc), 0);
	ike_msg_clear(&m);

	/* No SK payload at all. */
	pb_init(&b);
	len = build(&b, NULL, out, sizeof(out));
	assert_int_equal(ike_msg_parse(&m, out, (size_t)len), 0);
	assert_int_equal(ike_msg_decrypt(&m, &sk_gcm), -1);
}

/* An SK message around arbitrary plaintext (Pad Length octet included), sealed
 * with sk_gcm or sk_cbc: lets the tests reach what follows the ICV check. */
static size_t seal_raw(const struct ike_sk *k, uint8_t first, const uint8_t *pt, size_t ptl,
                       uint8_t *out)
{
	size_t ivl = k->aead ? IKE_GCM_IV_LEN : IKE_CBC_IV_LEN, icvl = k->aead ? 16 : k->icv_len;
	size_t len = IKE_HDR_LEN + IKE_PLD_HDR_LEN + ivl + ptl + icvl;
	uint8_t *iv = out + IKE_HDR_LEN + IKE_PLD_HDR_LEN, *ct = iv + ivl;
	uint8_t nonce[12], mac[PRF_MAX_LEN];
	struct wr w;

	wr_init(&w, out, len);
	wr_u64(&w, SPI_I);
	wr_u64(&w, SPI_R);
	wr_u8(&w, IKE_PLD_SK);
	wr_u8(&w, IKE_VERSION);
	wr_u8(&w, INFORMATIONAL);
	wr_u8(&w, IKE_FLAG_I);
	wr_u32(&w, 3);
	wr_u32(&w, (uint32_t)len);
	wr_u8(&w, first);
	wr_u8(&w, 0);
	wr_u16(&w, (uint16_t)(len - IKE_HDR_LEN));
	assert_int_equal(w.err, 0);
	for (size_t i = 0; i < ivl; i++)
		iv[i] = (uint8_t)(0xe0 + i);
	if (k->aead) {
		memcpy(nonce, k->ek + k->ek_len, 4);
		memcpy(nonce + 4, iv, 8);
		assert_int_equal(aead_gcm_seal(k->ek, k->ek_len, nonce, out, (size_t)(iv - out), pt,
		                               ptl, ct, ct + ptl),
		                 0);
	} else {
		assert_int_equal(aead_cbc(1, k->ek, k->ek_len, iv, pt, ptl, ct), 0);
		assert_int_equal(prf(k->integ_prf, k->ak, k->ak_len, out, len - icvl, mac), 0);
		memcpy(ct + ptl, mac, icvl);
	}
	return len;
}

struct inner_case {
	const char *name;
	uint8_t first;  /* SK's Next Payload */
	const char *pt; /* plaintext: inner chain, padding, Pad Length */
	int want;
	int n; /* payloads when want == 0 */
};

static const struct inner_case inner_cases[] = {
    {"empty chain", IKE_PLD_NONE, "00", 0, 0},
    {"one notify", IKE_PLD_N, "00 00 0008 | 00 00 4000 | 00", 0, 1},
    {"notify with padding", IKE_PLD_N, "00 00 0008 | 00 00 4000 | 00 00 00 03", 0, 1},
    {"pad length longer than plaintext", IKE_PLD_NONE, "01", -1, 0},
    {"pad length 255 in 4 octets", IKE_PLD_NONE, "00 00 00 ff", -1, 0},
    {"pad length eats the payload header", IKE_PLD_N, "00 00 0004 03", -1, 0},
    {"inner payload length 3", IKE_PLD_N, "00 00 0003 | 00", -1, 0},
    {"inner payload overruns", IKE_PLD_NONCE, "00 00 0020 | aabb | 00", -1, 0},
    {"inner chain truncated", IKE_PLD_N, "29 00 0008 | 00 00 4000 | 00", -1, 0},
    {"trailing bytes after inner chain", IKE_PLD_N, "00 00 0008 | 00 00 4000 | dead | 00", -1, 0},
    {"SK inside SK", IKE_PLD_SK, "00 00 0004 | 00", -1, 0},
    {"SK later inside SK", IKE_PLD_N, "2e 00 0008 | 00 00 4000 | 00 00 0004 | 00", -1, 0},
};

static void run_inner(const struct ike_sk *k, int cbc)
{
	uint8_t pt[256], out[512];
	struct ike_msg m;

	for (size_t i = 0; i < sizeof(inner_cases) / sizeof(inner_cases[0]); i++) {
		const struct inner_case *c = &inner_cases[i];
		size_t ptl = hex(c->pt, pt, sizeof(pt)), len;
		int rc;

		if (cbc) {
			/* Whole blocks: shift in zero padding before the Pad Length octet. */
			size_t add = (16 - ptl % 16) % 16;
			memmove(pt + ptl - 1 + add, pt + ptl - 1, 1);
			memset(pt + ptl - 1, 0, add);
			pt[ptl - 1 + add] = (uint8_t)(pt[ptl - 1 + add] + add);
			ptl += add;
		}
		len = seal_raw(k, c->first, pt, ptl, out);
		assert_int_equal(ike_msg_parse(&m, out, len), 0);
		rc = ike_msg_decrypt(&m, k);
		if (rc != c->want)
			fail_msg("%s (%s): rc %d want %d", c->name, cbc ? "cbc" : "gcm", rc,
			         c->want);
		assert_int_equal(m.n, c->n);
		ike_msg_clear(&m);
	}
}

static void test_sk_inner_malformed(void **state)
{
	run_inner(&sk_gcm, 0);
	run_inner(&sk_cbc, 1);
}

/* SK payloads too short to hold IV, ICV and a Pad Length, and CBC ciphertext
 * that is not whole blocks. They parse (the outer chain is fine) but never decrypt. */
static void test_sk_truncated(void **state)
{
	static const size_t gcm_lens[] = {0, 1, 8, 16, 23, 24, 25, 40};
	static const size_t cbc_lens[] = {0, 16, 31, 32, 33, 47, 48, 63, 64};
	uint8_t msg[256];
	struct ike_msg m;

	memset(msg, 0x77, sizeof(msg));
	for (int pass = 0; pass < 2; pass++) {
		const size_t *lens = pass ? cbc_lens : gcm_lens;
		size_t nl = pass ? sizeof(cbc_lens) / sizeof(cbc_lens[0])
		                 : sizeof(gcm_lens) / sizeof(gcm_lens[0]);
		for (size_t i = 0; i < nl; i++) {
			size_t len = IKE_HDR_LEN + IKE_PLD_HDR_LEN + lens[i];
			hex("0011223344556677 8899aabbccddeeff 2e 20 25 08 00000003", msg, 24);
			put_be32(msg + 24, (uint32_t)len);
			msg[IKE_HDR_LEN] = IKE_PLD_NONE;
			msg[IKE_HDR_LEN + 1] = 0;
			put_be16(msg + IKE_HDR_LEN + 2, (uint16_t)(len - IKE_HDR_LEN));
			assert_int_equal(ike_msg_parse(&m, msg, len), 0);
			assert_int_equal(m.sk_len, lens[i]);
			assert_int_equal(ike_msg_decrypt(&m, pass ? &sk_cbc : &sk_gcm), -1);
			ike_msg_clear(&m);
		}
	}
}

/* ---- malformed messages (header and outer chain) ---- */

#define HDR(next) "0011223344556677 8899aabbccddeeff " next " 20 22 08 00000000 00000000 "

struct msg_case {
	const char *name;
	const char *hex;
	int keep_len; /* 0: the Length field is set to the real length */
	int want;
};

static const struct msg_case msg_cases[] = {
    {"header only", HDR("00"), 0, 0},
    {"minor version ignored", "0011223344556677 8899aabbccddeeff 00 2f 22 08 00000000 0000001c", 1,
     0},
    {"one notify", HDR("29") "00 00 0008 00004000", 0, 0},
    {"empty", "", 1, -1},
    {"one octet", "00", 1, -1},
    {"truncated header", "0011223344556677 8899aabbccddeeff 00 20 22 08 00000000 000000", 1, -1},
    {"length field larger than buffer",
     "0011223344556677 8899aabbccddeeff 00 20 22 08 00000000 0000001d", 1, -1},
    {"length field smaller than buffer",
     "0011223344556677 8899aabbccddeeff 00 20 22 08 00000000 0000001c 00", 1, -1},
    {"length field zero", "0011223344556677 8899aabbccddeeff 00 20 22 08 00000000 00000000", 1, -1},
    {"length field 2^32-1", "0011223344556677 8899aabbccddeeff 00 20 22 08 00000000 ffffffff", 1,
     -1},
    {"major version 1", "0011223344556677 8899aabbccddeeff 00 10 22 08 00000000 0000001c", 1, -1},
    {"major version 3", "0011223344556677 8899aabbccddeeff 00 30 22 08 00000000 0000001c", 1, -1},
    {"version 0.2 (nibbles swapped)",
     "0011223344556677 8899aabbccddeeff 00 02 22 08 00000000 0000001c", 1, -1},
    {"payload length 0", HDR("29") "00 00 0000 00004000", 0, -1},
    {"payload length 3", HDR("29") "00 00 0003 00004000", 0, -1},
    {"payload length 4 with body left over", HDR("29") "00 00 0004 00004000", 0, -1},
    {"payload overruns message", HDR("29") "00 00 0009 00004000", 0, -1},
    {"payload length 0xffff", HDR("29") "00 00 ffff 00004000", 0, -1},
    {"payload header cut", HDR("29") "00 00 00", 0, -1},
    {"chain names a payload that is missing", HDR("29") "28 00 0008 00004000", 0, -1},
    {"next payload set, no payload", HDR("28"), 0, -1},
    {"trailing bytes after the chain", HDR("29") "00 00 0008 00004000 00", 0, -1},
    {"SK not last", HDR("2e") "29 00 0008 01020304 | 00 00 0008 00004000", 0, -1},
    {"SK after notify, then a notify",
     HDR("29") "2e 00 0008 00004000 | 29 00 0008 01020304 | 00 00 0008 00004000", 0, -1},
    {"SK length 3", HDR("2e") "00 00 0003 0102030405", 0, -1},
    {"SK overruns", HDR("2e") "00 00 0020 01020304", 0, -1},
    {"SK with trailing bytes", HDR("2e") "00 00 0008 01020304 ff", 0, -1},
};

static void test_malformed_messages(void **state)
{
	static uint8_t buf[512];
	struct ike_msg m;

	for (size_t i = 0; i < sizeof(msg_cases) / sizeof(msg_cases[0]); i++) {
		const struct msg_case *c = &msg_cases[i];
		size_t len = hex(c->hex, buf, sizeof(buf));
		uint8_t *p;
		int rc;

		if (!c->keep_len)
			put_be32(buf + 24, (uint32_t)len);
		/* An exact-size heap copy: ASan sees any read past the end. */
		p = malloc(len ? len : 1);
		assert_non_null(p);
		memcpy(p, buf, len);
		rc = ike_msg_parse(&m, p, len);
		if (rc != c->want)
			fail_msg("%s: rc %d want %d", c->name, rc, c->want);
		if (rc == 0)
			assert_int_equal(ike_msg_decrypt(&m, &sk_gcm), -1);
		ike_msg_clear(&m);
		free(p);
	}
}

static void test_unknown_critical(void **state)
{
	uint8_t buf[128];
	struct ike_msg m;
	size_t len;

	/* Unknown type 200, not critical: kept, nothing flagged. */
	len = hex(HDR("c8") "29 00 0005 aa | 00 00 0008 00004000", buf, sizeof(buf));
	put_be32(buf + 24, (uint32_t)len);
	assert_int_equal(ike_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.unknown_critical, 0);
	/* Same with the critical bit: the first such type is remembered. */
	len = hex(HDR("c8") "c9 80 0005 aa | 00 80 0004", buf, sizeof(buf));
	put_be32(buf + 24, (uint32_t)len);
	assert_int_equal(ike_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(m.unknown_critical, 200);
	assert_int_equal(m.pld[0].crit, IKE_PLD_CRITICAL);
	/* The critical bit on a known payload means nothing. */
	len = hex(HDR("29") "00 80 0008 00004000", buf, sizeof(buf));
	put_be32(buf + 24, (uint32_t)len);
	assert_int_equal(ike_msg_parse(&m, buf, len), 0);
	assert_int_equal(m.unknown_critical, 0);
}

static void test_payload_count_and_size_limits(void **state)
{
	static uint8_t buf[BIG];
	struct ike_msg m;
	size_t len;

	/* IKE_MAX_PLDS empty V payloads parse; one more does not. */
	for (int count = IKE_MAX_PLDS; count <= IKE_MAX_PLDS + 1; count++) {
		hex(HDR("2b"), buf, sizeof(buf));
		len = IKE_HDR_LEN;
		for (int i = 0; i < count; i++) {
			buf[len] = i + 1 < count ? IKE_PLD_V : IKE_PLD_NONE;
			buf[len + 1] = 0;
			put_be16(buf + len + 2, 4);
			len += 4;
		}
		put_be32(buf + 24, (uint32_t)len);
		assert_int_equal(ike_msg_parse(&m, buf, len), count <= IKE_MAX_PLDS ? 0 : -1);
	}

	/* One V payload making the message exactly 65535 octets, then one longer
	 * than the IKE maximum (consistent otherwise). */
	for (size_t plen = IKE_MSG_MAX - IKE_HDR_LEN; plen <= 0xffff; plen += 0xffff - plen) {
		hex(HDR("2b"), buf, sizeof(buf));
		buf[IKE_HDR_LEN] = IKE_PLD_NONE;
		buf[IKE_HDR_LEN + 1] = 0;
		put_be16(buf + IKE_HDR_LEN + 2, (uint16_t)plen);
		len = IKE_HDR_LEN + plen;
		put_be32(buf + 24, (uint32_t)len);
		assert_int_equal(ike_msg_parse(&m, buf, len), len <= IKE_MSG_MAX ? 0 : -1);
		if (plen == 0xffff)
			break;
	}
}

/* ---- malformed payload bodies ---- */

enum pld_kind { K_SA, K_KE, K_ID, K_AUTH, K_N, K_D, K_TS };

struct pld_case {
	const char *name;
	enum pld_kind kind;
	const char *hex;
	int want;
};

/* Transform ENCR AES-GCM-16 with Key Length 256, as the last transform. */
#define XF_GCM "00 00 000c 01 00 0014 800e 0100"
#define TS_V4 "07 00 0010 0000 ffff 0a000000 0affffff"

static const struct pld_case pld_cases[] = {
    /* §3.3 SA */
    {"SA: one proposal", K_SA, "00 00 0014 01 03 00 01 | " XF_GCM, 0},
    {"SA: ESP SPI", K_SA, "00 00 0018 01 03 04 01 ff000001 | " XF_GCM, 0},
    {"SA: unknown TV attribute kept", K_SA,
     "00 00 0014 01 01 00 01 | 00 00 000c 01 00 0014 8001 0001", 0},
    {"SA: TLV attribute skipped", K_SA,
     "00 00 0016 01 01 00 01 | 00 00 000e 01 00 0014 0001 0002 abcd", 0},
    {"SA: empty", K_SA, "", -1},
    {"SA: proposal header cut", K_SA, "00 00 00", -1},
    {"SA: proposal length 7", K_SA, "00 00 0007 01 01 00 01", -1},
    {"SA: proposal overruns", K_SA, "00 00 0020 01 03 00 01 | " XF_GCM, -1},
    {"SA: proposal last-substruc 1", K_SA, "01 00 0014 01 03 00 01 | " XF_GCM, -1},
    {"SA: says more proposals, none follow", K_SA, "02 00 0014 01 03 00 01 | " XF_GCM, -1},
    {"SA: zero-length proposal (no transforms)", K_SA, "00 00 0008 01 03 00 00", -1},
    {"SA: zero transforms but bytes left", K_SA, "00 00 0014 01 03 00 00 | " XF_GCM, -1},
    {"SA: SPI size 3", K_SA, "00 00 0017 01 03 03 01 ffffff | " XF_GCM, -1},
    {"SA: SPI overruns proposal", K_SA, "00 00 000a 01 03 08 01 ffff", -1},
    {"SA: transform overruns proposal", K_SA,
     "00 00 0014 01 03 00 01 | 00 00 0010 01 00 0014 800e 0100", -1},
    {"SA: transform length 7", K_SA, "00 00 000f 01 03 00 01 | 00 00 0007 01 00 00", -1},
    {"SA: transform header cut", K_SA, "00 00 000a 01 03 00 01 | 00 00", -1},
    {"SA: more transforms counted than present", K_SA, "00 00 0014 01 03 00 02 | " XF_GCM, -1},
    {"SA: transform says more, count says last", K_SA,
     "00 00 0014 01 03 00 01 | 03 00 000c 01 00 0014 800e 0100", -1},
    {"SA: transform last-substruc 2", K_SA,
     "00 00 0014 01 03 00 01 | 02 00 000c 01 00 0014 800e 0100", -1},
    {"SA: TV attribute cut", K_SA, "00 00 0012 01 03 00 01 | 00 00 000a 01 00 0014 800e", -1},
    {"SA: TLV attribute overruns", K_SA, "00 00 0014 01 03 00 01 | 00 00 000c 01 00 0014 000e 0010",
     -1},
    {"SA: bytes after the last proposal", K_SA, "00 00 0014 01 03 00 01 | " XF_GCM " 00", -1},
    /* §3.4 KE */
    {"KE: empty data", K_KE, "0013 0000", 0},
    {"KE: empty", K_KE, "", -1},
    {"KE: group only", K_KE, "0013", -1},
    {"KE: header cut", K_KE, "0013 00", -1},
    /* §3.5 ID */
    {"ID: empty data", K_ID, "02 000000", 0},
    {"ID: empty", K_ID, "", -1},
    {"ID: header cut", K_ID, "01 0000", -1},
    {"ID: IPv4 with 3 octets", K_ID, "01 000000 c00002", -1},
    {"ID: IPv4 with 5 octets", K_ID, "01 000000 c000020101", -1},
    /* §3.8 AUTH */
    {"AUTH: empty data", K_AUTH, "02 000000", 0},
    {"AUTH: empty", K_AUTH, "", -1},
    {"AUTH: header cut", K_AUTH, "02 00 00", -1},
    /* §3.10 Notify */
    {"N: SPI and data", K_N, "03 04 4009 ff000001 aa", 0},
    {"N: empty", K_N, "", -1},
    {"N: header cut", K_N, "00 00 40", -1},
    {"N: SPI overruns", K_N, "03 04 4009 ff00", -1},
    {"N: SPI size 255, nothing follows", K_N, "03 ff 4009", -1},
    /* §3.11 Delete */
    {"D: one ESP SPI", K_D, "03 04 0001 ff000001", 0},
    {"D: IKE, SPI size 8 tolerated", K_D, "01 08 0001 0011223344556677", 0},
    {"D: empty", K_D, "", -1},
    {"D: header cut", K_D, "03 04 00", -1},
    {"D: num * spi size overruns", K_D, "03 04 0003 11111111 22222222", -1},
    {"D: num 0xffff, one SPI", K_D, "03 04 ffff 11111111", -1},
    {"D: bytes after the SPIs", K_D, "03 04 0001 11111111 22", -1},
    {"D: ESP with SPI size 8", K_D, "03 08 0001 1111111122222222", -1},
    {"D: ESP with SPI size 0", K_D, "03 00 0000", -1},
    {"D: IKE with SPI size 4", K_D, "01 04 0001 11111111", -1},
    {"D: IKE, num 1 but no SPI", K_D, "01 08 0001", -1},
    /* §3.13 Traffic selectors */
    {"TS: one IPv4 range", K_TS, "01 000000 | " TS_V4, 0},
    {"TS: IPv6 range skipped", K_TS,
     "02 000000 | 08 00 0028 0000 ffff "
     "00000000000000000000000000000000 "
     "ffffffffffffffffffffffffffffffff | " TS_V4,
     0},
    {"TS: empty", K_TS, "", -1},
    {"TS: header cut", K_TS, "01 0000", -1},
    {"TS: count 0", K_TS, "00 000000", -1},
    {"TS: count 2, one selector", K_TS, "02 000000 | " TS_V4, -1},
    {"TS: selector header cut", K_TS, "01 000000 | 07 00 00", -1},
    {"TS: selector length 7", K_TS, "01 000000 | 07 00 0007 0000 ff", -1},
    {"TS: selector length 0", K_TS, "01 000000 | 07 00 0000 0000ffff", -1},
    {"TS: selector overruns", K_TS, "01 000000 | 07 00 0011 0000 ffff 0a000000 0affffff", -1},
    {"TS: IPv4 selector length 20", K_TS,
     "01 000000 | 07 00 0014 0000 ffff 0a000000 0affffff 00000000", -1},
    {"TS: IPv4 selector length 12", K_TS, "01 000000 | 07 00 000c 0000 ffff 0a000000", -1},
    {"TS: IPv6 selector length 16", K_TS, "01 000000 | 08 00 0010 0000 ffff 0a000000 0affffff", -1},
    {"TS: unknown selector type", K_TS, "01 000000 | 09 00 0010 0000 ffff 0a000000 0affffff", -1},
    {"TS: bytes after the selectors", K_TS, "01 000000 | " TS_V4 " 00", -1},
};

static int parse_kind(enum pld_kind k, const uint8_t *p, size_t len)
{
	struct ike_prop props[IKE_MAX_PROPS];
	struct ike_ts ts[IKE_MAX_TS];
	struct ike_id id;
	struct ike_notify_pld n;
	struct ike_delete_pld d;
	const uint8_t *data;
	size_t dlen;
	uint16_t group;
	uint8_t method;
	int cnt;

	switch (k) {
	case K_SA:
		return ike_pld_sa_parse(p, len, props, IKE_MAX_PROPS, &cnt);
	case K_KE:
		return ike_pld_ke_parse(p, len, &group, &data, &dlen);
	case K_ID:
		return ike_pld_id_parse(p, len, &id);
	case K_AUTH:
		return ike_pld_auth_parse(p, len, &method, &data, &dlen);
	case K_N:
		return ike_pld_n_parse(p, len, &n);
	case K_D:
		return ike_pld_d_parse(p, len, &d);
	case K_TS:
		return ike_pld_ts_parse(p, len, ts, IKE_MAX_TS, &cnt);
	}
	return -2;
}

static void test_malformed_payloads(void **state)
{
	static uint8_t buf[512];

	for (size_t i = 0; i < sizeof(pld_cases) / sizeof(pld_cases[0]); i++) {
		const struct pld_case *c = &pld_cases[i];
		size_t len = hex(c->hex, buf, sizeof(buf));
		uint8_t *p = malloc(len ? len : 1);
		int rc;

		assert_non_null(p);
		memcpy(p, buf, len);
		rc = parse_kind(c->kind, p, len);
		if (rc != c->want)
			fail_msg("%s: rc %d want %d", c->name, rc, c->want);
		/* Every prefix of a body is either valid or rejected, never read past. */
		for (size_t cut = 0; cut < len; cut++) {
			uint8_t *q = malloc(cut ? cut : 1);
			assert_non_null(q);
			memcpy(q, buf, cut);
			(void)parse_kind(c->kind, q, cut);
			free(q);
		}
		free(p);
	}
}

static void test_sa_details(void **state)
{
	static uint8_t buf[2048];
	struct ike_prop props[IKE_MAX_PROPS];
	size_t len;
	int n;

	len = hex("00 00 0014 01 01 00 01 | 00 00 000c 01 00 0014 8001 0001", buf, sizeof(buf));
	assert_int_equal(ike_pld_sa_parse(buf, len, props, IKE_MAX_PROPS, &n), 0);
	assert_int_equal(props[0].xf[0].klen, 0xffff);
	len = hex("00 00 0010 01 01 00 01 | 00 00 0008 04 00 0013", buf, sizeof(buf));
	assert_int_equal(ike_pld_sa_parse(buf, len, props, IKE_MAX_PROPS, &n), 0);
	assert_int_equal(props[0].xf[0].type, IKE_XF_DH);
	assert_int_equal(props[0].xf[0].id, 19);
	assert_int_equal(props[0].xf[0].klen, 0);

	/* 255 transforms: all validated, IKE_MAX_XF kept. */
	len = 0;
	buf[len++] = IKE_PROP_LAST;
	buf[len++] = 0;
	put_be16(buf + len, 8 + 255 * 8);
	len += 2;
	buf[len++] = 1;
	buf[len++] = IKE_PROTO_IKE;
	buf[len++] = 0;
	buf[len++] = 255;
	for (int i = 0; i < 255; i++) {
		buf[len++] = i < 254 ? IKE_XF_MORE : IKE_XF_LAST;
		buf[len++] = 0;
		put_be16(buf + len, 8);
		len += 2;
		buf[len++] = IKE_XF_DH;
		buf[len++] = 0;
		put_be16(buf + len, (uint16_t)i);
		len += 2;
	}
	assert_int_equal(ike_pld_sa_parse(buf, len, props, IKE_MAX_PROPS, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(props[0].n, IKE_MAX_XF);
	assert_int_equal(props[0].xf[IKE_MAX_XF - 1].id, IKE_MAX_XF - 1);

	/* More proposals than the caller's array: counted up to max, all validated. */
	len = 0;
	for (int i = 0; i < IKE_MAX_PROPS + 4; i++)
		len += hex(i + 1 < IKE_MAX_PROPS + 4
		               ? "02 00 0010 01 01 00 01 | 00 00 0008 04 00 0013"
		               : "00 00 0010 01 01 00 01 | 00 00 0008 04 00 0013",
		           buf + len, sizeof(buf) - len);
	assert_int_equal(ike_pld_sa_parse(buf, len, props, IKE_MAX_PROPS, &n), 0);
	assert_int_equal(n, IKE_MAX_PROPS);
	assert_int_equal(ike_pld_sa_parse(buf, len, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	buf[len - 16] = 0x7f; /* break the last proposal's last-substruc octet */
	assert_int_equal(ike_pld_sa_parse(buf, len, props, IKE_MAX_PROPS, &n), -1);
	assert_int_equal(ike_pld_sa_parse(buf, len, NULL, 0, &n), -1);
}

static void test_id_too_long(void **state)
{
	static uint8_t buf[4 + 256];
	struct ike_id id;

	buf[0] = ID_KEY_ID;
	memset(buf + 4, 'k', 256);
	assert_int_equal(ike_pld_id_parse(buf, 4 + 255, &id), 0);
	assert_int_equal(ike_pld_id_parse(buf, 4 + 256, &id), -1);
}

static void test_ts_more_than_max(void **state)
{
	static uint8_t buf[4 + 255 * 16];
	struct ike_ts ts[IKE_MAX_TS];
	size_t len = 4;
	int n;

	buf[0] = 255;
	for (int i = 0; i < 255; i++)
		len += hex(TS_V4, buf + len, sizeof(buf) - len);
	assert_int_equal(ike_pld_ts_parse(buf, len, ts, IKE_MAX_TS, &n), 0);
	assert_int_equal(n, IKE_MAX_TS);
	assert_int_equal(ike_pld_ts_parse(buf, len - 1, ts, IKE_MAX_TS, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_header_and_chain),
	    cmocka_unit_test(test_sa_roundtrip),
	    cmocka_unit_test(test_ke_roundtrip),
	    cmocka_unit_test(test_nonce_roundtrip),
	    cmocka_unit_test(test_id_roundtrip),
	    cmocka_unit_test(test_auth_roundtrip),
	    cmocka_unit_test(test_notify_roundtrip),
	    cmocka_unit_test(test_delete_roundtrip),
	    cmocka_unit_test(test_ts_roundtrip),
	    cmocka_unit_test(test_builder_overflow),
	    cmocka_unit_test(test_sk_gcm_roundtrip),
	    cmocka_unit_test(test_sk_cbc_roundtrip),
	    cmocka_unit_test(test_sk_gcm_wire_format),
	    cmocka_unit_test(test_sk_icv_flip),
	    cmocka_unit_test(test_sk_wrong_key),
	    cmocka_unit_test(test_sk_inner_malformed),
	    cmocka_unit_test(test_sk_truncated),
	    cmocka_unit_test(test_malformed_messages),
	    cmocka_unit_test(test_unknown_critical),
	    cmocka_unit_test(test_payload_count_and_size_limits),
	    cmocka_unit_test(test_malformed_payloads),
	    cmocka_unit_test(test_sa_details),
	    cmocka_unit_test(test_id_too_long),
	    cmocka_unit_test(test_ts_more_than_max),
	};
	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
