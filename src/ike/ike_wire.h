/* IKEv2 wire format (RFC 7296 §3) constants, with the RFC's names and numbers.
 * Nothing is ever cast onto a buffer: parsers read fields with util/buf.h. */
#ifndef INSYNC_IKE_WIRE_H
#define INSYNC_IKE_WIRE_H

/* §3.1 IKE header (28 octets)
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Initiator's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                       IKE SA Responder's SPI                  |
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                          Message ID                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                            Length                             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
#define IKE_HDR_LEN 28
#define IKE_VERSION 0x20 /* major 2, minor 0 */
#define IKE_FLAG_I 0x08  /* sender is the original initiator */
#define IKE_FLAG_V 0x10
#define IKE_FLAG_R 0x20  /* response */
#define IKE_MSG_MAX 65535
#define IKE_NON_ESP_MARKER_LEN 4

/* §3.1 Exchange types */
enum ike_exchange {
	IKE_SA_INIT = 34,
	IKE_AUTH = 35,
	CREATE_CHILD_SA = 36,
	INFORMATIONAL = 37,
};

/* §3.2 Generic payload header
 *  0                   1                   2                   3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | Next Payload  |C|  RESERVED   |         Payload Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ */
#define IKE_PLD_HDR_LEN 4
#define IKE_PLD_CRITICAL 0x80

enum ike_payload {
	IKE_PLD_NONE = 0,
	IKE_PLD_SA = 33,
	IKE_PLD_KE = 34,
	IKE_PLD_IDI = 35,
	IKE_PLD_IDR = 36,
	IKE_PLD_CERT = 37,
	IKE_PLD_CERTREQ = 38,
	IKE_PLD_AUTH = 39,
	IKE_PLD_NONCE = 40,
	IKE_PLD_N = 41,
	IKE_PLD_D = 42,
	IKE_PLD_V = 43,
	IKE_PLD_TSI = 44,
	IKE_PLD_TSR = 45,
	IKE_PLD_SK = 46,
	IKE_PLD_CP = 47,
	IKE_PLD_EAP = 48,
	IKE_PLD_SKF = 53,
};

/* §3.3 SA payload: Proposal and Transform substructures
 * Proposal:
 * | Last Substruc |   RESERVED    |         Proposal Length       |
 * | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
 * ~                        SPI (variable)                         ~
 * ~                        <Transforms>                           ~
 * Transform:
 * | Last Substruc |   RESERVED    |        Transform Length       |
 * |Transform Type |   RESERVED    |          Transform ID         |
 * ~                      Transform Attributes                     ~
 * Attribute (TV form, AF=1): |1|  Attribute Type  |  Attribute Value | */
#define IKE_PROP_LAST 0
#define IKE_PROP_MORE 2
#define IKE_XF_LAST 0
#define IKE_XF_MORE 3
#define IKE_ATTR_TV 0x8000
#define IKE_ATTR_KEY_LENGTH 14

enum ike_proto { IKE_PROTO_IKE = 1, IKE_PROTO_AH = 2, IKE_PROTO_ESP = 3 };

enum ike_xf_type {
	IKE_XF_ENCR = 1,
	IKE_XF_PRF = 2,
	IKE_XF_INTEG = 3,
	IKE_XF_DH = 4,
	IKE_XF_ESN = 5,
};
enum { ENCR_AES_CBC = 12, ENCR_AES_GCM_16 = 20 };
enum { PRF_HMAC_SHA2_256_ID = 5, PRF_HMAC_SHA2_384_ID = 6, PRF_HMAC_SHA2_512_ID = 7 };
enum {
	AUTH_NONE = 0,
	AUTH_HMAC_SHA2_256_128 = 12,
	AUTH_HMAC_SHA2_384_192 = 13,
	AUTH_HMAC_SHA2_512_256 = 14,
};
enum { ESN_NO = 0, ESN_YES = 1 };

/* §3.4 KE:     | Diffie-Hellman Group Num |  RESERVED  | Key Exchange Data ~
 * §3.5 ID:     | ID Type | RESERVED (3) | Identification Data ~
 * §3.8 AUTH:   | Auth Method | RESERVED (3) | Authentication Data ~
 * §3.9 Nonce:  | Nonce Data (16..256 octets) ~ */
enum ike_id_type { ID_IPV4_ADDR = 1, ID_FQDN = 2, ID_RFC822_ADDR = 3, ID_IPV6_ADDR = 5, ID_KEY_ID = 11 };
#define IKE_AUTH_PSK 2
#define IKE_NONCE_MIN 16
#define IKE_NONCE_MAX 256
#define IKE_NONCE_LEN 32

/* §3.10 Notify
 * |  Protocol ID  |   SPI Size    |      Notify Message Type      |
 * ~                Security Parameter Index (SPI)                 ~
 * ~                       Notification Data                       ~ */
enum ike_notify {
	N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
	N_INVALID_IKE_SPI = 4,
	N_INVALID_MAJOR_VERSION = 5,
	N_INVALID_SYNTAX = 7,
	N_INVALID_MESSAGE_ID = 9,
	N_INVALID_SPI = 11,
	N_NO_PROPOSAL_CHOSEN = 14,
	N_INVALID_KE_PAYLOAD = 17,
	N_AUTHENTICATION_FAILED = 24,
	N_SINGLE_PAIR_REQUIRED = 34,
	N_NO_ADDITIONAL_SAS = 35,
	N_INTERNAL_ADDRESS_FAILURE = 36,
	N_FAILED_CP_REQUIRED = 37,
	N_TS_UNACCEPTABLE = 38,
	N_INVALID_SELECTORS = 39,
	N_TEMPORARY_FAILURE = 43,
	N_CHILD_SA_NOT_FOUND = 44,
	N_ERROR_MAX = 16383, /* types below 16384 are errors */
	N_INITIAL_CONTACT = 16384,
	N_SET_WINDOW_SIZE = 16385,
	N_NAT_DETECTION_SOURCE_IP = 16388,
	N_NAT_DETECTION_DESTINATION_IP = 16389,
	N_COOKIE = 16390,
	N_USE_TRANSPORT_MODE = 16391,
	N_REKEY_SA = 16393,
	N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
	N_NON_FIRST_FRAGMENTS_ALSO = 16395,
	N_MOBIKE_SUPPORTED = 16396,
};

/* §3.11 Delete
 * | Protocol ID   |   SPI Size    |          Num of SPIs          |
 * ~               Security Parameter Index(es) (SPI)              ~
 * §3.13 Traffic Selector payload: | Number of TSs | RESERVED (3) | <TSs> ~
 * §3.13.1 Traffic Selector:
 * |   TS Type     |IP Protocol ID*|       Selector Length         |
 * |           Start Port*         |           End Port*           |
 * ~                         Starting Address*                     ~
 * ~                         Ending Address*                       ~ */
#define TS_IPV4_ADDR_RANGE 7
#define TS_IPV6_ADDR_RANGE 8
#define IKE_TS_V4_LEN 16

/* §3.14 Encrypted payload: | generic header | IV | ciphertext | padding | pad len | ICV |
 * RFC 5282 (AES-GCM): 8-octet IV, nonce = 4-octet salt || IV, AAD = IKE header
 * through the end of the SK generic header, 16-octet ICV. */
#define IKE_GCM_IV_LEN 8
#define IKE_GCM_SALT_LEN 4
#define IKE_GCM_ICV_LEN 16
#define IKE_CBC_IV_LEN 16
#endif
