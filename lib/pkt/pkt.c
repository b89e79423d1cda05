/* pkt.c: the L2-L4 parser (see sl_pkt.h). Bounds are checked against what the caller says
 * is readable before every load; packet bytes never trigger an assert, only an outcome. */
#include <string.h>

#include "sl_common.h"

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#include "sl_pkt.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_VLAN 0x8100
#define ETH_P_QINQ 0x88A8
#define ETH_P_QINQ_OLD 0x9100

static const char *const outcome_names[] = {
#define SL_PKT_NAME(name, cls, help) #name,
	SL_PKT_OUTCOMES(SL_PKT_NAME)
#undef SL_PKT_NAME
};

static const int outcome_classes[] = {
#define SL_PKT_CLS(name, cls, help) cls,
	SL_PKT_OUTCOMES(SL_PKT_CLS)
#undef SL_PKT_CLS
};

const char *
sl_pkt_outcome_name(unsigned int o)
{
	return o < SL_PKT_OUTCOME_MAX ? outcome_names[o] : "unknown";
}

int
sl_pkt_outcome_class(unsigned int o)
{
	return o < SL_PKT_OUTCOME_MAX ? outcome_classes[o] : -1;
}

const char *
sl_pkt_class_name(int cls)
{
	static const char *const names[] = {"handled", "skipped", "malformed", "dropped"};

	return cls >= 0 && cls <= SL_CLASS_DROPPED ? names[cls] : "unknown";
}

int
sl_pkt_linktype_supported(int lt)
{
	switch (lt) {
	case SL_DLT_NULL: case SL_DLT_EN10MB: case SL_DLT_RAW: case SL_DLT_RAW_ALT:
	case SL_DLT_LOOP: case SL_DLT_LINUX_SLL: case SL_DLT_RAW_LT: case SL_DLT_IPV4:
	case SL_DLT_IPV6: case SL_DLT_LINUX_SLL2:
		return 1;
	default:
		return 0;
	}
}

const char *
sl_pkt_linktype_name(int lt)
{
	switch (lt) {
	case SL_DLT_NULL: return "NULL";
	case SL_DLT_EN10MB: return "EN10MB";
	case SL_DLT_RAW: case SL_DLT_RAW_ALT: case SL_DLT_RAW_LT: return "RAW";
	case SL_DLT_LOOP: return "LOOP";
	case SL_DLT_LINUX_SLL: return "LINUX_SLL";
	case SL_DLT_LINUX_SLL2: return "LINUX_SLL2";
	case SL_DLT_IPV4: return "IPV4";
	case SL_DLT_IPV6: return "IPV6";
	default: return "unsupported";
	}
}

/* Address family numbers a loopback header may carry, on any of the BSDs and Linux. */
static uint16_t
af_to_ethertype(uint32_t af)
{
	switch (af) {
	case 2:
		return ETH_P_IPV4;
	case 10: case 24: case 28: case 30:
		return ETH_P_IPV6;
	default:
		return 0;
	}
}

/* Find the L3 offset and ethertype for a link type. Returns an outcome on failure. */
static int
parse_l2(int lt, const uint8_t *p, uint32_t avail, uint32_t *l3, uint16_t *etype)
{
	uint32_t off;
	uint16_t et;
	unsigned int tags = 0;

	switch (lt) {
	case SL_DLT_EN10MB:
		if (avail < 14)
			return SL_PKT_truncated_l2;
		off = 14;
		et = sl_be16(p + 12);
		break;
	case SL_DLT_LINUX_SLL:
		if (avail < 16)
			return SL_PKT_truncated_l2;
		off = 16;
		et = sl_be16(p + 14);
		break;
	case SL_DLT_LINUX_SLL2:
		if (avail < 20)
			return SL_PKT_truncated_l2;
		off = 20;
		et = sl_be16(p);
		break;
	case SL_DLT_RAW: case SL_DLT_RAW_ALT: case SL_DLT_RAW_LT:
		if (avail < 1)
			return SL_PKT_truncated_l2;
		*l3 = 0;
		*etype = (p[0] >> 4) == 6 ? ETH_P_IPV6 : ETH_P_IPV4;
		return SL_PKT_handled;
	case SL_DLT_IPV4:
		*l3 = 0;
		*etype = ETH_P_IPV4;
		return SL_PKT_handled;
	case SL_DLT_IPV6:
		*l3 = 0;
		*etype = ETH_P_IPV6;
		return SL_PKT_handled;
	case SL_DLT_NULL: case SL_DLT_LOOP: {
		uint32_t af;

		if (avail < 4)
			return SL_PKT_truncated_l2;
		af = lt == SL_DLT_LOOP ? sl_be32(p) : sl_le32(p);
		et = af_to_ethertype(af);
		if (et == 0 && lt == SL_DLT_NULL) /* written on a big-endian host */
			et = af_to_ethertype(sl_be32(p));
		if (et == 0)
			return SL_PKT_unsupported_linktype;
		*l3 = 4;
		*etype = et;
		return SL_PKT_handled;
	}
	default:
		return SL_PKT_unsupported_linktype;
	}
	while (et == ETH_P_VLAN || et == ETH_P_QINQ || et == ETH_P_QINQ_OLD) {
		if (++tags > SL_PKT_MAX_VLAN)
			return SL_PKT_vlan_depth;
		if (avail < off + 4)
			return SL_PKT_truncated_l2;
		et = sl_be16(p + off + 2);
		off += 4;
	}
	*l3 = off;
	*etype = et;
	return SL_PKT_handled;
}

static inline void
map_v4(uint8_t dst[16], const uint8_t *v4)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memcpy(dst, prefix, 12); /* constant-size copies compile to two stores */
	memcpy(dst + 12, v4, 4);
}

enum sl_pkt_outcome
sl_pkt_parse(int linktype, const uint8_t *p, uint32_t avail, uint32_t cap_len,
	uint32_t wire_len, struct sl_pkt *out)
{
	uint32_t l3, l4, ip_end_wire, ip_payload, hl, cap_end;
	uint16_t etype;
	uint8_t proto;
	int rc;

	if (avail > cap_len)
		avail = cap_len;
	if (wire_len < cap_len)
		wire_len = cap_len;
	out->flags = 0;
	out->tcp_flags = 0;
	out->tcp_seq = 0;
	out->wire_len = wire_len;
	/* The common case, untagged Ethernet, without the link-type switch. */
	if (likely(linktype == SL_DLT_EN10MB && avail >= 14 &&
		   (sl_be16(p + 12) == ETH_P_IPV4 || sl_be16(p + 12) == ETH_P_IPV6))) {
		l3 = 14;
		etype = sl_be16(p + 12);
		rc = SL_PKT_handled;
	} else {
		rc = parse_l2(linktype, p, avail, &l3, &etype);
	}
	if (rc != SL_PKT_handled)
		return (enum sl_pkt_outcome)rc;
	out->l3_off = (uint16_t)l3;

	if (etype == ETH_P_IPV4) {
		const uint8_t *ip = p + l3;
		uint16_t tot, frag;

		if (avail < l3 + 20)
			return SL_PKT_truncated_ipv4;
		if ((ip[0] >> 4) != 4)
			return SL_PKT_bad_ip_version;
		hl = (uint32_t)(ip[0] & 0x0f) * 4;
		if (hl < 20 || avail < l3 + hl)
			return SL_PKT_bad_ipv4_ihl;
		tot = sl_be16(ip + 2);
		if (tot < hl || l3 + tot > wire_len)
			return SL_PKT_bad_ipv4_length;
		frag = sl_be16(ip + 6);
		out->ipver = 4;
		map_v4(out->src, ip + 12);
		map_v4(out->dst, ip + 16);
		proto = ip[9];
		if ((frag & 0x1fff) != 0)
			return SL_PKT_ip_fragment;
		if (frag & 0x2000)
			out->flags |= SL_PKT_F_FRAG;
		l4 = l3 + hl;
		ip_end_wire = l3 + tot;
	} else if (etype == ETH_P_IPV6) {
		const uint8_t *ip = p + l3;
		uint32_t plen;
		unsigned int n_ext = 0;
		int more = 1;

		if (avail < l3 + 40)
			return SL_PKT_truncated_ipv6;
		if ((ip[0] >> 4) != 6)
			return SL_PKT_bad_ip_version;
		plen = sl_be16(ip + 4);
		if (l3 + 40 + plen > wire_len)
			return SL_PKT_bad_ipv6_length;
		if (plen == 0) /* jumbogram or empty: take what the frame holds */
			plen = wire_len - l3 - 40;
		out->ipver = 6;
		memcpy(out->src, ip + 8, 16);
		memcpy(out->dst, ip + 24, 16);
		proto = ip[6];
		l4 = l3 + 40;
		ip_end_wire = l3 + 40 + plen;
		while (more) {
			const uint8_t *x = p + l4;
			uint32_t xl;

			switch (proto) {
			case 0: case 43: case 60: case 135: case 139: case 140: case 253: case 254:
				if (++n_ext > SL_PKT_MAX_EXT || avail < l4 + 8)
					return SL_PKT_bad_ipv6_ext;
				xl = ((uint32_t)x[1] + 1) * 8;
				break;
			case 51: /* AH counts 4-byte units, minus 2 */
				if (++n_ext > SL_PKT_MAX_EXT || avail < l4 + 8)
					return SL_PKT_bad_ipv6_ext;
				xl = ((uint32_t)x[1] + 2) * 4;
				break;
			case 44: { /* fragment header */
				uint16_t fo;

				if (++n_ext > SL_PKT_MAX_EXT || avail < l4 + 8)
					return SL_PKT_bad_ipv6_ext;
				fo = sl_be16(x + 2);
				if ((fo & 0xfff8) != 0) {
					out->proto = x[0];
					return SL_PKT_ip_fragment;
				}
				if (fo & 1)
					out->flags |= SL_PKT_F_FRAG;
				xl = 8;
				break;
			}
			default:
				more = 0;
				continue;
			}
			if (l4 + xl > ip_end_wire || avail < l4 + xl)
				return SL_PKT_bad_ipv6_ext;
			proto = x[0];
			l4 += xl;
		}
	} else {
		return SL_PKT_non_ip;
	}

	out->proto = proto;
	out->l4_off = (uint16_t)(l4 > 0xffff ? 0xffff : l4);
	ip_payload = ip_end_wire - l4;
	cap_end = SL_MIN(cap_len, ip_end_wire);
	out->sport = out->dport = 0;

	switch (proto) {
	case 6: {
		const uint8_t *t = p + l4;

		if (ip_payload < 20 || avail < l4 + 20)
			return SL_PKT_truncated_tcp;
		hl = (uint32_t)(t[12] >> 4) * 4;
		if (hl < 20 || hl > ip_payload || avail < l4 + hl)
			return SL_PKT_bad_tcp_offset;
		out->sport = sl_be16(t);
		out->dport = sl_be16(t + 2);
		out->tcp_seq = sl_be32(t + 4);
		out->tcp_flags = t[13];
		break;
	}
	case 17: {
		const uint8_t *u = p + l4;
		uint16_t ulen;

		if (ip_payload < 8 || avail < l4 + 8)
			return SL_PKT_truncated_udp;
		ulen = sl_be16(u + 4);
		/* A first fragment's UDP length covers the whole datagram. */
		if (ulen < 8 || (ulen > ip_payload && !(out->flags & SL_PKT_F_FRAG)))
			return SL_PKT_bad_udp_length;
		if (ulen > ip_payload)
			ulen = (uint16_t)ip_payload;
		out->sport = sl_be16(u);
		out->dport = sl_be16(u + 2);
		hl = 8;
		ip_payload = ulen; /* trailing bytes past the UDP length are padding */
		ip_end_wire = l4 + ulen;
		cap_end = SL_MIN(cap_len, ip_end_wire);
		break;
	}
	case 1: case 58: {
		const uint8_t *c = p + l4;

		if (ip_payload < 4 || avail < l4 + 4)
			return SL_PKT_truncated_icmp;
		hl = 4;
		/* Echo request/reply share their identifier so both directions are one flow. */
		if (ip_payload >= 8 && avail >= l4 + 8 &&
		    ((proto == 1 && (c[0] == 8 || c[0] == 0)) ||
		     (proto == 58 && (c[0] == 128 || c[0] == 129)))) {
			out->sport = out->dport = sl_be16(c + 4);
			hl = 8;
		}
		break;
	}
	default:
		hl = 0;
		break;
	}
	out->payload_off = l4 + hl;
	out->payload_len = ip_payload - hl;
	out->payload_cap = cap_end > out->payload_off ? cap_end - out->payload_off : 0;
	if (out->payload_cap < out->payload_len)
		out->flags |= SL_PKT_F_SNAPPED;
	return SL_PKT_handled;
}
