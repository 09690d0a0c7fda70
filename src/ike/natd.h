/* NAT detection (RFC 7296 §2.23): SHA-1(SPIi | SPIr | IP address | Port). */
#ifndef INSYNC_NATD_H
#define INSYNC_NATD_H
#include <stdint.h>
#define NATD_LEN 20
/* addr in network order, port in host order. */
int natd_hash(uint64_t spi_i, uint64_t spi_r, uint32_t addr_be, uint16_t port, uint8_t out[NATD_LEN]);
#endif
