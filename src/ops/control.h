/* The control socket: a unix stream socket (0600) carrying framed requests
 * (an exec line, a "?" help query or a completion query) and framed responses
 * (a status byte and the output). Frames are capped; a client that sends
 * garbage is dropped and one that stalls is timed out. */
#ifndef INSYNC_CONTROL_H
#define INSYNC_CONTROL_H
#include <stddef.h>
#include <stdint.h>

/* Wire: request  = u32 length (of what follows, big-endian) | u8 type | line bytes
 *       response = u32 length | u8 status | output bytes */
#define CTL_REQ_MAX 4096
#define CTL_RESP_MAX (16u << 20)
#define CTL_MAX_CLIENTS 32
#define CTL_IDLE_MS 10000

enum ctl_type { CTL_EXEC = 1, CTL_HELP = 2, CTL_COMPLETE = 3 };
enum ctl_status { CTL_OK = 0, CTL_FAIL = 1 };

/* Validate a complete request frame body (after the length). Returns 0 and sets
 * *type, *line (NUL-terminated copy into linebuf of cap bytes) or -1. */
int control_parse_request(const uint8_t *p, size_t len, int *type, char *linebuf, size_t cap);

int control_listen(const char *path);
/* Make the socket reachable at its configured path: call once the daemon is
 * fully configured. */
int control_publish(void);
void control_close(void);

/* Client side (insyncctl): connect, send one request, read the response. Returns
 * the command status (0, 1, or 2 when a reload failed) and the output in *out, or
 * -1 if unreachable. */
struct out;
int control_request(const char *path, int type, const char *line, struct out *out);
#endif
