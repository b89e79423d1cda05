/* known.c: the known-protocol table (SL_KNOWN_PROTOS in sl_match.h): protocols that are
 * encrypted or binary but identifiable from a flow's first bytes, record sizes or handshake
 * shape. A recognised TCP flow is taken out of behavioural judging (its timing is the
 * protocol's own: keepalives, polling loops, padding cells); every other signal (DPI, pool
 * names and addresses, the SV2 fingerprint) still applies. Pure functions over untrusted
 * bytes, every read bounds-checked, no allocation; written from the protocols' published
 * specifications (references next to each check). */
#include <errno.h>
#include <string.h>

#include "sl_match.h"

#define KN_NAME_(name, label, udp, how) #name,
#define KN_LABEL_(name, label, udp, how) label,
#define KN_UDP_(name, label, udp, how) udp,
#define KN_HOW_(name, label, udp, how) how,
static const char *const kn_name[] = {"none", SL_KNOWN_PROTOS(KN_NAME_)};
static const char *const kn_label[] = {"none", SL_KNOWN_PROTOS(KN_LABEL_)};
static const unsigned char kn_udp[] = {0, SL_KNOWN_PROTOS(KN_UDP_)};
static const char *const kn_how[] = {"", SL_KNOWN_PROTOS(KN_HOW_)};
#undef KN_NAME_
#undef KN_LABEL_
#undef KN_UDP_
#undef KN_HOW_

const char *sl_known_name(unsigned int k) { return k < SL_KNOWN_MAX ? kn_name[k] : NULL; }
const char *sl_known_label(unsigned int k) { return k < SL_KNOWN_MAX ? kn_label[k] : NULL; }
const char *sl_known_how(unsigned int k) { return k < SL_KNOWN_MAX ? kn_how[k] : NULL; }
bool sl_known_is_udp(unsigned int k) { return k < SL_KNOWN_MAX && kn_udp[k]; }

int
sl_known_lookup(const char *name)
{
	for (unsigned int k = 1; k < SL_KNOWN_MAX; k++)
		if (strcmp(kn_name[k], name) == 0)
			return (int)k;
	return -ENOENT;
}

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool
starts(const uint8_t *p, uint32_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

static bool
port_is(uint16_t sport, uint16_t dport, uint16_t port)
{
	return sport == port || dport == port;
}

/* Many distinct byte values and little text: key material (ElligatorSwift, X25519). */
static bool
random_bytes(const uint8_t *p, uint32_t n)
{
	uint64_t seen[4] = {0, 0, 0, 0};
	unsigned int distinct = 0, text = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (!((seen[b >> 6] >> (b & 63)) & 1)) {
			seen[b >> 6] |= 1ull << (b & 63);
			distinct++;
		}
		if (b >= 0x20 && b < 0x7f)
			text++;
	}
	return distinct >= n * 11 / 16 && text < n - n / 8;
}

/* ---- TCP recognisers: c = the initiator's first bytes, s = the responder's ---- */

/* RFC 4253 4.2: "SSH-protoversion-softwareversion"; the server may send other lines first. */
static bool
is_ssh(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl)
{
	if (starts(c, cl, "SSH-1.") || starts(c, cl, "SSH-2."))
		return true;
	if (starts(s, sl, "SSH-1.") || starts(s, sl, "SSH-2."))
		return true;
	/* other lines before the server's banner (RFC 4253 4.2): the banner within the first
	 * bytes, at the start of a line */
	return sl >= 8 && memmem(s, sl < 512 ? sl : 512, "\r\nSSH-2.", 8) != NULL;
}

/* Bitcoin-family P2P (Bitcoin Core protocol docs, "Message headers"): magic, the command
 * "version" NUL-padded to 12 bytes, payload length (LE32), checksum. */
static const uint32_t coin_magic[] = {
	0xf9beb4d9, /* bitcoin main */
	0x0b110907, /* bitcoin testnet3 */
	0x1c163f28, /* bitcoin testnet4 */
	0x0a03cf40, /* bitcoin signet */
	0xfabfb5da, /* bitcoin regtest */
	0xfbc0b6db, /* litecoin main */
	0xfdd2c8f1, /* litecoin testnet */
	0xc0c0c0c0, /* dogecoin main */
	0xfcc1b7dc, /* dogecoin testnet */
	0xe3e1f3e8, /* bitcoin cash main */
	0xbf0c6bbd, /* dash main */
	0x24e92764, /* zcash main */
};

static bool
coin_v1(const uint8_t *p, uint32_t len)
{
	static const uint8_t cmd[12] = {'v', 'e', 'r', 's', 'i', 'o', 'n', 0, 0, 0, 0, 0};
	uint32_t m;

	if (len < 24)
		return false;
	m = be32(p);
	for (unsigned int i = 0; i < sizeof(coin_magic) / sizeof(coin_magic[0]); i++)
		if (m == coin_magic[i])
			return memcmp(p + 4, cmd, 12) == 0 && le32(p + 16) >= 46 &&
			       le32(p + 16) <= 4096;
	return false;
}

/* The coins' P2P ports: Bitcoin main/testnet3/testnet4/signet/regtest, Litecoin, Dogecoin,
 * Bitcoin Cash shares Bitcoin's. */
static bool
coin_port(uint16_t port)
{
	static const uint16_t ports[] = {8333, 18333, 48333, 38333, 18444, 9333, 19335, 22556};

	for (unsigned int i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* BIP324 v2 transport: the initiator opens with a 64-byte ElligatorSwift public key (uniform
 * random bytes) plus 0-4095 bytes of garbage; the responder answers the same way. No magic,
 * no text. Only on the coin's port: elsewhere the shape is any key exchange. */
static bool
is_bip324(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl, uint16_t dport)
{
	if (!coin_port(dport) || cl < 64 || sl < 64)
		return false;
	if (coin_v1(c, cl) || coin_v1(s, sl))
		return false;
	return random_bytes(c, 64) && random_bytes(s, 64);
}

/* Monero levin (epee levin_base.h): signature 0x0101010101012101 little-endian, then the body
 * length (LE64), have_to_return, command (1001 = handshake), return code, flags, version 1. */
static bool
levin(const uint8_t *p, uint32_t len)
{
	static const uint8_t sig[8] = {0x01, 0x21, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01};

	return len >= 33 && memcmp(p, sig, 8) == 0 && le32(p + 29) == 1; /* protocol version 1 */
}

/* Ethereum RLPx (devp2p rlpx.md): the EIP-8 auth message is a 2-byte size, then the ECIES
 * message 0x04 || ephemeral key (64) || IV (16) || ciphertext || MAC (32); the pre-EIP-8 one
 * is 307 bytes starting with 0x04. The responder's ack has the same framing. */
static bool
rlpx_msg(const uint8_t *p, uint32_t len)
{
	uint32_t n;

	if (len == 307 && p[0] == 0x04)
		return true;
	if (len < 3)
		return false;
	n = be16(p);
	return p[2] == 0x04 && n >= 65 + 16 + 32 + 16 && n <= 2048 && len == 2u + n &&
	       random_bytes(p + 3, 32);
}

static bool
is_rlpx(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl)
{
	return rlpx_msg(c, cl) && sl > 0 && rlpx_msg(s, sl);
}

/* BitTorrent peer wire (BEP 3): 19, "BitTorrent protocol". */
static bool
bittorrent(const uint8_t *p, uint32_t len)
{
	return starts(p, len, "\x13" "BitTorrent protocol");
}

/* Gnutella 0.6 handshake: "GNUTELLA CONNECT/0.6", answered "GNUTELLA/0.6 200 OK". */
static bool
is_gnutella(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl)
{
	return starts(c, cl, "GNUTELLA CONNECT/") || starts(s, sl, "GNUTELLA/0.") ||
	       starts(c, cl, "GNUTELLA/0.");
}

/* eDonkey/eMule (eMule protocol specification): protocol byte 0xe3 (eDonkey), 0xc5 (eMule
 * extensions) or 0xd4 (packed), LE32 size of what follows, opcode 0x01 (hello / login) whose
 * body opens with a 16-byte user hash. */
static bool
is_edonkey(const uint8_t *c, uint32_t cl)
{
	uint32_t n;

	if (cl < 6 || (c[0] != 0xe3 && c[0] != 0xc5 && c[0] != 0xd4))
		return false;
	n = le32(c + 1);
	return c[5] == 0x01 && n >= 17 && n <= 4096 && (cl == 5 + n || cl >= 64);
}

/* OpenVPN over TCP (openvpn ssl_pkt.h, reliable.c): a 2-byte packet length, then the opcode
 * (high 5 bits) and key id (low 3): the client opens with P_CONTROL_HARD_RESET_CLIENT_V2 (7)
 * or _V3 (10), key id 0, and a 64-bit session id; the server answers with
 * P_CONTROL_HARD_RESET_SERVER_V2 (8). */
static bool
is_openvpn_tcp(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl)
{
	uint32_t n;

	if (cl < 3 + 8 || sl < 3 + 8)
		return false;
	n = be16(c);
	if ((c[2] >> 3) != 7 && (c[2] >> 3) != 10)
		return false;
	if ((c[2] & 7) != 0 || n < 9 + 5 || n > 1024 || cl < 2 + n)
		return false;
	n = be16(s);
	return (s[2] >> 3) == 8 && (s[2] & 7) == 0 && n >= 9 + 5 && n <= 1024;
}

/* TPKT (RFC 1006) + X.224 connection request (ISO 8073): 03 00 length, LI, CR 0xe0. RDP
 * (MS-RDPBCGR 2.2.1.1) and ISO-TSAP on port 102 (S7comm, ICCP) both open this way. */
static bool
tpkt_cr(const uint8_t *c, uint32_t cl)
{
	uint32_t n;

	if (cl < 11 || c[0] != 3 || c[1] != 0)
		return false;
	n = be16(c + 2);
	return n >= 11 && n <= cl + 2048 && c[4] >= 6 && (uint32_t)c[4] + 5 <= n &&
	       (c[5] & 0xf0) == 0xe0;
}

/* VNC: RFB 6.1.1, "RFB 003.008\n" from the server, echoed by the client. */
static bool
is_vnc(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl)
{
	return starts(s, sl, "RFB 00") || starts(c, cl, "RFB 00");
}

/* XMPP (RFC 6120 4.2): an XML declaration and/or <stream:stream. */
static bool
is_xmpp(const uint8_t *c, uint32_t cl)
{
	uint32_t n = cl < 256 ? cl : 256;

	if (!starts(c, cl, "<?xml") && !starts(c, cl, "<stream:stream"))
		return false;
	return memmem(c, n, "<stream:stream", 14) != NULL;
}

/* MQTT (3.1.1 3.1, 5.0 3.1): CONNECT 0x10, remaining length (1-4 byte varint), protocol name
 * 00 04 "MQTT" (3.1.1/5) or 00 06 "MQIsdp" (3.1). */
static bool
is_mqtt(const uint8_t *c, uint32_t cl)
{
	uint32_t i = 1;

	if (cl < 2 || c[0] != 0x10)
		return false;
	while (i < cl && i < 5 && (c[i] & 0x80))
		i++;
	i++;
	if (i + 8 > cl)
		return false;
	return memcmp(c + i, "\x00\x04MQTT", 6) == 0 || memcmp(c + i, "\x00\x06MQIsdp", 8) == 0;
}

/* Modbus/TCP (Modbus Messaging on TCP/IP v1.0b 3.1.3): the MBAP header, transaction id,
 * protocol id 0, length (unit id + PDU, 2..254), unit id, then a function code 1..127. On port
 * 502, or answered with the same transaction and protocol id. */
static bool
mbap(const uint8_t *p, uint32_t len)
{
	uint32_t n;

	if (len < 8 || p[2] != 0 || p[3] != 0)
		return false;
	n = be16(p + 4);
	return n >= 2 && n <= 254 && p[7] != 0 && (p[7] & 0x7f) != 0 && len >= 6 + n;
}

static bool
is_modbus(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl, uint16_t sport,
	uint16_t dport)
{
	if (!mbap(c, cl) || c[7] >= 0x80)
		return false;
	if (port_is(sport, dport, 502))
		return true;
	return mbap(s, sl) && s[0] == c[0] && s[1] == c[1] && (s[7] & 0x7f) == c[7];
}

/* DNP3 (IEEE 1815 8.1): data link frames start 05 64, length >= 5, control, addresses. */
static bool
dnp3(const uint8_t *p, uint32_t len)
{
	return len >= 10 && p[0] == 0x05 && p[1] == 0x64 && p[2] >= 5;
}

/* EtherNet/IP encapsulation (CIP Vol. 2, 2-3): 24-byte header, command (LE16), length of the
 * data (LE16), session handle, status 0, sender context, options 0. */
static bool
enip(const uint8_t *p, uint32_t len)
{
	uint16_t cmd;

	if (len < 24)
		return false;
	cmd = le16(p);
	if (cmd != 0x0004 && cmd != 0x0063 && cmd != 0x0064 && cmd != 0x0065 && cmd != 0x0066 &&
	    cmd != 0x006f && cmd != 0x0070 && cmd != 0x0001)
		return false;
	return le32(p + 8) == 0 && le32(p + 20) == 0 && le16(p + 2) <= 1024;
}

/* IEC 60870-5-104 (IEC 60870-5-104 5.1): APDUs start 0x68, APCI length 4..253, then four
 * control octets (I, S or U format). */
static bool
iec104(const uint8_t *p, uint32_t len)
{
	return len >= 6 && p[0] == 0x68 && p[1] >= 4 && p[1] <= 253 && len >= 2u + p[1] &&
	       ((p[2] & 1) == 0 || (p[2] & 3) == 1 || (p[2] & 3) == 3);
}

/* IRC (RFC 2812 3.1): registration commands from the client; a server prefix from the server. */
static bool
is_irc(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl)
{
	static const char *const cmd[] = {"NICK ", "USER ", "PASS ", "CAP LS", "CAP REQ"};

	for (unsigned int i = 0; i < sizeof(cmd) / sizeof(cmd[0]); i++)
		if (starts(c, cl, cmd[i]))
			return true;
	return sl >= 12 && s[0] == ':' &&
	       (memmem(s, sl < 256 ? sl : 256, " NOTICE ", 8) != NULL ||
		memmem(s, sl < 256 ? sl : 256, " 001 ", 5) != NULL);
}

/* SMB over TCP (MS-SMB2 2.1, RFC 1002): a 4-byte session header (type 0), then \xffSMB (SMB1),
 * \xfeSMB (SMB2/3) or \xfdSMB (SMB3 transform); or an NBSS session request (0x81) on 139. */
static bool
smb(const uint8_t *p, uint32_t len)
{
	if (len >= 8 && p[0] == 0x00 && p[5] == 'S' && p[6] == 'M' && p[7] == 'B')
		return p[4] == 0xff || p[4] == 0xfe || p[4] == 0xfd;
	return false;
}

static bool
is_smb(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl, uint16_t dport)
{
	return smb(c, cl) || smb(s, sl) || (dport == 139 && cl >= 4 && c[0] == 0x81);
}

/* Line-based services that speak first (RFC 959, 5321, 1939, 9051): a greeting line. */
static int
banner(const uint8_t *s, uint32_t sl, uint16_t dport)
{
	if (starts(s, sl, "+OK"))
		return SL_KNOWN_pop3;
	if (starts(s, sl, "* OK") || starts(s, sl, "* PREAUTH"))
		return SL_KNOWN_imap;
	if (starts(s, sl, "220 ") || starts(s, sl, "220-"))
		return dport == 21 || dport == 2121 ? SL_KNOWN_ftp : SL_KNOWN_smtp;
	return 0;
}

/* MySQL (Client/Server protocol, Initial Handshake v10): 3-byte length, sequence 0, protocol
 * version 10, a NUL-terminated server version. */
static bool
mysql_greeting(const uint8_t *s, uint32_t sl)
{
	uint32_t n;

	if (sl < 16 || s[3] != 0 || s[4] != 0x0a)
		return false;
	n = (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16;
	return n >= 12 && n <= 1024 && s[5] >= '0' && s[5] <= '9' &&
	       memchr(s + 5, 0, sl - 5 < 64 ? sl - 5 : 64) != NULL;
}

/* PostgreSQL (Frontend/Backend protocol 55.7): StartupMessage with version 3.0, or the
 * SSLRequest / GSSENCRequest codes. */
static bool
postgres(const uint8_t *c, uint32_t cl)
{
	uint32_t n, v;

	if (cl < 8)
		return false;
	n = be32(c);
	v = be32(c + 4);
	if (n == 8 && (v == 80877103 || v == 80877104))
		return true;
	return v == 0x00030000 && n >= 9 && n <= 10000;
}

/* Redis RESP: an array of bulk strings, "*<n>\r\n$<len>\r\n". */
static bool
redis(const uint8_t *c, uint32_t cl)
{
	uint32_t i = 1;

	if (cl < 6 || c[0] != '*')
		return false;
	while (i < cl && i < 8 && c[i] >= '0' && c[i] <= '9')
		i++;
	return i > 1 && i + 3 <= cl && c[i] == '\r' && c[i + 1] == '\n' && c[i + 2] == '$';
}

/* BGP (RFC 4271 4.1): 16 bytes of 0xff, length, type OPEN (1). */
static bool
bgp(const uint8_t *c, uint32_t cl)
{
	static const uint8_t marker[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

	return cl >= 19 && memcmp(c, marker, 16) == 0 && be16(c + 16) >= 19 && c[18] >= 1 &&
	       c[18] <= 5;
}

/* OpenFlow (OpenFlow switch specification, ofp_header): version 1..6 (0x01..0x06), a message
 * type (HELLO 0 ... 35), length >= 8, transaction id; on 6653/6633, from either side (a
 * capture may start mid-session, with echo requests or flow mods). */
static bool
openflow(const uint8_t *p, uint32_t len, uint16_t sport, uint16_t dport)
{
	return len >= 8 && p[0] >= 1 && p[0] <= 6 && p[1] <= 35 && be16(p + 2) >= 8 &&
	       (port_is(sport, dport, 6653) || port_is(sport, dport, 6633));
}

/* MSN Messenger (MSNP, draft-movva-msn-messenger-protocol): the client's "VER <trid> MSNP..". */
static bool
msn(const uint8_t *c, uint32_t cl)
{
	uint32_t n = cl < 32 ? cl : 32;

	return starts(c, cl, "VER ") && memmem(c, n, " MSNP", 5) != NULL;
}

/* Telnet (RFC 854): option negotiation, IAC (0xff) then WILL/WONT/DO/DONT. */
static bool
telnet(const uint8_t *p, uint32_t len)
{
	return len >= 3 && p[0] == 0xff && p[1] >= 0xfb && p[1] <= 0xfe;
}

int
sl_known_tcp(const uint8_t *c, uint32_t cl, const uint8_t *s, uint32_t sl, uint16_t sport,
	uint16_t dport)
{
	int b;

	if (c == NULL)
		cl = 0;
	if (s == NULL)
		sl = 0;
	if (cl == 0 && sl == 0)
		return 0;
	if (is_ssh(c, cl, s, sl))
		return SL_KNOWN_ssh;
	if (coin_v1(c, cl) || coin_v1(s, sl))
		return SL_KNOWN_bitcoin;
	if (levin(c, cl) || levin(s, sl))
		return SL_KNOWN_monero;
	if (bittorrent(c, cl) || bittorrent(s, sl))
		return SL_KNOWN_bittorrent;
	if (is_gnutella(c, cl, s, sl))
		return SL_KNOWN_gnutella;
	if (is_edonkey(c, cl))
		return SL_KNOWN_edonkey;
	if (tpkt_cr(c, cl))
		return port_is(sport, dport, 102) ? SL_KNOWN_iso_tsap : SL_KNOWN_rdp;
	if (is_vnc(c, cl, s, sl))
		return SL_KNOWN_vnc;
	if (is_xmpp(c, cl))
		return SL_KNOWN_xmpp;
	if (is_mqtt(c, cl))
		return SL_KNOWN_mqtt;
	if (is_modbus(c, cl, s, sl, sport, dport))
		return SL_KNOWN_modbus;
	if (dnp3(c, cl) && (port_is(sport, dport, 20000) || dnp3(s, sl)))
		return SL_KNOWN_dnp3;
	if (enip(c, cl) && (port_is(sport, dport, 44818) || (enip(s, sl) && le16(s) == le16(c))))
		return SL_KNOWN_enip;
	if (iec104(c, cl) && (port_is(sport, dport, 2404) || iec104(s, sl)))
		return SL_KNOWN_iec104;
	if (is_irc(c, cl, s, sl))
		return SL_KNOWN_irc;
	if (is_smb(c, cl, s, sl, dport))
		return SL_KNOWN_smb;
	if (mysql_greeting(s, sl))
		return SL_KNOWN_mysql;
	if (postgres(c, cl))
		return SL_KNOWN_postgres;
	if (redis(c, cl))
		return SL_KNOWN_redis;
	if (bgp(c, cl) || bgp(s, sl))
		return SL_KNOWN_bgp;
	if (openflow(c, cl, sport, dport) || openflow(s, sl, sport, dport))
		return SL_KNOWN_openflow;
	if (msn(c, cl))
		return SL_KNOWN_msn;
	if (telnet(c, cl) || telnet(s, sl))
		return SL_KNOWN_telnet;
	b = banner(s, sl, dport);
	if (b != 0)
		return b;
	/* two-sided shapes: decided once both ends have spoken */
	if (is_openvpn_tcp(c, cl, s, sl))
		return SL_KNOWN_openvpn;
	if (is_rlpx(c, cl, s, sl))
		return SL_KNOWN_ethereum;
	if (is_bip324(c, cl, s, sl, dport))
		return SL_KNOWN_bitcoin_v2;
	return 0;
}

/* ---- UDP (labels only: UDP is not judged by behaviour) ---- */

/* WireGuard (whitepaper 5.4): type (LE32 1..4) with fixed sizes: initiation 148, response 92,
 * cookie reply 64, transport data 32 + a multiple of 16. */
static bool
wireguard(const uint8_t *p, uint32_t len)
{
	if (len < 32 || p[1] != 0 || p[2] != 0 || p[3] != 0)
		return false;
	switch (p[0]) {
	case 1: return len == 148;
	case 2: return len == 92;
	case 3: return len == 64;
	case 4: return len % 16 == 0;
	default: return false;
	}
}

/* OpenVPN over UDP: no length prefix; a hard reset opcode (7, 8 or 10) with key id 0 and a
 * session id, then (tls-auth/crypt or not) a packet-id array length and packet id. On 1194 the
 * opcode is enough; elsewhere only the exact shape of a first reset: 14 bytes (no tls-auth)
 * or 42/54 (an SHA1/SHA256 tls-auth HMAC and replay id), ending with an empty ack array and
 * message packet id 0. */
static bool
openvpn_udp(const uint8_t *p, uint32_t len, uint16_t sport, uint16_t dport)
{
	uint8_t op = p[0] >> 3;

	if (len < 14 || len > 1024 || (op != 7 && op != 8 && op != 10) || (p[0] & 7) != 0)
		return false;
	if (port_is(sport, dport, 1194))
		return true;
	return (len == 14 || len == 42 || len == 54) && p[len - 5] == 0 && be32(p + len - 4) == 0;
}

/* QUIC long header (RFC 9000 17.2, RFC 9369): form and fixed bits set, version 1, 2 or a
 * draft (0xff0000xx), then the destination connection id length (<= 20). */
static bool
quic(const uint8_t *p, uint32_t len)
{
	uint32_t v;

	if (len < 7 || (p[0] & 0xc0) != 0xc0)
		return false;
	v = be32(p + 1);
	return (v == 0x00000001 || v == 0x6b3343cf || (v & 0xffffff00) == 0xff000000) && p[5] <= 20;
}

/* uTP (BEP 29): version 1 in the low nibble, type 0..4 in the high one, extension 0..2, the
 * 20-byte header with a microsecond timestamp and a receive window; between two unprivileged
 * ports (DHCP's BOOTREQUEST, op 1 htype 1, has the same first two bytes). */
static bool
utp(const uint8_t *p, uint32_t len, uint16_t sport, uint16_t dport)
{
	return len >= 20 && (p[0] & 0x0f) == 1 && (p[0] >> 4) <= 4 && p[1] <= 2 &&
	       (p[1] | p[2] | p[3]) != 0 && /* not WireGuard's type 1 with its three zero bytes */
	       be32(p + 4) != 0 && be32(p + 12) != 0 && sport >= 1024 && dport >= 1024;
}

/* Well-known UDP services none of these labels applies to (their own first bytes can look
 * like one: a DNS id of 0x38.., a DHCP request). */
static bool
udp_service_port(uint16_t port)
{
	static const uint16_t ports[] = {53, 67, 68, 69, 123, 137, 138, 161, 162, 514, 1900, 3702,
		5353, 5355};

	for (unsigned int i = 0; i < sizeof(ports) / sizeof(ports[0]); i++)
		if (ports[i] == port)
			return true;
	return false;
}

/* IKE (RFC 7296 3.1): 28-byte header, version 2.0 (0x20) or 1.0 (0x10), initiator SPI not 0;
 * on 4500 after a four-zero-byte non-ESP marker (RFC 3948 2.2). */
static bool
ike(const uint8_t *p, uint32_t len)
{
	return len >= 28 && (p[17] == 0x20 || p[17] == 0x10) && be32(p + 24) == len &&
	       (be32(p) | be32(p + 4)) != 0;
}

/* STUN/TURN (RFC 8489 5): top two bits 0, length a multiple of 4, magic cookie 0x2112A442. */
static bool
stun(const uint8_t *p, uint32_t len)
{
	return len >= 20 && (p[0] & 0xc0) == 0 && be32(p + 4) == 0x2112a442 &&
	       be16(p + 2) % 4 == 0 && 20u + be16(p + 2) <= len;
}

int
sl_known_udp(const uint8_t *p, uint32_t len, uint16_t sport, uint16_t dport)
{
	if (p == NULL || len == 0 || udp_service_port(sport) || udp_service_port(dport))
		return 0;
	if (port_is(sport, dport, 4500)) {
		if (len == 1 && p[0] == 0xff)
			return SL_KNOWN_ipsec_natt; /* NAT keepalive (RFC 3948 2.3) */
		if (len >= 32 && be32(p) == 0 && ike(p + 4, len - 4))
			return SL_KNOWN_ipsec_natt;
		if (len >= 16 && be32(p) > 255) /* ESP: an SPI of 256 and up (RFC 4303 2.1) */
			return SL_KNOWN_ipsec_natt;
	}
	if (port_is(sport, dport, 500) && ike(p, len))
		return SL_KNOWN_ipsec_natt;
	if (wireguard(p, len))
		return SL_KNOWN_wireguard;
	if (quic(p, len))
		return SL_KNOWN_quic;
	if (stun(p, len))
		return SL_KNOWN_stun;
	if (openvpn_udp(p, len, sport, dport))
		return SL_KNOWN_openvpn_udp;
	if (utp(p, len, sport, dport))
		return SL_KNOWN_utp;
	return 0;
}

/* ---- Tor: cell-sized TLS records ---- */

/* Tor's link protocol (tor-spec 3) carries fixed 514-byte cells (4-byte circuit id, command,
 * 509 bytes) inside TLS records: a message of k cells in r records (1 <= r <= k) is
 * k * 514 + r * overhead, the overhead being 22 bytes in TLS 1.3 (header, content type,
 * 16-byte tag), 29 in TLS 1.2 AES-GCM (header, explicit nonce, tag), 21 with ChaCha20. */
bool
sl_known_cell_sized(uint32_t size)
{
	static const uint32_t over[] = {21, 22, 29};

	if (size < 514 + 21 || size > 8 * (514 + 29))
		return false;
	for (uint32_t k = 1; k <= 8 && k * 514 + 21 <= size; k++) {
		uint32_t rest = size - k * 514;

		for (unsigned int i = 0; i < 3; i++)
			if (rest % over[i] == 0 && rest / over[i] >= 1 && rest / over[i] <= k)
				return true;
	}
	return false;
}

int
sl_known_tls_shape(uint32_t cells, uint32_t msgs)
{
	/* past the handshake, Tor's own messages are cells (with padding cells every 1.5-9.5 s
	 * on an idle link); a TLS session whose messages are mostly cell-sized is Tor */
	if (cells >= 4 && cells * 5 >= msgs * 3)
		return SL_KNOWN_tor;
	return 0;
}
