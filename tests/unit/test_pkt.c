/* test_pkt.c: unit tests for the L2-L4 packet parser (lib/pkt): sl_pkt_parse on hand-built
 * Ethernet/VLAN/SLL/loopback/raw frames carrying IPv4/IPv6 with TCP/UDP/ICMP/GRE, every
 * link type, every malformed outcome, snaplen and `avail` handling, a fuzz-style sweep of
 * truncations and corruptions, and the outcome name/class tables. No EAL needed.
 *
 * Every parse goes through parse_ex(), which copies the first `avail` bytes of the packet
 * so that they end exactly at a PROT_NONE guard page: a read past `avail` crashes the test
 * instead of passing silently. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sl_common.h"
#include "sl_pkt.h"

/* ---------------------------------------------------------------------------------------
 * Guard page: parse_ex() places the readable bytes right before an unmapped page.
 * ------------------------------------------------------------------------------------- */

#define PB_MAX 2048 /* largest test packet */

static uint8_t *guard_base; /* start of the readable area */
static size_t guard_area;   /* readable bytes before the guard page */
static size_t guard_page;

static int
group_setup(void **state)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *m;

	(void)state;
	guard_page = pg > 0 ? (size_t)pg : 4096;
	guard_area = ((PB_MAX + guard_page - 1) / guard_page) * guard_page;
	m = mmap(NULL, guard_area + guard_page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		-1, 0);
	if (m == MAP_FAILED)
		return -1;
	guard_base = m;
	if (mprotect(guard_base + guard_area, guard_page, PROT_NONE) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	if (guard_base != NULL)
		munmap(guard_base, guard_area + guard_page);
	guard_base = NULL;
	return 0;
}

/* ---------------------------------------------------------------------------------------
 * Packet builder: append headers to a buffer; the end_* helpers patch length fields once
 * everything after the header has been appended.
 * ------------------------------------------------------------------------------------- */

struct pb {
	uint8_t b[PB_MAX];
	uint32_t n;
};

static const uint8_t V4_SRC[4] = {192, 0, 2, 1};
static const uint8_t V4_DST[4] = {198, 51, 100, 7};
static const uint8_t V6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
static const uint8_t V6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd};

static void
pb_init(struct pb *pb)
{
	memset(pb, 0, sizeof(*pb));
}

static uint32_t
pb_put(struct pb *pb, const void *src, uint32_t len)
{
	uint32_t off = pb->n;

	assert_true(pb->n + len <= sizeof(pb->b));
	memcpy(pb->b + off, src, len);
	pb->n += len;
	return off;
}

static void
pb_u8(struct pb *pb, uint8_t v)
{
	pb_put(pb, &v, 1);
}

static void
pb_be16(struct pb *pb, uint16_t v)
{
	uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};

	pb_put(pb, x, 2);
}

static void
pb_be32(struct pb *pb, uint32_t v)
{
	pb_be16(pb, (uint16_t)(v >> 16));
	pb_be16(pb, (uint16_t)v);
}

static void
pb_zero(struct pb *pb, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		pb_u8(pb, 0);
}

static void
set_be16(struct pb *pb, uint32_t off, uint16_t v)
{
	pb->b[off] = (uint8_t)(v >> 8);
	pb->b[off + 1] = (uint8_t)v;
}

/* Ethernet II header: dst MAC, src MAC, ethertype (a TPID when tags follow). */
static uint32_t
add_eth(struct pb *pb, uint16_t ethertype)
{
	static const uint8_t macs[12] = {0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02};
	uint32_t off = pb_put(pb, macs, sizeof(macs));

	pb_be16(pb, ethertype);
	return off;
}

/* One 802.1Q tag after the TPID: TCI, then the next ethertype. */
static uint32_t
add_vlan(struct pb *pb, uint16_t vid, uint16_t next_ethertype)
{
	uint32_t off = pb->n;

	pb_be16(pb, vid & 0x0fff);
	pb_be16(pb, next_ethertype);
	return off;
}

/* Linux cooked v1 (16 bytes): packet type, ARPHRD, address length, address, protocol. */
static uint32_t
add_sll(struct pb *pb, uint16_t protocol)
{
	uint32_t off = pb->n;

	pb_be16(pb, 0);      /* packet type: to us */
	pb_be16(pb, 1);      /* ARPHRD_ETHER */
	pb_be16(pb, 6);      /* address length */
	pb_be32(pb, 0x02000000);
	pb_be32(pb, 0x00010000);
	pb_be16(pb, protocol);
	return off;
}

/* Linux cooked v2 (20 bytes): protocol first, then reserved, ifindex, ARPHRD, type, addr. */
static uint32_t
add_sll2(struct pb *pb, uint16_t protocol)
{
	uint32_t off = pb->n;

	pb_be16(pb, protocol);
	pb_be16(pb, 0);      /* reserved */
	pb_be32(pb, 3);      /* interface index */
	pb_be16(pb, 1);      /* ARPHRD_ETHER */
	pb_u8(pb, 0);        /* packet type */
	pb_u8(pb, 6);        /* address length */
	pb_be32(pb, 0x02000000);
	pb_be32(pb, 0x00010000);
	return off;
}

/* BSD loopback header: a 4-byte address family, little- or big-endian as written. */
static uint32_t
add_loop_af(struct pb *pb, uint32_t af, int big_endian)
{
	uint32_t off = pb->n;

	if (big_endian) {
		pb_be32(pb, af);
	} else {
		for (int i = 0; i < 4; i++)
			pb_u8(pb, (uint8_t)(af >> (8 * i)));
	}
	return off;
}

/* IPv4 header with ihl 32-bit words (options filled with NOPs); total length set by
 * end_ipv4(). frag is the flags+offset field (0x2000 = MF, low 13 bits = offset/8). */
static uint32_t
add_ipv4_ex(struct pb *pb, uint8_t proto, unsigned int ihl, uint16_t frag)
{
	uint32_t off = pb->n;

	pb_u8(pb, (uint8_t)(0x40 | (ihl & 0x0f)));
	pb_u8(pb, 0);             /* TOS */
	pb_be16(pb, 0);           /* total length, patched later */
	pb_be16(pb, 0x1234);      /* identification */
	pb_be16(pb, frag);
	pb_u8(pb, 64);            /* TTL */
	pb_u8(pb, proto);
	pb_be16(pb, 0);           /* checksum (not checked) */
	pb_put(pb, V4_SRC, 4);
	pb_put(pb, V4_DST, 4);
	for (unsigned int i = 5; i < ihl; i++)
		pb_be32(pb, 0x01010101); /* NOP options */
	return off;
}

static uint32_t
add_ipv4(struct pb *pb, uint8_t proto)
{
	return add_ipv4_ex(pb, proto, 5, 0);
}

static void
end_ipv4(struct pb *pb, uint32_t ip_off)
{
	set_be16(pb, ip_off + 2, (uint16_t)(pb->n - ip_off));
}

/* IPv6 fixed header; payload length set by end_ipv6(). */
static uint32_t
add_ipv6(struct pb *pb, uint8_t next)
{
	uint32_t off = pb->n;

	pb_be32(pb, 0x60000000); /* version 6, class 0, flow 0 */
	pb_be16(pb, 0);          /* payload length, patched later */
	pb_u8(pb, next);
	pb_u8(pb, 64);           /* hop limit */
	pb_put(pb, V6_SRC, 16);
	pb_put(pb, V6_DST, 16);
	return off;
}

static void
end_ipv6(struct pb *pb, uint32_t ip_off)
{
	set_be16(pb, ip_off + 4, (uint16_t)(pb->n - ip_off - 40));
}

/* Generic IPv6 extension header (hop-by-hop, destination options, routing):
 * next header, length in 8-byte units not counting the first 8, then zero padding. */
static uint32_t
add_ext6(struct pb *pb, uint8_t next, uint8_t len8)
{
	uint32_t off = pb->n;

	pb_u8(pb, next);
	pb_u8(pb, len8);
	pb_zero(pb, (uint32_t)(len8 + 1) * 8 - 2);
	return off;
}

/* IPv6 authentication header: its length counts 4-byte units minus 2. */
static uint32_t
add_ah6(struct pb *pb, uint8_t next, uint8_t len4)
{
	uint32_t off = pb->n;

	pb_u8(pb, next);
	pb_u8(pb, len4);
	pb_zero(pb, (uint32_t)(len4 + 2) * 4 - 2);
	return off;
}

/* IPv6 fragment header: offset in 8-byte units, M flag. */
static uint32_t
add_frag6(struct pb *pb, uint8_t next, uint16_t offset8, int more)
{
	uint32_t off = pb->n;

	pb_u8(pb, next);
	pb_u8(pb, 0);
	pb_be16(pb, (uint16_t)(offset8 << 3 | (more ? 1 : 0)));
	pb_be32(pb, 0xdeadbeef); /* identification */
	return off;
}

/* TCP header with doff 32-bit words (options filled with NOPs). */
static uint32_t
add_tcp_ex(struct pb *pb, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags,
	unsigned int doff)
{
	uint32_t off = pb->n;

	pb_be16(pb, sport);
	pb_be16(pb, dport);
	pb_be32(pb, seq);
	pb_be32(pb, 0x0a0b0c0d); /* ack */
	pb_u8(pb, (uint8_t)((doff & 0x0f) << 4));
	pb_u8(pb, flags);
	pb_be16(pb, 65535);      /* window */
	pb_be16(pb, 0);          /* checksum */
	pb_be16(pb, 0);          /* urgent */
	for (unsigned int i = 5; i < doff; i++)
		pb_be32(pb, 0x01010101);
	return off;
}

static uint32_t
add_tcp(struct pb *pb, uint16_t sport, uint16_t dport, uint32_t seq, uint8_t flags)
{
	return add_tcp_ex(pb, sport, dport, seq, flags, 5);
}

/* UDP header; length set by end_udp(). */
static uint32_t
add_udp(struct pb *pb, uint16_t sport, uint16_t dport)
{
	uint32_t off = pb->n;

	pb_be16(pb, sport);
	pb_be16(pb, dport);
	pb_be16(pb, 0);
	pb_be16(pb, 0);
	return off;
}

static void
end_udp(struct pb *pb, uint32_t udp_off)
{
	set_be16(pb, udp_off + 4, (uint16_t)(pb->n - udp_off));
}

/* ICMP / ICMPv6 8-byte header: type, code, checksum, identifier, sequence (or "unused"). */
static uint32_t
add_icmp(struct pb *pb, uint8_t type, uint8_t code, uint16_t id, uint16_t seq)
{
	uint32_t off = pb->n;

	pb_u8(pb, type);
	pb_u8(pb, code);
	pb_be16(pb, 0);
	pb_be16(pb, id);
	pb_be16(pb, seq);
	return off;
}

/* L4 payload: a recognisable byte pattern. */
static uint32_t
add_data(struct pb *pb, uint32_t len)
{
	uint32_t off = pb->n;

	for (uint32_t i = 0; i < len; i++)
		pb_u8(pb, (uint8_t)('a' + i % 26));
	return off;
}

/* Ethernet minimum-frame padding. */
static void
pad_to(struct pb *pb, uint32_t len)
{
	while (pb->n < len)
		pb_u8(pb, 0);
}

/* Ethernet / IPv4 / TCP (ports 40000 -> 80, seq 0x11223344, PSH|ACK) with paylen bytes. */
static void
build_v4_tcp(struct pb *pb, uint32_t paylen)
{
	uint32_t ip;

	pb_init(pb);
	add_eth(pb, 0x0800);
	ip = add_ipv4(pb, 6);
	add_tcp(pb, 40000, 80, 0x11223344, 0x18);
	add_data(pb, paylen);
	end_ipv4(pb, ip);
}

/* Ethernet / IPv4 / UDP (5353 -> 53) with paylen bytes. */
static void
build_v4_udp(struct pb *pb, uint32_t paylen)
{
	uint32_t ip, u;

	pb_init(pb);
	add_eth(pb, 0x0800);
	ip = add_ipv4(pb, 17);
	u = add_udp(pb, 5353, 53);
	add_data(pb, paylen);
	end_udp(pb, u);
	end_ipv4(pb, ip);
}

/* Ethernet / IPv6 / TCP with paylen bytes. */
static void
build_v6_tcp(struct pb *pb, uint32_t paylen)
{
	uint32_t ip;

	pb_init(pb);
	add_eth(pb, 0x86DD);
	ip = add_ipv6(pb, 6);
	add_tcp(pb, 443, 50123, 0xfffffff0, 0x02);
	add_data(pb, paylen);
	end_ipv6(pb, ip);
}

/* ---------------------------------------------------------------------------------------
 * Parse helpers and assertions
 * ------------------------------------------------------------------------------------- */

/* Parse with explicit avail/cap/wire; the first min(avail, pb->n) bytes end at the guard. */
static enum sl_pkt_outcome
parse_ex(int lt, const uint8_t *bytes, uint32_t len, uint32_t avail, uint32_t cap_len,
	uint32_t wire_len, struct sl_pkt *out)
{
	uint32_t n = SL_MIN(avail, len);
	uint8_t *p = guard_base + guard_area - n;

	assert_non_null(guard_base);
	assert_true(n <= guard_area);
	memcpy(p, bytes, n);
	memset(out, 0, sizeof(*out));
	return sl_pkt_parse(lt, p, avail, cap_len, wire_len, out);
}

/* The common case: the whole packet is captured and readable. */
static enum sl_pkt_outcome
parse_pb(int lt, const struct pb *pb, struct sl_pkt *out)
{
	return parse_ex(lt, pb->b, pb->n, pb->n, pb->n, pb->n, out);
}

#define assert_outcome(got, want)                                                          \
	do {                                                                                   \
		unsigned int g_ = (unsigned int)(got), w_ = (unsigned int)(want);                  \
		if (g_ != w_)                                                                      \
			fail_msg("outcome %s (%u), expected %s (%u)", sl_pkt_outcome_name(g_), g_,     \
				sl_pkt_outcome_name(w_), w_);                                              \
	} while (0)

static void
v4_mapped(uint8_t m[16], const uint8_t a[4])
{
	memset(m, 0, 10);
	m[10] = m[11] = 0xff;
	memcpy(m + 12, a, 4);
}

static void
assert_v4_addrs(const struct sl_pkt *k)
{
	uint8_t m[16];

	assert_int_equal(k->ipver, 4);
	v4_mapped(m, V4_SRC);
	assert_memory_equal(k->src, m, 16);
	v4_mapped(m, V4_DST);
	assert_memory_equal(k->dst, m, 16);
}

static void
assert_v6_addrs(const struct sl_pkt *k)
{
	assert_int_equal(k->ipver, 6);
	assert_memory_equal(k->src, V6_SRC, 16);
	assert_memory_equal(k->dst, V6_DST, 16);
}

/* ---------------------------------------------------------------------------------------
 * Well-formed packets
 * ------------------------------------------------------------------------------------- */

static void
test_eth_ipv4_tcp(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	build_v4_tcp(&pb, 10);
	assert_int_equal(pb.n, 64);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v4_addrs(&k);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.dport, 80);
	assert_int_equal(k.tcp_flags, 0x18);
	assert_int_equal(k.tcp_seq, 0x11223344);
	assert_int_equal(k.l3_off, 14);
	assert_int_equal(k.l4_off, 34);
	assert_int_equal(k.payload_off, 54);
	assert_int_equal(k.payload_len, 10);
	assert_int_equal(k.payload_cap, 10);
	assert_int_equal(k.flags, 0);
	assert_int_equal(k.wire_len, 64);
}

static void
test_tcp_options(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	/* data offset 8 (12 option bytes) and exactly filling the IP payload: boundary ok */
	pb_init(&pb);
	add_eth(&pb, 0x0800);
	ip = add_ipv4(&pb, 6);
	add_tcp_ex(&pb, 1, 2, 7, 0x10, 8);
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.l4_off, 34);
	assert_int_equal(k.payload_off, 34 + 32);
	assert_int_equal(k.payload_len, 0);
	assert_int_equal(k.payload_cap, 0);
	assert_int_equal(k.tcp_flags, 0x10);
	assert_int_equal(k.tcp_seq, 7);
	assert_int_equal(k.flags, 0);
}

static void
test_ipv4_options(void **state)
{
	static const unsigned int ihls[] = {6, 15};
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(ihls); i++) {
		pb_init(&pb);
		add_eth(&pb, 0x0800);
		ip = add_ipv4_ex(&pb, 6, ihls[i], 0);
		add_tcp(&pb, 1234, 22, 99, 0x02);
		add_data(&pb, 3);
		end_ipv4(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
		assert_v4_addrs(&k);
		assert_int_equal(k.l3_off, 14);
		assert_int_equal(k.l4_off, 14 + ihls[i] * 4);
		assert_int_equal(k.payload_off, 14 + ihls[i] * 4 + 20);
		assert_int_equal(k.payload_len, 3);
		assert_int_equal(k.payload_cap, 3);
		assert_int_equal(k.sport, 1234);
		assert_int_equal(k.dport, 22);
		assert_int_equal(k.tcp_flags, 0x02);
	}
}

static void
test_eth_padding(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	/* 40-byte IP packet (TCP, no payload) in a 60-byte frame: 6 bytes of padding */
	build_v4_tcp(&pb, 0);
	assert_int_equal(pb.n, 54);
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.payload_off, 54);
	assert_int_equal(k.payload_len, 0);
	assert_int_equal(k.payload_cap, 0);
	assert_int_equal(k.flags, 0);
	assert_int_equal(k.wire_len, 60);

	/* TCP with 2 payload bytes, 4 bytes of padding */
	build_v4_tcp(&pb, 2);
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.payload_len, 2);
	assert_int_equal(k.payload_cap, 2);
	assert_int_equal(k.flags, 0);

	/* UDP with 4 payload bytes (IP length 32) padded to 60 */
	build_v4_udp(&pb, 4);
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.payload_off, 42);
	assert_int_equal(k.payload_len, 4);
	assert_int_equal(k.payload_cap, 4);
	assert_int_equal(k.flags, 0);
}

static void
test_ipv4_udp(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	build_v4_udp(&pb, 5);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v4_addrs(&k);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.sport, 5353);
	assert_int_equal(k.dport, 53);
	assert_int_equal(k.tcp_flags, 0);
	assert_int_equal(k.tcp_seq, 0);
	assert_int_equal(k.l3_off, 14);
	assert_int_equal(k.l4_off, 34);
	assert_int_equal(k.payload_off, 42);
	assert_int_equal(k.payload_len, 5);
	assert_int_equal(k.payload_cap, 5);
	assert_int_equal(k.flags, 0);

	/* UDP length shorter than the IP payload: payload_len follows the UDP length */
	build_v4_udp(&pb, 5);
	add_data(&pb, 7);                          /* trailing bytes inside the IP packet */
	end_ipv4(&pb, 14);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.payload_len, 5);
	assert_int_equal(k.payload_cap, 5);
	assert_int_equal(k.flags, 0);

	/* empty UDP datagram (length 8) */
	build_v4_udp(&pb, 0);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.payload_len, 0);
	assert_int_equal(k.payload_cap, 0);
}

static void
test_icmp_echo(void **state)
{
	static const uint8_t types[] = {8, 0}; /* request, reply */
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(types); i++) {
		pb_init(&pb);
		add_eth(&pb, 0x0800);
		ip = add_ipv4(&pb, 1);
		add_icmp(&pb, types[i], 0, 0xbeef, 3);
		add_data(&pb, 16);
		end_ipv4(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
		assert_v4_addrs(&k);
		assert_int_equal(k.proto, 1);
		assert_int_equal(k.sport, 0xbeef);
		assert_int_equal(k.dport, 0xbeef);
		assert_int_equal(k.l4_off, 34);
		assert_int_equal(k.payload_off, 42);
		assert_int_equal(k.payload_len, 16);
		assert_int_equal(k.payload_cap, 16);
		assert_int_equal(k.tcp_flags, 0);
		assert_int_equal(k.flags, 0);
	}
}

static void
test_icmp_unreachable(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x0800);
	ip = add_ipv4(&pb, 1);
	add_icmp(&pb, 3, 3, 0x4242, 0x4242); /* "unused" field: must not become ports */
	add_data(&pb, 28);                   /* quoted IP header + 8 bytes */
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.proto, 1);
	assert_int_equal(k.sport, 0);
	assert_int_equal(k.dport, 0);
	assert_int_equal(k.l4_off, 34);
	/* only the 4-byte type/code/checksum part counts as the header */
	assert_int_equal(k.payload_off, 38);
	assert_int_equal(k.payload_len, 32);
	assert_int_equal(k.payload_cap, 32);
}

static void
test_ipv6_tcp(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	build_v6_tcp(&pb, 12);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v6_addrs(&k);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.sport, 443);
	assert_int_equal(k.dport, 50123);
	assert_int_equal(k.tcp_flags, 0x02);
	assert_int_equal(k.tcp_seq, 0xfffffff0);
	assert_int_equal(k.l3_off, 14);
	assert_int_equal(k.l4_off, 54);
	assert_int_equal(k.payload_off, 74);
	assert_int_equal(k.payload_len, 12);
	assert_int_equal(k.payload_cap, 12);
	assert_int_equal(k.flags, 0);
}

static void
test_ipv6_ext_chain_udp(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip, u;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 0);  /* -> hop-by-hop */
	add_ext6(&pb, 60, 0);   /* hop-by-hop, 8 bytes -> destination options */
	add_ext6(&pb, 43, 1);   /* destination options, 16 bytes -> routing */
	add_ext6(&pb, 17, 2);   /* routing, 24 bytes -> UDP */
	u = add_udp(&pb, 546, 547);
	add_data(&pb, 9);
	end_udp(&pb, u);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v6_addrs(&k);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.sport, 546);
	assert_int_equal(k.dport, 547);
	assert_int_equal(k.l3_off, 14);
	assert_int_equal(k.l4_off, 14 + 40 + 8 + 16 + 24);
	assert_int_equal(k.payload_off, 14 + 40 + 48 + 8);
	assert_int_equal(k.payload_len, 9);
	assert_int_equal(k.payload_cap, 9);
	assert_int_equal(k.flags, 0);
}

static void
test_ipv6_ah_tcp(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 51);
	add_ah6(&pb, 6, 4);     /* (4 + 2) * 4 = 24 bytes */
	add_tcp(&pb, 5000, 6000, 1, 0x11);
	add_data(&pb, 4);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.l4_off, 14 + 40 + 24);
	assert_int_equal(k.payload_len, 4);
	assert_int_equal(k.sport, 5000);
	assert_int_equal(k.dport, 6000);
}

static void
test_ipv6_frag_first(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 44);
	add_frag6(&pb, 6, 0, 1);  /* offset 0, more fragments */
	add_tcp(&pb, 7000, 8000, 0x01020304, 0x18);
	add_data(&pb, 24);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v6_addrs(&k);
	assert_int_equal(k.flags & SL_PKT_F_FRAG, SL_PKT_F_FRAG);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.sport, 7000);
	assert_int_equal(k.dport, 8000);
	assert_int_equal(k.tcp_seq, 0x01020304);
	assert_int_equal(k.l4_off, 14 + 40 + 8);
	assert_int_equal(k.payload_off, 14 + 40 + 8 + 20);
	assert_int_equal(k.payload_len, 24);

	/* an atomic fragment (offset 0, M clear) is not part of a fragmented datagram */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 44);
	add_frag6(&pb, 6, 0, 0);
	add_tcp(&pb, 7000, 8000, 1, 0x18);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.flags & SL_PKT_F_FRAG, 0);
}

static void
test_ipv6_frag_nonfirst(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 44);
	add_frag6(&pb, 17, 185, 1);
	add_data(&pb, 64);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_ip_fragment);

	/* last fragment: offset != 0, M clear */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 44);
	add_frag6(&pb, 17, 1, 0);
	add_data(&pb, 8);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_ip_fragment);
}

static void
test_ipv4_frag_first(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x0800);
	ip = add_ipv4_ex(&pb, 6, 5, 0x2000); /* MF, offset 0 */
	add_tcp(&pb, 1111, 2222, 42, 0x10);
	add_data(&pb, 16);
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v4_addrs(&k);
	assert_int_equal(k.flags, SL_PKT_F_FRAG);
	assert_int_equal(k.proto, 6);
	assert_int_equal(k.sport, 1111);
	assert_int_equal(k.dport, 2222);
	assert_int_equal(k.payload_len, 16);

	/* DF alone is not fragmentation */
	pb_init(&pb);
	add_eth(&pb, 0x0800);
	ip = add_ipv4_ex(&pb, 6, 5, 0x4000);
	add_tcp(&pb, 1111, 2222, 42, 0x10);
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.flags, 0);
}

static void
test_ipv4_frag_nonfirst(void **state)
{
	static const uint16_t frags[] = {0x2000 | 185, 185, 1, 0x1fff};
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(frags); i++) {
		pb_init(&pb);
		add_eth(&pb, 0x0800);
		ip = add_ipv4_ex(&pb, 17, 5, frags[i]);
		add_data(&pb, 40);
		end_ipv4(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_ip_fragment);
	}
}

static void
test_icmpv6_echo(void **state)
{
	static const uint8_t types[] = {128, 129};
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(types); i++) {
		pb_init(&pb);
		add_eth(&pb, 0x86DD);
		ip = add_ipv6(&pb, 58);
		add_icmp(&pb, types[i], 0, 0x0102, 9);
		add_data(&pb, 32);
		end_ipv6(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
		assert_v6_addrs(&k);
		assert_int_equal(k.proto, 58);
		assert_int_equal(k.sport, 0x0102);
		assert_int_equal(k.dport, 0x0102);
		assert_int_equal(k.l4_off, 54);
		assert_int_equal(k.payload_off, 62);
		assert_int_equal(k.payload_len, 32);
		assert_int_equal(k.payload_cap, 32);
	}

	/* neighbour solicitation (135): no identifier, ports 0 */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 58);
	add_icmp(&pb, 135, 0, 0x0102, 9);
	add_data(&pb, 16);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.sport, 0);
	assert_int_equal(k.dport, 0);
}

static void
test_gre(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x0800);
	ip = add_ipv4(&pb, 47);
	pb_be16(&pb, 0);      /* GRE flags/version */
	pb_be16(&pb, 0x0800); /* GRE protocol */
	add_data(&pb, 20);
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v4_addrs(&k);
	assert_int_equal(k.proto, 47);
	assert_int_equal(k.sport, 0);
	assert_int_equal(k.dport, 0);
	assert_int_equal(k.tcp_flags, 0);
	assert_int_equal(k.l4_off, 34);
	assert_int_equal(k.payload_off, 34);
	assert_int_equal(k.payload_len, 24);
	assert_int_equal(k.payload_cap, 24);
}

static void
test_vlan_single(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x8100);
	add_vlan(&pb, 100, 0x0800);
	ip = add_ipv4(&pb, 6);
	add_tcp(&pb, 40000, 80, 1, 0x02);
	add_data(&pb, 5);
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_v4_addrs(&k);
	assert_int_equal(k.l3_off, 18);
	assert_int_equal(k.l4_off, 38);
	assert_int_equal(k.payload_off, 58);
	assert_int_equal(k.payload_len, 5);
	assert_int_equal(k.sport, 40000);
}

static void
test_vlan_qinq(void **state)
{
	static const uint16_t outer[] = {0x88A8, 0x9100, 0x8100};
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(outer); i++) {
		pb_init(&pb);
		add_eth(&pb, outer[i]);
		add_vlan(&pb, 10, 0x8100);
		add_vlan(&pb, 20, 0x86DD);
		ip = add_ipv6(&pb, 6);
		add_tcp(&pb, 1, 2, 3, 0x04);
		end_ipv6(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
		assert_v6_addrs(&k);
		assert_int_equal(k.l3_off, 22);
		assert_int_equal(k.l4_off, 62);
		assert_int_equal(k.tcp_flags, 0x04);
	}
}

static void
test_vlan_three_tags(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	pb_init(&pb);
	add_eth(&pb, 0x88A8);
	add_vlan(&pb, 1, 0x8100);
	add_vlan(&pb, 2, 0x8100);
	add_vlan(&pb, 3, 0x0800);
	ip = add_ipv4(&pb, 6);
	add_tcp(&pb, 1, 2, 3, 0x02);
	end_ipv4(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_vlan_depth);
}

static void
test_non_ip(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	/* ARP request */
	pb_init(&pb);
	add_eth(&pb, 0x0806);
	pb_be16(&pb, 1);
	pb_be16(&pb, 0x0800);
	pb_u8(&pb, 6);
	pb_u8(&pb, 4);
	pb_be16(&pb, 1);
	pb_zero(&pb, 20);
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_non_ip);

	/* ARP behind a VLAN tag */
	pb_init(&pb);
	add_eth(&pb, 0x8100);
	add_vlan(&pb, 5, 0x0806);
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_non_ip);

	/* LLDP, and a bare 14-byte header with an unknown ethertype */
	pb_init(&pb);
	add_eth(&pb, 0x88CC);
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_non_ip);
	pb_init(&pb);
	add_eth(&pb, 0x1234);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_non_ip);
}

/* ---------------------------------------------------------------------------------------
 * Link types
 * ------------------------------------------------------------------------------------- */

/* Append IPv4/UDP (1000 -> 2000, 6 payload bytes) or IPv6/UDP to what pb already holds. */
static void
add_ip_udp(struct pb *pb, int v6)
{
	uint32_t ip, u;

	ip = v6 ? add_ipv6(pb, 17) : add_ipv4(pb, 17);
	u = add_udp(pb, 1000, 2000);
	add_data(pb, 6);
	end_udp(pb, u);
	if (v6)
		end_ipv6(pb, ip);
	else
		end_ipv4(pb, ip);
}

static void
check_udp_at(int lt, const struct pb *pb, int v6, uint16_t l3)
{
	struct sl_pkt k;
	uint32_t l4 = l3 + (v6 ? 40u : 20u);

	assert_outcome(parse_pb(lt, pb, &k), SL_PKT_handled);
	if (v6)
		assert_v6_addrs(&k);
	else
		assert_v4_addrs(&k);
	assert_int_equal(k.l3_off, l3);
	assert_int_equal(k.l4_off, l4);
	assert_int_equal(k.proto, 17);
	assert_int_equal(k.sport, 1000);
	assert_int_equal(k.dport, 2000);
	assert_int_equal(k.payload_off, l4 + 8);
	assert_int_equal(k.payload_len, 6);
	assert_int_equal(k.payload_cap, 6);
}

static void
test_linktype_sll(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		pb_init(&pb);
		add_sll(&pb, v6 ? 0x86DD : 0x0800);
		add_ip_udp(&pb, v6);
		check_udp_at(SL_DLT_LINUX_SLL, &pb, v6, 16);
	}
	pb_init(&pb);
	add_sll(&pb, 0x8100); /* VLAN tags are followed after SLL too */
	add_vlan(&pb, 7, 0x0800);
	add_ip_udp(&pb, 0);
	check_udp_at(SL_DLT_LINUX_SLL, &pb, 0, 20);
	pb_init(&pb);
	add_sll(&pb, 0x0806);
	pb_zero(&pb, 28);
	assert_outcome(parse_pb(SL_DLT_LINUX_SLL, &pb, &k), SL_PKT_non_ip);
}

static void
test_linktype_sll2(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	for (int v6 = 0; v6 <= 1; v6++) {
		pb_init(&pb);
		add_sll2(&pb, v6 ? 0x86DD : 0x0800);
		add_ip_udp(&pb, v6);
		check_udp_at(SL_DLT_LINUX_SLL2, &pb, v6, 20);
	}
	pb_init(&pb);
	add_sll2(&pb, 0x0806);
	pb_zero(&pb, 28);
	assert_outcome(parse_pb(SL_DLT_LINUX_SLL2, &pb, &k), SL_PKT_non_ip);
}

static void
test_linktype_raw(void **state)
{
	static const int lts[] = {SL_DLT_RAW, SL_DLT_RAW_ALT, SL_DLT_RAW_LT};
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(lts); i++) {
		for (int v6 = 0; v6 <= 1; v6++) {
			pb_init(&pb);
			add_ip_udp(&pb, v6);
			check_udp_at(lts[i], &pb, v6, 0);
		}
		/* empty frame, and an unknown version nibble (taken as IPv4) */
		pb_init(&pb);
		assert_outcome(parse_pb(lts[i], &pb, &k), SL_PKT_truncated_l2);
		add_ip_udp(&pb, 0);
		pb.b[0] = 0x55;
		assert_outcome(parse_pb(lts[i], &pb, &k), SL_PKT_bad_ip_version);
	}
}

static void
test_linktype_ipv4_ipv6(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	pb_init(&pb);
	add_ip_udp(&pb, 0);
	check_udp_at(SL_DLT_IPV4, &pb, 0, 0);
	assert_outcome(parse_pb(SL_DLT_IPV6, &pb, &k), SL_PKT_truncated_ipv6); /* 34 < 40 bytes */

	pb_init(&pb);
	add_ip_udp(&pb, 1);
	check_udp_at(SL_DLT_IPV6, &pb, 1, 0);
	assert_outcome(parse_pb(SL_DLT_IPV4, &pb, &k), SL_PKT_bad_ip_version);

	/* IPv4 packet of 40+ bytes under DLT_IPV6 */
	build_v4_tcp(&pb, 0);
	assert_outcome(parse_ex(SL_DLT_IPV6, pb.b + 14, 40, 40, 40, 40, &k), SL_PKT_bad_ip_version);

	pb_init(&pb);
	assert_outcome(parse_pb(SL_DLT_IPV4, &pb, &k), SL_PKT_truncated_ipv4);
	assert_outcome(parse_pb(SL_DLT_IPV6, &pb, &k), SL_PKT_truncated_ipv6);
}

static void
test_linktype_null_loop(void **state)
{
	static const struct {
		int lt;
		uint32_t af;
		int big_endian;
		int v6;
	} cases[] = {
		{SL_DLT_NULL, 2, 0, 0},  /* AF_INET, little-endian host */
		{SL_DLT_NULL, 24, 0, 1}, /* AF_INET6 on NetBSD/OpenBSD */
		{SL_DLT_NULL, 28, 0, 1}, /* AF_INET6 on FreeBSD */
		{SL_DLT_NULL, 30, 0, 1}, /* AF_INET6 on macOS */
		{SL_DLT_NULL, 10, 0, 1}, /* AF_INET6 on Linux */
		{SL_DLT_NULL, 2, 1, 0},  /* written on a big-endian host */
		{SL_DLT_NULL, 30, 1, 1},
		{SL_DLT_NULL, 24, 1, 1},
		{SL_DLT_LOOP, 2, 1, 0},  /* OpenBSD loop: network order */
		{SL_DLT_LOOP, 24, 1, 1},
		{SL_DLT_LOOP, 28, 1, 1},
		{SL_DLT_LOOP, 30, 1, 1},
	};
	static const struct {
		int lt;
		uint32_t af;
		int big_endian;
	} bad[] = {
		{SL_DLT_NULL, 7, 0},
		{SL_DLT_NULL, 7, 1},
		{SL_DLT_NULL, 0, 0},
		{SL_DLT_NULL, 0xffffffff, 0},
		{SL_DLT_LOOP, 7, 1},
		{SL_DLT_LOOP, 2, 0}, /* host order is not accepted on LOOP */
	};
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(cases); i++) {
		pb_init(&pb);
		add_loop_af(&pb, cases[i].af, cases[i].big_endian);
		add_ip_udp(&pb, cases[i].v6);
		check_udp_at(cases[i].lt, &pb, cases[i].v6, 4);
	}
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(bad); i++) {
		pb_init(&pb);
		add_loop_af(&pb, bad[i].af, bad[i].big_endian);
		add_ip_udp(&pb, 0);
		assert_outcome(parse_pb(bad[i].lt, &pb, &k), SL_PKT_unsupported_linktype);
	}
	/* shorter than the 4-byte family */
	pb_init(&pb);
	add_loop_af(&pb, 2, 0);
	pb.n = 3;
	assert_outcome(parse_pb(SL_DLT_NULL, &pb, &k), SL_PKT_truncated_l2);
	assert_outcome(parse_pb(SL_DLT_LOOP, &pb, &k), SL_PKT_truncated_l2);
}

static void
test_linktype_unknown(void **state)
{
	static const int lts[] = {2, 9, 105, 127, 147, 999, -1, 0x7fffffff};
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	build_v4_tcp(&pb, 4);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(lts); i++) {
		assert_outcome(parse_pb(lts[i], &pb, &k), SL_PKT_unsupported_linktype);
		assert_false(sl_pkt_linktype_supported(lts[i]));
		assert_string_equal(sl_pkt_linktype_name(lts[i]), "unsupported");
	}
}

static void
test_linktype_names(void **state)
{
	static const struct {
		int lt;
		const char *name;
	} lts[] = {
		{SL_DLT_NULL, "NULL"},
		{SL_DLT_EN10MB, "EN10MB"},
		{SL_DLT_RAW, "RAW"},
		{SL_DLT_RAW_ALT, "RAW"},
		{SL_DLT_RAW_LT, "RAW"},
		{SL_DLT_LOOP, "LOOP"},
		{SL_DLT_LINUX_SLL, "LINUX_SLL"},
		{SL_DLT_LINUX_SLL2, "LINUX_SLL2"},
		{SL_DLT_IPV4, "IPV4"},
		{SL_DLT_IPV6, "IPV6"},
	};

	(void)state;
	assert_int_equal(SL_DLT_NULL, 0);
	assert_int_equal(SL_DLT_EN10MB, 1);
	assert_int_equal(SL_DLT_LINUX_SLL, 113);
	assert_int_equal(SL_DLT_LINUX_SLL2, 276);
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(lts); i++) {
		assert_true(sl_pkt_linktype_supported(lts[i].lt));
		assert_string_equal(sl_pkt_linktype_name(lts[i].lt), lts[i].name);
	}
}

/* ---------------------------------------------------------------------------------------
 * Malformed packets
 * ------------------------------------------------------------------------------------- */

static void
test_bad_l2(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	build_v4_tcp(&pb, 0);
	for (uint32_t n = 0; n < 14; n++)
		assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, n, n, n, n, &k), SL_PKT_truncated_l2);

	pb_init(&pb);
	add_sll(&pb, 0x0800);
	add_ip_udp(&pb, 0);
	for (uint32_t n = 0; n < 16; n++)
		assert_outcome(parse_ex(SL_DLT_LINUX_SLL, pb.b, n, n, n, n, &k), SL_PKT_truncated_l2);
	pb_init(&pb);
	add_sll2(&pb, 0x0800);
	add_ip_udp(&pb, 0);
	for (uint32_t n = 0; n < 20; n++)
		assert_outcome(parse_ex(SL_DLT_LINUX_SLL2, pb.b, n, n, n, n, &k), SL_PKT_truncated_l2);

	/* VLAN tag cut off: TPID present, only 2 of the 4 tag bytes */
	pb_init(&pb);
	add_eth(&pb, 0x8100);
	pb_be16(&pb, 100);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_l2);
	/* second tag cut off */
	pb_init(&pb);
	add_eth(&pb, 0x88A8);
	add_vlan(&pb, 1, 0x8100);
	pb_be16(&pb, 2);
	pb_u8(&pb, 0x08);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_l2);
}

static void
test_bad_ipv4(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	/* fewer than 20 bytes of IPv4 header */
	build_v4_tcp(&pb, 0);
	for (uint32_t n = 14; n < 34; n++)
		assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, n, n, n, n, &k), SL_PKT_truncated_ipv4);

	/* version 6 nibble inside an 0x0800 frame */
	build_v4_tcp(&pb, 0);
	pb.b[14] = 0x65;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ip_version);

	/* IHL 4 (and 0) */
	build_v4_tcp(&pb, 0);
	pb.b[14] = 0x44;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_ihl);
	pb.b[14] = 0x40;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_ihl);

	/* IHL 15 (60 bytes) but only 40 IP bytes captured */
	build_v4_tcp(&pb, 0);
	pb.b[14] = 0x4f;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_ihl);

	/* total length below IHL*4 */
	build_v4_tcp(&pb, 0);
	set_be16(&pb, 16, 19);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_length);
	set_be16(&pb, 16, 0);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_length);
	pb.b[14] = 0x46; /* IHL 24 bytes, total length 20 */
	set_be16(&pb, 16, 20);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_length);

	/* total length one beyond wire_len (and far beyond) */
	build_v4_tcp(&pb, 4);
	set_be16(&pb, 16, (uint16_t)(pb.n - 14 + 1));
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_length);
	set_be16(&pb, 16, 0xffff);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv4_length);
	/* ... but fine when the wire was longer than the capture */
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, pb.n, pb.n, 14 + 0xffff, &k),
		SL_PKT_handled);
}

static void
test_bad_ipv6(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	build_v6_tcp(&pb, 0);
	for (uint32_t n = 14; n < 54; n++)
		assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, n, n, n, n, &k), SL_PKT_truncated_ipv6);

	/* version 4 nibble inside an 0x86DD frame */
	build_v6_tcp(&pb, 0);
	pb.b[14] = 0x45;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ip_version);

	/* payload length beyond the frame */
	build_v6_tcp(&pb, 8);
	set_be16(&pb, 18, (uint16_t)(pb.n - 54 + 1));
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_length);
	set_be16(&pb, 18, 0xffff);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_length);
}

/* IPv6/UDP behind n_ext 8-byte extension headers alternating hop-by-hop and dest-opts. */
static void
build_ext_loop(struct pb *pb, unsigned int n_ext)
{
	uint32_t ip, u;

	pb_init(pb);
	add_eth(pb, 0x86DD);
	ip = add_ipv6(pb, n_ext > 0 ? 0 : 17);
	for (unsigned int i = 0; i < n_ext; i++)
		add_ext6(pb, i + 1 == n_ext ? 17 : (i % 2 == 0 ? 60 : 0), 0);
	u = add_udp(pb, 1, 2);
	end_udp(pb, u);
	end_ipv6(pb, ip);
}

static void
test_bad_ipv6_ext(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	/* exactly SL_PKT_MAX_EXT headers is accepted, one more is not */
	build_ext_loop(&pb, SL_PKT_MAX_EXT);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_int_equal(k.l4_off, 54 + 8 * SL_PKT_MAX_EXT);
	assert_int_equal(k.proto, 17);
	build_ext_loop(&pb, SL_PKT_MAX_EXT + 1);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_ext);
	build_ext_loop(&pb, 40);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_ext);

	/* a chain that never ends: every header says "destination options follow" */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 60);
	for (int i = 0; i < 20; i++)
		add_ext6(&pb, 60, 0);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_ext);

	/* hop-by-hop claiming 32 bytes in an 8-byte IPv6 payload */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 0);
	add_ext6(&pb, 17, 0);
	pb.b[55] = 3;
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_ext);

	/* routing header with only 4 of its first 8 bytes present */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 43);
	pb_be32(&pb, 0x11000000);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_ext);

	/* fragment header cut short */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 44);
	pb_be32(&pb, 0x06000001);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_ipv6_ext);
}

/* An extension header whose declared length runs past the captured bytes is a truncated
 * chain (bad_ipv6_ext), whatever protocol follows: the header does not fit in `avail`
 * and a "handled" result would put payload_off past the capture. */
static void
test_ipv6_ext_beyond_capture(void **state)
{
	static const uint8_t next[] = {50, 59, 47}; /* ESP, no next header, GRE */
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (unsigned int i = 0; i < SL_ARRAY_SIZE(next); i++) {
		/* Ethernet / IPv6 / dest-opts (24 bytes) / 16 bytes of `next`; 1518-byte wire */
		pb_init(&pb);
		add_eth(&pb, 0x86DD);
		ip = add_ipv6(&pb, 60);
		add_ext6(&pb, next[i], 2);
		add_data(&pb, 16);
		end_ipv6(&pb, ip);
		/* full capture: fine */
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
		assert_int_equal(k.proto, next[i]);
		assert_int_equal(k.l4_off, 54 + 24);
		/* snaplen 70 cuts the 24-byte header after 16 bytes */
		assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 70, 70, pb.n, &k),
			SL_PKT_bad_ipv6_ext);
	}

	/* same with an AH whose 24 bytes are cut by the capture */
	pb_init(&pb);
	add_eth(&pb, 0x86DD);
	ip = add_ipv6(&pb, 51);
	add_ah6(&pb, 50, 4);
	add_data(&pb, 16);
	end_ipv6(&pb, ip);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_handled);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 64, 64, pb.n, &k), SL_PKT_bad_ipv6_ext);
}

static void
test_bad_tcp(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	/* IP payload shorter than 20 bytes of TCP */
	for (uint32_t len = 0; len < 20; len++) {
		build_v4_tcp(&pb, 0);
		pb.n = 34 + len;
		end_ipv4(&pb, 14);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_tcp);
	}
	build_v6_tcp(&pb, 0);
	pb.n = 54 + 19;
	end_ipv6(&pb, 14);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_tcp);

	/* data offset 4 and 0 */
	build_v4_tcp(&pb, 8);
	pb.b[34 + 12] = 0x40;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_tcp_offset);
	pb.b[34 + 12] = 0x00;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_tcp_offset);

	/* data offset 15 (60 bytes) in a 30-byte IP payload; 8 (32) in 28 */
	build_v4_tcp(&pb, 10);
	pb.b[34 + 12] = 0xf0;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_tcp_offset);
	build_v4_tcp(&pb, 8);
	pb.b[34 + 12] = 0x80;
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_tcp_offset);
}

static void
test_bad_udp(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	for (uint32_t len = 0; len < 8; len++) {
		build_v4_udp(&pb, 0);
		pb.n = 34 + len;
		end_ipv4(&pb, 14);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_udp);
	}

	/* UDP length 7 (and 0) */
	build_v4_udp(&pb, 4);
	set_be16(&pb, 34 + 4, 7);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_udp_length);
	set_be16(&pb, 34 + 4, 0);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_udp_length);

	/* UDP length one beyond the IP payload */
	build_v4_udp(&pb, 4);
	set_be16(&pb, 34 + 4, 13);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_udp_length);
	/* beyond the IP payload even though the Ethernet padding would cover it */
	pad_to(&pb, 60);
	assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_bad_udp_length);
}

static void
test_bad_icmp(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	for (uint32_t len = 0; len < 4; len++) {
		pb_init(&pb);
		add_eth(&pb, 0x0800);
		ip = add_ipv4(&pb, 1);
		add_icmp(&pb, 8, 0, 1, 1);
		pb.n = 34 + len;
		end_ipv4(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_icmp);

		pb_init(&pb);
		add_eth(&pb, 0x86DD);
		ip = add_ipv6(&pb, 58);
		add_icmp(&pb, 128, 0, 1, 1);
		pb.n = 54 + len;
		end_ipv6(&pb, ip);
		assert_outcome(parse_pb(SL_DLT_EN10MB, &pb, &k), SL_PKT_truncated_icmp);
	}
}

/* ---------------------------------------------------------------------------------------
 * Snaplen and avail
 * ------------------------------------------------------------------------------------- */

static void
test_snaplen(void **state)
{
	struct pb pb;
	struct sl_pkt k;

	(void)state;
	/* 1514-byte TCP frame captured with snaplen 100 */
	build_v4_tcp(&pb, 1460);
	assert_int_equal(pb.n, 1514);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 100, 100, 1514, &k), SL_PKT_handled);
	assert_int_equal(k.flags, SL_PKT_F_SNAPPED);
	assert_int_equal(k.wire_len, 1514);
	assert_int_equal(k.payload_off, 54);
	assert_int_equal(k.payload_len, 1460);
	assert_int_equal(k.payload_cap, 46);
	assert_true(k.payload_cap < k.payload_len);
	assert_int_equal(k.sport, 40000);
	assert_int_equal(k.tcp_seq, 0x11223344);

	/* snaplen exactly at the end of the headers */
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 54, 54, 1514, &k), SL_PKT_handled);
	assert_int_equal(k.flags, SL_PKT_F_SNAPPED);
	assert_int_equal(k.payload_len, 1460);
	assert_int_equal(k.payload_cap, 0);

	/* snaplen inside the TCP header */
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 40, 40, 1514, &k), SL_PKT_truncated_tcp);

	/* UDP: payload_len comes from the UDP length, not from what was captured */
	build_v4_udp(&pb, 1000);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 64, 64, pb.n, &k), SL_PKT_handled);
	assert_int_equal(k.flags, SL_PKT_F_SNAPPED);
	assert_int_equal(k.payload_off, 42);
	assert_int_equal(k.payload_len, 1000);
	assert_int_equal(k.payload_cap, 22);

	/* IPv6 TCP */
	build_v6_tcp(&pb, 500);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 96, 96, pb.n, &k), SL_PKT_handled);
	assert_int_equal(k.flags, SL_PKT_F_SNAPPED);
	assert_int_equal(k.payload_len, 500);
	assert_int_equal(k.payload_cap, 96 - 74);

	/* wire_len below cap_len is raised to cap_len: nothing snapped */
	build_v4_tcp(&pb, 10);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, pb.n, pb.n, 0, &k), SL_PKT_handled);
	assert_int_equal(k.wire_len, pb.n);
	assert_int_equal(k.flags, 0);
	assert_int_equal(k.payload_cap, 10);
}

static void
test_avail_short(void **state)
{
	struct pb pb;
	struct sl_pkt k;
	uint32_t ip;

	(void)state;
	/* whole frame captured, but only 40 bytes readable: the TCP header lies beyond */
	build_v4_tcp(&pb, 100);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 40, pb.n, pb.n, &k),
		SL_PKT_truncated_tcp);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 53, pb.n, pb.n, &k),
		SL_PKT_truncated_tcp);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 30, pb.n, pb.n, &k),
		SL_PKT_truncated_ipv4);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 10, pb.n, pb.n, &k),
		SL_PKT_truncated_l2);
	/* headers fit: the payload outside avail still counts as captured */
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 54, pb.n, pb.n, &k), SL_PKT_handled);
	assert_int_equal(k.payload_len, 100);
	assert_int_equal(k.payload_cap, 100);
	assert_int_equal(k.flags, 0);

	/* TCP options beyond avail */
	pb_init(&pb);
	add_eth(&pb, 0x0800);
	ip = add_ipv4(&pb, 6);
	add_tcp_ex(&pb, 1, 2, 3, 0x10, 10);
	add_data(&pb, 50);
	end_ipv4(&pb, ip);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 60, pb.n, pb.n, &k),
		SL_PKT_bad_tcp_offset);

	/* UDP, ICMP echo identifier and IPv6 headers beyond avail */
	build_v4_udp(&pb, 50);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 41, pb.n, pb.n, &k),
		SL_PKT_truncated_udp);
	build_v6_tcp(&pb, 50);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 53, pb.n, pb.n, &k),
		SL_PKT_truncated_ipv6);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, 60, pb.n, pb.n, &k),
		SL_PKT_truncated_tcp);

	/* avail larger than cap_len is clamped to cap_len */
	build_v4_tcp(&pb, 100);
	assert_outcome(parse_ex(SL_DLT_EN10MB, pb.b, pb.n, pb.n, 40, pb.n, &k),
		SL_PKT_truncated_tcp);
}

/* ---------------------------------------------------------------------------------------
 * Fuzz-style sweep
 * ------------------------------------------------------------------------------------- */

/* Builds sample i into pb and returns its link type, or -1 past the last sample. */
static int
build_sample(unsigned int i, struct pb *pb)
{
	uint32_t ip, u;

	pb_init(pb);
	switch (i) {
	case 0:
		add_eth(pb, 0x0800);
		ip = add_ipv4_ex(pb, 6, 6, 0);
		add_tcp(pb, 1, 2, 3, 0x18);
		add_data(pb, 20);
		end_ipv4(pb, ip);
		return SL_DLT_EN10MB;
	case 1:
		add_eth(pb, 0x88A8);
		add_vlan(pb, 1, 0x8100);
		add_vlan(pb, 2, 0x86DD);
		ip = add_ipv6(pb, 0);
		add_ext6(pb, 60, 0);
		add_ext6(pb, 44, 1);
		add_frag6(pb, 17, 0, 1);
		u = add_udp(pb, 53, 5353);
		add_data(pb, 5);
		end_udp(pb, u);
		end_ipv6(pb, ip);
		return SL_DLT_EN10MB;
	case 2:
		add_sll(pb, 0x0800);
		ip = add_ipv4(pb, 1);
		add_icmp(pb, 8, 0, 77, 1);
		add_data(pb, 8);
		end_ipv4(pb, ip);
		return SL_DLT_LINUX_SLL;
	case 3:
		add_sll2(pb, 0x86DD);
		ip = add_ipv6(pb, 58);
		add_icmp(pb, 129, 0, 78, 1);
		add_data(pb, 4);
		end_ipv6(pb, ip);
		return SL_DLT_LINUX_SLL2;
	case 4:
		add_loop_af(pb, 30, 0);
		ip = add_ipv6(pb, 6);
		add_tcp_ex(pb, 1, 2, 3, 0x02, 8);
		end_ipv6(pb, ip);
		return SL_DLT_NULL;
	case 5:
		add_ip_udp(pb, 0);
		return SL_DLT_RAW;
	case 6:
		add_loop_af(pb, 2, 1);
		ip = add_ipv4(pb, 47);
		add_data(pb, 12);
		end_ipv4(pb, ip);
		return SL_DLT_LOOP;
	case 7:
		add_eth(pb, 0x86DD);
		ip = add_ipv6(pb, 51);
		add_ah6(pb, 6, 4);
		add_tcp(pb, 9, 10, 11, 0x01);
		add_data(pb, 3);
		end_ipv6(pb, ip);
		return SL_DLT_EN10MB;
	case 8:
		build_v4_udp(pb, 3);
		pad_to(pb, 60);
		return SL_DLT_EN10MB;
	default:
		return -1;
	}
}

/* Invariants of any parse; returns the outcome. */
static enum sl_pkt_outcome
fuzz_one(int lt, const uint8_t *bytes, uint32_t len, uint32_t avail, uint32_t cap_len,
	uint32_t wire_len)
{
	struct sl_pkt k;
	enum sl_pkt_outcome o = parse_ex(lt, bytes, len, avail, cap_len, wire_len, &k);

	assert_true((unsigned int)o < SL_PKT_OUTCOME_MAX);
	assert_true(sl_pkt_outcome_class(o) != SL_CLASS_DROPPED);
	if (o == SL_PKT_handled) {
		assert_true(k.payload_off + k.payload_cap <= cap_len);
		assert_true(k.payload_cap <= k.payload_len);
		assert_true(k.payload_off + k.payload_len <= SL_MAX(wire_len, cap_len));
		assert_true(k.l3_off <= k.l4_off);
		assert_true(k.l4_off <= k.payload_off);
		assert_true(k.ipver == 4 || k.ipver == 6);
		assert_int_equal(!!(k.flags & SL_PKT_F_SNAPPED), k.payload_cap < k.payload_len);
	}
	return o;
}

static void
test_fuzz_truncate_corrupt(void **state)
{
	struct pb pb;
	uint8_t tmp[PB_MAX];
	unsigned int handled = 0;
	int lt;

	(void)state;
	for (unsigned int s = 0; (lt = build_sample(s, &pb)) >= 0; s++) {
		/* the intact sample must parse */
		assert_outcome(fuzz_one(lt, pb.b, pb.n, pb.n, pb.n, pb.n), SL_PKT_handled);
		/* every truncation */
		for (uint32_t n = 0; n <= pb.n; n++)
			handled += fuzz_one(lt, pb.b, n, n, n, n) == SL_PKT_handled;
		/* every avail below a full capture */
		for (uint32_t n = 0; n <= pb.n; n++)
			fuzz_one(lt, pb.b, pb.n, n, pb.n, pb.n);
		/* every single-byte corruption, full capture and with a 2x wire length */
		for (uint32_t i = 0; i < pb.n; i++) {
			memcpy(tmp, pb.b, pb.n);
			tmp[i] ^= 0xff;
			fuzz_one(lt, tmp, pb.n, pb.n, pb.n, pb.n);
			fuzz_one(lt, tmp, pb.n, pb.n, pb.n, 2 * pb.n);
			for (uint32_t n = 0; n <= pb.n; n += 7)
				fuzz_one(lt, tmp, n, n, n, pb.n);
		}
	}
	assert_true(handled > 0);
}

static void
test_fuzz_random(void **state)
{
	static const int lts[] = {SL_DLT_NULL, SL_DLT_EN10MB, SL_DLT_RAW, SL_DLT_LOOP,
		SL_DLT_LINUX_SLL, SL_DLT_IPV4, SL_DLT_IPV6, SL_DLT_LINUX_SLL2};
	uint8_t buf[160];
	uint64_t x = 0x5eed;
	struct pb pb;

	(void)state;
	/* random bytes, and random multi-byte damage to valid samples */
	for (unsigned int iter = 0; iter < 20000; iter++) {
		uint32_t len;
		int lt;

		for (unsigned int i = 0; i < sizeof(buf); i++) {
			x = sl_mix64(x + i);
			buf[i] = (uint8_t)x;
		}
		len = (uint32_t)(x >> 20) % (sizeof(buf) + 1);
		lt = lts[iter % SL_ARRAY_SIZE(lts)];
		/* bias towards plausible version nibbles so the deeper paths get exercised */
		if (iter & 1)
			buf[lt == SL_DLT_EN10MB ? 14 : 0] = (uint8_t)((x & 2) ? 0x45 : 0x60);
		fuzz_one(lt, buf, len, len, len, len + (uint32_t)(x >> 40) % 64);

		lt = build_sample(iter % 9, &pb);
		for (unsigned int j = 0; j < 3; j++) {
			x = sl_mix64(x);
			pb.b[(x >> 8) % pb.n] = (uint8_t)x;
		}
		fuzz_one(lt, pb.b, pb.n, pb.n, pb.n, pb.n);
	}
}

/* ---------------------------------------------------------------------------------------
 * Outcome tables
 * ------------------------------------------------------------------------------------- */

static void
test_outcome_names(void **state)
{
	(void)state;
	for (unsigned int o = 0; o < SL_PKT_OUTCOME_MAX; o++) {
		const char *name = sl_pkt_outcome_name(o);
		int cls = sl_pkt_outcome_class(o);

		assert_non_null(name);
		assert_true(name[0] != '\0');
		assert_string_not_equal(name, "unknown");
		for (unsigned int j = 0; j < o; j++)
			assert_string_not_equal(name, sl_pkt_outcome_name(j));
		assert_in_range(cls, SL_CLASS_HANDLED, SL_CLASS_DROPPED);
		assert_string_not_equal(sl_pkt_class_name(cls), "unknown");
		/* only "handled" is in the handled class */
		assert_int_equal(cls == SL_CLASS_HANDLED, o == SL_PKT_handled);
	}
	assert_string_equal(sl_pkt_outcome_name(SL_PKT_handled), "handled");
	assert_string_equal(sl_pkt_outcome_name(SL_PKT_flow_table_full), "flow_table_full");
	assert_string_equal(sl_pkt_outcome_name(SL_PKT_truncated_tcp), "truncated_tcp");
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_handled), SL_CLASS_HANDLED);
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_flow_table_full), SL_CLASS_DROPPED);
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_non_ip), SL_CLASS_SKIPPED);
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_ip_fragment), SL_CLASS_SKIPPED);
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_unsupported_linktype), SL_CLASS_SKIPPED);
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_bad_ipv6_ext), SL_CLASS_MALFORMED);
	assert_string_equal(sl_pkt_outcome_name(SL_PKT_OUTCOME_MAX), "unknown");
	assert_int_equal(sl_pkt_outcome_class(SL_PKT_OUTCOME_MAX), -1);

	assert_string_equal(sl_pkt_class_name(SL_CLASS_HANDLED), "handled");
	assert_string_equal(sl_pkt_class_name(SL_CLASS_SKIPPED), "skipped");
	assert_string_equal(sl_pkt_class_name(SL_CLASS_MALFORMED), "malformed");
	assert_string_equal(sl_pkt_class_name(SL_CLASS_DROPPED), "dropped");
	assert_string_equal(sl_pkt_class_name(-1), "unknown");
	assert_string_equal(sl_pkt_class_name(4), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eth_ipv4_tcp),
		cmocka_unit_test(test_tcp_options),
		cmocka_unit_test(test_ipv4_options),
		cmocka_unit_test(test_eth_padding),
		cmocka_unit_test(test_ipv4_udp),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp_unreachable),
		cmocka_unit_test(test_ipv6_tcp),
		cmocka_unit_test(test_ipv6_ext_chain_udp),
		cmocka_unit_test(test_ipv6_ah_tcp),
		cmocka_unit_test(test_ipv6_frag_first),
		cmocka_unit_test(test_ipv6_frag_nonfirst),
		cmocka_unit_test(test_ipv4_frag_first),
		cmocka_unit_test(test_ipv4_frag_nonfirst),
		cmocka_unit_test(test_icmpv6_echo),
		cmocka_unit_test(test_gre),
		cmocka_unit_test(test_vlan_single),
		cmocka_unit_test(test_vlan_qinq),
		cmocka_unit_test(test_vlan_three_tags),
		cmocka_unit_test(test_non_ip),
		cmocka_unit_test(test_linktype_sll),
		cmocka_unit_test(test_linktype_sll2),
		cmocka_unit_test(test_linktype_raw),
		cmocka_unit_test(test_linktype_ipv4_ipv6),
		cmocka_unit_test(test_linktype_null_loop),
		cmocka_unit_test(test_linktype_unknown),
		cmocka_unit_test(test_linktype_names),
		cmocka_unit_test(test_bad_l2),
		cmocka_unit_test(test_bad_ipv4),
		cmocka_unit_test(test_bad_ipv6),
		cmocka_unit_test(test_bad_ipv6_ext),
		cmocka_unit_test(test_ipv6_ext_beyond_capture),
		cmocka_unit_test(test_bad_tcp),
		cmocka_unit_test(test_bad_udp),
		cmocka_unit_test(test_bad_icmp),
		cmocka_unit_test(test_snaplen),
		cmocka_unit_test(test_avail_short),
		cmocka_unit_test(test_fuzz_truncate_corrupt),
		cmocka_unit_test(test_fuzz_random),
		cmocka_unit_test(test_outcome_names),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
