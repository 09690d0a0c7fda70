/* NAT_DETECTION_*_IP hashes. */
#include "ike/natd.h"
#include <openssl/evp.h>
#include <string.h>
#include "util/buf.h"

int natd_hash(uint64_t spi_i, uint64_t spi_r, uint32_t addr_be, uint16_t port, uint8_t out[NATD_LEN])
{
	uint8_t in[8 + 8 + 4 + 2];
	unsigned int n = 0;

	put_be32(in, (uint32_t)(spi_i >> 32));
	put_be32(in + 4, (uint32_t)spi_i);
	put_be32(in + 8, (uint32_t)(spi_r >> 32));
	put_be32(in + 12, (uint32_t)spi_r);
	memcpy(in + 16, &addr_be, 4);
	put_be16(in + 20, port);
	if (!EVP_Digest(in, sizeof(in), out, &n, EVP_sha1(), NULL) || n != NATD_LEN)
		return -1;
	return 0;
}
