/* Diffie-Hellman: both ends agree in every group, X25519 matches RFC 7748
 * §6.1, and peer values that are off the curve, out of range or of the wrong
 * length are refused (RFC 7296 §5: a bad KE must not yield a secret). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hex.h"
#include "crypto/dh.h"

static const int groups[] = {14, 19, 20, 31};

static void test_agree(void **st)
{
	(void)st;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (int round = 0; round < 3; round++) { /* templates are reused */
			struct dh *a = dh_new(groups[g]), *b = dh_new(groups[g]);
			uint8_t pa[DH_MAX_PUB], pb[DH_MAX_PUB], sa[DH_MAX_SECRET], sb[DH_MAX_SECRET];
			size_t la, lb, na, nb;

			assert_non_null(a);
			assert_non_null(b);
			assert_int_equal(dh_pub(a, pa, sizeof(pa), &la), 0);
			assert_int_equal(dh_pub(b, pb, sizeof(pb), &lb), 0);
			assert_int_equal(la, dh_pub_len(groups[g]));
			assert_memory_not_equal(pa, pb, la);
			assert_int_equal(dh_derive(a, pb, lb, sa, sizeof(sa), &na), 0);
			assert_int_equal(dh_derive(b, pa, la, sb, sizeof(sb), &nb), 0);
			assert_int_equal(na, nb);
			assert_int_equal(na, groups[g] == 14 ? 256 : groups[g] == 20 ? 48 : 32);
			assert_memory_equal(sa, sb, na);
			dh_free(a);
			dh_free(b);
		}
	}
	assert_null(dh_new(2));
	assert_false(dh_supported(21));
}

static void test_x25519_rfc7748(void **st)
{
	uint8_t priv[32], pub[32], bobpub[32], want[32], out[DH_MAX_SECRET];
	size_t n;
	struct dh *d;

	(void)st;
	unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv, 32);
	unhex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f", bobpub, 32);
	unhex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742", want, 32);
	assert_non_null(d = dh_new_priv(31, priv, 32));
	assert_int_equal(dh_pub(d, pub, sizeof(pub), &n), 0);
	unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", priv, 32);
	assert_memory_equal(pub, priv, 32);
	assert_int_equal(dh_derive(d, bobpub, 32, out, sizeof(out), &n), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(out, want, 32);
	dh_free(d);
}

static void refuse(int group, const uint8_t *peer, size_t len)
{
	struct dh *d = dh_new(group);
	uint8_t out[DH_MAX_SECRET];
	size_t n = 0;

	assert_non_null(d);
	assert_int_not_equal(dh_derive(d, peer, len, out, sizeof(out), &n), 0);
	dh_free(d);
}

static void test_bad_peer_values(void **st)
{
	uint8_t v[DH_MAX_PUB], good[DH_MAX_PUB];
	size_t n;
	struct dh *d;

	(void)st;
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		int grp = groups[g];
		size_t len = dh_pub_len(grp);

		assert_non_null(d = dh_new(grp));
		assert_int_equal(dh_pub(d, good, sizeof(good), &n), 0);
		dh_free(d);
		refuse(grp, good, len - 1); /* wrong lengths */
		refuse(grp, good, 0);
		memset(v, 0, len); /* zero: the identity, x = 0 or g^0 */
		refuse(grp, v, len);
		if (grp == 31)
			continue; /* every 32-byte string is a u-coordinate; zero was the weak one */
		memset(v, 0xff, len); /* above the prime */
		refuse(grp, v, len);
		memset(v, 0, len); /* 1: a small-subgroup value for MODP; (0, 1) is off the curves */
		v[len - 1] = 1;
		refuse(grp, v, len);
		if (grp != 14) {
			memcpy(v, good, len); /* a valid x with a wrong y is off the curve */
			v[len - 1] ^= 1;
			refuse(grp, v, len);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agree),
	    cmocka_unit_test(test_x25519_rfc7748),
	    cmocka_unit_test(test_bad_peer_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
