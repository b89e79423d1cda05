/* disc.c: discovery parsers (see sl_dev.h): the source MAC and VLAN of a frame, ARP, LLDP,
 * CDP and DHCPv4 into device observations. Every load is checked against the captured
 * length; a frame that is too short or inconsistent gives -1, never a read past its end. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sl_common.h"
#include "sl_dev.h"
#include "sl_pkt.h"

#define ETH_P_ARP 0x0806
#define ETH_P_LLDP 0x88CC
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88A8
#define ETH_P_QINQ_OLD 0x9100
#define ETH_P_802_2 0x0004 /* SLL: an 802.3 frame with an LLC header */

static const char *const obs_names[] = {
#define SL_DEV_OBS_NAME(name, help) #name,
	SL_DEV_OBS_KINDS(SL_DEV_OBS_NAME)
#undef SL_DEV_OBS_NAME
};

const char *
sl_dev_obs_name(unsigned int k)
{
	return k < SL_DEV_OBS_MAX ? obs_names[k] : "unknown";
}

bool
sl_dev_linktype_has_mac(int lt)
{
	return lt == SL_DLT_EN10MB || lt == SL_DLT_LINUX_SLL || lt == SL_DLT_LINUX_SLL2;
}

/* Printable ASCII of at most SL_DEV_TEXT - 1 bytes; anything else becomes '?'. */
static void
text_copy(char *dst, const uint8_t *s, uint32_t n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n && k < SL_DEV_TEXT - 1; i++) {
		if (s[i] == 0 && i + 1 == n) /* a NUL-terminated option */
			break;
		dst[k++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	}
	dst[k] = '\0';
}

static void
hex_copy(char *dst, const uint8_t *s, uint32_t n)
{
	static const char hx[] = "0123456789abcdef";
	uint32_t k = 0;

	for (uint32_t i = 0; i < n && k + 2 < SL_DEV_TEXT; i++) {
		dst[k++] = hx[s[i] >> 4];
		dst[k++] = hx[s[i] & 15];
	}
	dst[k] = '\0';
}

static inline void
map_v4(uint8_t dst[16], const uint8_t *v4)
{
	memset(dst, 0, 10);
	dst[10] = dst[11] = 0xff;
	memcpy(dst + 12, v4, 4);
}

/* Link-layer header: source MAC (when there is one), ethertype and offset of what follows,
 * outer VLAN. @return 1 with a MAC, 0 without, -1 truncated. */
static int
l2(int lt, const uint8_t *p, uint32_t len, uint8_t mac[6], uint16_t *vlan, uint16_t *etype,
	uint32_t *off)
{
	uint32_t o;
	uint16_t et;
	int has = 0;
	unsigned int tags = 0;

	*vlan = 0;
	switch (lt) {
	case SL_DLT_EN10MB:
		if (len < 14)
			return -1;
		memcpy(mac, p + 6, 6);
		has = 1;
		et = sl_be16(p + 12);
		o = 14;
		break;
	case SL_DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		if (sl_be16(p + 2) == 1 && sl_be16(p + 4) == 6) { /* ARPHRD_ETHER, 6-byte address */
			memcpy(mac, p + 6, 6);
			has = 1;
		}
		et = sl_be16(p + 14);
		o = 16;
		break;
	case SL_DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		if (sl_be16(p + 8) == 1 && p[11] == 6) {
			memcpy(mac, p + 12, 6);
			has = 1;
		}
		et = sl_be16(p);
		o = 20;
		break;
	default:
		return 0;
	}
	while (et == ETH_P_VLAN || et == ETH_P_QINQ || et == ETH_P_QINQ_OLD) {
		if (++tags > SL_PKT_MAX_VLAN || len < o + 4)
			return -1;
		if (tags == 1)
			*vlan = sl_be16(p + o) & 0x0fff;
		et = sl_be16(p + o + 2);
		o += 4;
	}
	*etype = et;
	*off = o;
	return has;
}

int
sl_dev_l2_src(int lt, const uint8_t *p, uint32_t len, uint8_t mac[6], uint16_t *vlan)
{
	uint16_t et;
	uint32_t off;

	return l2(lt, p, len, mac, vlan, &et, &off);
}

static int
parse_arp(const uint8_t *a, uint32_t n, struct sl_dev_obs *o)
{
	if (n < 28)
		return -1;
	if (sl_be16(a) != 1 || sl_be16(a + 2) != 0x0800 || a[4] != 6 || a[5] != 4)
		return 0; /* not Ethernet/IPv4 ARP */
	o->kind = SL_DEV_OBS_arp;
	memcpy(o->mac, a + 8, 6);
	if (sl_be32(a + 14) != 0) { /* a probe (sender 0.0.0.0) says nothing of the address */
		map_v4(o->ip, a + 14);
		o->flags |= SL_DEV_OF_IP;
	}
	return 1;
}

static int
parse_lldp(const uint8_t *b, uint32_t n, struct sl_dev_obs *o)
{
	uint32_t i = 0;

	o->kind = SL_DEV_OBS_lldp;
	while (i + 2 <= n) {
		unsigned int type = b[i] >> 1;
		uint32_t tl = ((uint32_t)(b[i] & 1) << 8) | b[i + 1];
		const uint8_t *v = b + i + 2;

		if (type == 0)
			return 1; /* End of LLDPDU */
		if (i + 2 + tl > n)
			return -1;
		switch (type) {
		case 1: /* chassis id: a MAC (subtype 4) names the device better than the port's */
			if (tl == 7 && v[0] == 4)
				memcpy(o->mac, v + 1, 6);
			break;
		case 2: /* port id */
			if (tl >= 2) {
				if (v[0] == 3 && tl == 7) {
					char m[18];

					sl_mac_format(v + 1, m);
					snprintf(o->text, sizeof(o->text), "%s", m);
				} else {
					text_copy(o->text, v + 1, tl - 1);
				}
			}
			break;
		case 5: /* system name */
			text_copy(o->name, v, tl);
			break;
		case 8: /* management address: length, subtype, address */
			if (tl >= 6 && v[0] >= 2 && (uint32_t)v[0] + 1 <= tl &&
			    !(o->flags & SL_DEV_OF_IP)) {
				if (v[1] == 1 && v[0] == 5) {
					map_v4(o->ip, v + 2);
					o->flags |= SL_DEV_OF_IP;
				} else if (v[1] == 2 && v[0] == 17) {
					memcpy(o->ip, v + 2, 16);
					o->flags |= SL_DEV_OF_IP;
				}
			}
			break;
		default:
			break;
		}
		i += 2 + tl;
	}
	return i == n ? 1 : -1; /* no End TLV: fine if the TLVs fill the frame exactly */
}

/* CDP address list: count, then (ptype, plen, proto, alen, addr); the first IPv4 is taken. */
static void
cdp_addrs(const uint8_t *v, uint32_t n, struct sl_dev_obs *o)
{
	uint32_t cnt, i = 4;

	if (n < 4 || (o->flags & SL_DEV_OF_IP))
		return;
	cnt = sl_be32(v);
	for (uint32_t k = 0; k < cnt && k < 16; k++) {
		uint32_t plen, alen;

		if (i + 2 > n)
			return;
		plen = v[i + 1];
		if (i + 2 + plen + 2 > n)
			return;
		alen = sl_be16(v + i + 2 + plen);
		if (i + 4 + plen + alen > n)
			return;
		if (v[i] == 1 && plen == 1 && v[i + 2] == 0xcc && alen == 4) {
			map_v4(o->ip, v + i + 4 + plen);
			o->flags |= SL_DEV_OF_IP;
			return;
		}
		i += 4 + plen + alen;
	}
}

static int
parse_cdp(const uint8_t *b, uint32_t n, struct sl_dev_obs *o)
{
	uint32_t i = 4; /* version, ttl, checksum */

	if (n < 4)
		return -1;
	if (b[0] != 1 && b[0] != 2)
		return -1;
	o->kind = SL_DEV_OBS_cdp;
	while (i + 4 <= n) {
		uint32_t type = sl_be16(b + i), tl = sl_be16(b + i + 2);

		if (tl < 4 || i + tl > n)
			return -1;
		switch (type) {
		case 0x0001:
			text_copy(o->name, b + i + 4, tl - 4);
			break;
		case 0x0002: case 0x0016:
			cdp_addrs(b + i + 4, tl - 4, o);
			break;
		case 0x0003:
			text_copy(o->text, b + i + 4, tl - 4);
			break;
		default:
			break;
		}
		i += tl;
	}
	return 1;
}

int
sl_dev_parse_l2(int lt, const uint8_t *p, uint32_t len, struct sl_dev_obs *o)
{
	uint16_t et, vlan;
	uint32_t off;
	uint8_t mac[6];
	int has, rc;

	memset(o, 0, sizeof(*o));
	has = l2(lt, p, len, mac, &vlan, &et, &off);
	if (has < 0)
		return -1;
	if (lt != SL_DLT_EN10MB && lt != SL_DLT_LINUX_SLL && lt != SL_DLT_LINUX_SLL2)
		return 0;
	o->vlan = vlan;
	if (has)
		memcpy(o->mac, mac, 6);
	else
		o->flags |= SL_DEV_OF_NO_MAC;
	if (et == ETH_P_ARP) {
		rc = parse_arp(p + off, len - off, o);
	} else if (et == ETH_P_LLDP) {
		rc = parse_lldp(p + off, len - off, o);
	} else if ((lt == SL_DLT_EN10MB && et < 0x0600) || et == ETH_P_802_2) {
		/* 802.3 + LLC/SNAP: CDP is SNAP OUI 00:00:0c, PID 0x2000 */
		const uint8_t *l = p + off;
		uint32_t n = len - off;

		if (lt == SL_DLT_EN10MB && et < n) /* trailing bytes past the 802.3 length: padding */
			n = et;
		if (n < 8 || l[0] != 0xaa || l[1] != 0xaa || l[2] != 0x03 || l[3] != 0 || l[4] != 0 ||
		    l[5] != 0x0c || sl_be16(l + 6) != 0x2000)
			return 0;
		rc = parse_cdp(l + 8, n - 8, o);
	} else {
		return 0;
	}
	return rc;
}

int
sl_dev_parse_dhcp(const uint8_t *p, uint32_t len, const uint8_t *frame_mac,
	struct sl_dev_obs out[2])
{
	struct sl_dev_obs *o = &out[0], *f = &out[1];
	uint32_t i = 240;
	int msgtype = 0, have_fp = 0;
	const uint8_t *req = NULL;

	if (len < 240)
		return -1;
	if ((p[0] != 1 && p[0] != 2) || p[1] != 1 || p[2] != 6)
		return 0; /* not Ethernet BOOTP */
	if (sl_be32(p + 236) != 0x63825363)
		return -1; /* magic cookie */
	memset(o, 0, sizeof(*o));
	memset(f, 0, sizeof(*f));
	o->kind = SL_DEV_OBS_dhcp;
	f->kind = SL_DEV_OBS_dhcp_fp;
	memcpy(o->mac, p + 28, 6);
	while (i < len) {
		uint8_t code = p[i], ol;
		const uint8_t *v;

		if (code == 0) {
			i++;
			continue;
		}
		if (code == 255)
			break;
		if (i + 2 > len)
			return -1;
		ol = p[i + 1];
		if (i + 2 + ol > len)
			return -1;
		v = p + i + 2;
		switch (code) {
		case 53:
			if (ol >= 1)
				msgtype = v[0];
			break;
		case 12:
			text_copy(o->name, v, ol);
			break;
		case 60:
			text_copy(o->text, v, ol);
			break;
		case 50:
			if (ol == 4)
				req = v;
			break;
		case 55: {
			uint32_t k = 0;

			for (uint32_t x = 0; x < ol; x++) {
				int w = snprintf(f->name + k, sizeof(f->name) - k, "%s%u", x ? "," : "",
					v[x]);

				if (w < 0 || k + (uint32_t)w >= sizeof(f->name)) {
					f->name[k] = '\0'; /* whole numbers only */
					break;
				}
				k += (uint32_t)w;
			}
			have_fp = 1;
			break;
		}
		case 61:
			hex_copy(f->text, v, ol);
			have_fp = 1;
			break;
		default:
			break;
		}
		i += 2u + ol;
	}
	if (p[0] == 2) { /* a reply: only the ACK says which address the device now has */
		if (msgtype != 5 || sl_be32(p + 16) == 0)
			return 0;
		map_v4(o->ip, p + 16);
		o->flags |= SL_DEV_OF_IP | SL_DEV_OF_ACK;
		o->name[0] = o->text[0] = '\0'; /* a server's options describe the server */
		if (sl_be32(p + 24) != 0)
			o->flags |= SL_DEV_OF_RELAYED;
		return 1;
	}
	if (req != NULL && sl_be32(req) != 0) {
		map_v4(o->ip, req);
		o->flags |= SL_DEV_OF_IP;
	} else if (sl_be32(p + 12) != 0) {
		map_v4(o->ip, p + 12);
		o->flags |= SL_DEV_OF_IP;
	}
	if (sl_be32(p + 24) != 0 || (frame_mac != NULL && memcmp(frame_mac, o->mac, 6) != 0))
		o->flags |= SL_DEV_OF_RELAYED;
	if (!have_fp)
		return 1;
	memcpy(f->mac, o->mac, 6);
	f->flags = o->flags & SL_DEV_OF_RELAYED;
	return 2;
}

/* A DNS wire-format name (RFC 1035 labels, no compression) as dotted text. */
static void
dns_name(char *dst, const uint8_t *v, uint32_t n)
{
	uint32_t i = 0, k = 0;

	while (i < n && v[i] != 0 && k < SL_DEV_TEXT - 1) {
		uint32_t l = v[i++];

		if (l > 63 || i + l > n)
			break;
		if (k > 0)
			dst[k++] = '.';
		for (uint32_t j = 0; j < l && k < SL_DEV_TEXT - 1; j++, i++)
			dst[k++] = v[i] >= 0x20 && v[i] < 0x7f ? (char)v[i] : '?';
	}
	dst[k] = '\0';
}

int
sl_dev_parse_dhcp6(const uint8_t *p, uint32_t len, const uint8_t *frame_mac,
	const uint8_t src[16], struct sl_dev_obs *o)
{
	static const uint8_t zero[16];
	uint32_t i = 4;
	bool mac = frame_mac != NULL;

	if (len < 4)
		return -1;
	switch (p[0]) {
	case 1: case 3: case 4: case 5: case 6: case 11:
		break;
	default:
		return 0;
	}
	memset(o, 0, sizeof(*o));
	o->kind = SL_DEV_OBS_dhcp6;
	if (mac)
		memcpy(o->mac, frame_mac, 6);
	if (src != NULL && memcmp(src, zero, 16) != 0) {
		memcpy(o->ip, src, 16);
		o->flags |= SL_DEV_OF_IP;
	}
	while (i + 4 <= len) {
		uint32_t code = sl_be16(p + i), ol = sl_be16(p + i + 2);
		const uint8_t *v = p + i + 4;

		if (i + 4 + ol > len)
			return -1;
		if (code == 1 && ol >= 4) { /* client DUID */
			uint16_t type = sl_be16(v), hw = sl_be16(v + 2);

			hex_copy(o->text, v, ol);
			if (!mac && hw == 1 && ((type == 1 && ol == 14) || (type == 3 && ol == 10))) {
				memcpy(o->mac, v + ol - 6, 6);
				mac = true;
			}
		} else if (code == 39 && ol >= 1) { /* client FQDN: flags, then the name */
			dns_name(o->name, v + 1, ol - 1);
		}
		i += 4 + ol;
	}
	if (i != len)
		return -1;
	if (!mac)
		o->flags |= SL_DEV_OF_NO_MAC;
	return 1;
}

const char *
sl_dev_miner_name(const char *s)
{
	/* makers' default hostnames and vendor classes (Antminer S19 "Antminer", MicroBT
	 * "WhatsMiner", Canaan "Avalon"/"AvalonMiner", Innosilicon, Ebang "Ebit", Goldshell,
	 * IceRiver, Jasminer, Bitmain) */
	static const char *const words[] = {"antminer", "whatsminer", "avalon", "innosilicon",
		"ebit", "goldshell", "iceriver", "jasminer", "bitmain", "canaan", "bitaxe"};

	if (s == NULL || s[0] == '\0')
		return NULL;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(words); i++) {
		size_t wl = strlen(words[i]);

		for (const char *c = s; *c != '\0'; c++)
			if (strncasecmp(c, words[i], wl) == 0)
				return words[i];
	}
	return NULL;
}

void
sl_mac_format(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		mac[5]);
}

static int
hexv(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
sl_mac_parse(const char *s, uint8_t mac[6])
{
	unsigned int k = 0;

	for (const char *c = s; *c != '\0'; ) {
		int a, b;

		if (k == 6)
			return -EINVAL;
		a = hexv(c[0]);
		b = a < 0 ? -1 : hexv(c[1]);
		if (a < 0 || b < 0)
			return -EINVAL;
		mac[k++] = (uint8_t)(a << 4 | b);
		c += 2;
		if (*c == ':' || *c == '-')
			c++;
	}
	return k == 6 ? 0 : -EINVAL;
}
