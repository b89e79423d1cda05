/* test_dev.c: unit tests for lib/dev: the discovery parsers (ARP, LLDP, CDP, DHCPv4, source
 * MAC and VLAN of every link type) on hand-built frames with their truncated and malformed
 * forms, the miners' DHCP names, the IEEE registry and the mining-hardware list (24- and
 * 28-bit prefixes, a vendor name that only looks like a maker's), and the device table:
 * routers, eviction, multicast MACs, the state file round trip and a truncated file.
 * No EAL needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sl_cfg.h"
#include "sl_dev.h"
#include "sl_pkt.h"

static const uint8_t MAC1[6] = {0x00, 0x1b, 0x21, 0xaa, 0x00, 0x01};
static const uint8_t MINER[6] = {0xe0, 0xa5, 0x09, 0x12, 0x34, 0x56};

static size_t
eth(uint8_t *b, uint16_t et, int vlan)
{
	size_t n = 0;

	memset(b, 0xff, 6);
	memcpy(b + 6, MAC1, 6);
	n = 12;
	if (vlan >= 0) {
		b[n++] = 0x81;
		b[n++] = 0x00;
		b[n++] = (uint8_t)(vlan >> 8);
		b[n++] = (uint8_t)vlan;
	}
	b[n++] = (uint8_t)(et >> 8);
	b[n++] = (uint8_t)et;
	return n;
}

static size_t
arp(uint8_t *b, int vlan, const uint8_t ip[4])
{
	size_t n = eth(b, 0x0806, vlan);
	static const uint8_t hdr[8] = {0, 1, 8, 0, 6, 4, 0, 1};

	memcpy(b + n, hdr, 8);
	memcpy(b + n + 8, MAC1, 6);
	memcpy(b + n + 14, ip, 4);
	memset(b + n + 18, 0, 10);
	return n + 28;
}

static void
test_arp(void **state)
{
	uint8_t b[128];
	static const uint8_t ip[4] = {10, 1, 0, 5}, zero[4] = {0};
	struct sl_dev_obs o;
	size_t n = arp(b, 7, ip);

	(void)state;
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 1);
	assert_int_equal(o.kind, SL_DEV_OBS_arp);
	assert_memory_equal(o.mac, MAC1, 6);
	assert_int_equal(o.vlan, 7);
	assert_true(o.flags & SL_DEV_OF_IP);
	assert_memory_equal(o.ip + 12, ip, 4);
	/* a probe from 0.0.0.0 gives the MAC only */
	n = arp(b, -1, zero);
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 1);
	assert_false(o.flags & SL_DEV_OF_IP);
	/* every truncation is -1, never a read past the end */
	for (size_t k = 14; k < n; k++)
		assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)k, &o), -1);
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, 10, &o), -1);
	/* not Ethernet/IPv4 ARP */
	b[14 + 1] = 6;
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 0);
	/* raw IP has no link layer */
	assert_int_equal(sl_dev_parse_l2(SL_DLT_RAW, b, (uint32_t)n, &o), 0);
}

static size_t
lltlv(uint8_t *b, unsigned int t, const void *v, size_t l)
{
	b[0] = (uint8_t)(t << 1 | (l >> 8));
	b[1] = (uint8_t)l;
	memcpy(b + 2, v, l);
	return l + 2;
}

static size_t
lldp(uint8_t *b, bool end)
{
	size_t n = eth(b, 0x88cc, -1);
	uint8_t ch[7] = {4}, mg[12] = {5, 1, 10, 1, 0, 30, 2, 0, 0, 0, 1, 0};

	memcpy(ch + 1, MINER, 6);
	n += lltlv(b + n, 1, ch, 7);
	n += lltlv(b + n, 2, "\x05" "eth0", 5);
	n += lltlv(b + n, 3, "\x00\x78", 2);
	n += lltlv(b + n, 5, "db-server-3", 11);
	n += lltlv(b + n, 8, mg, 12);
	if (end) {
		b[n++] = 0;
		b[n++] = 0;
	}
	return n;
}

static void
test_lldp(void **state)
{
	uint8_t b[256];
	struct sl_dev_obs o;
	size_t n = lldp(b, true);

	(void)state;
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 1);
	assert_int_equal(o.kind, SL_DEV_OBS_lldp);
	assert_memory_equal(o.mac, MINER, 6); /* the chassis MAC, not the port's */
	assert_string_equal(o.name, "db-server-3");
	assert_string_equal(o.text, "eth0");
	assert_true(o.flags & SL_DEV_OF_IP);
	assert_int_equal(o.ip[15], 30);
	/* without an End TLV, TLVs that fill the frame exactly are fine */
	n = lldp(b, false);
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 1);
	for (size_t k = 14; k < n; k++) /* cut inside a TLV */
		assert_true(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)k, &o) != 0 || k == 14);
	/* a TLV longer than the frame */
	b[14 + 9 + 7 + 4 + 1] = 0xff;
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), -1);
}

static size_t
cdp(uint8_t *b, bool bad)
{
	size_t n = eth(b, 0, -1), l0;
	static const uint8_t snap[8] = {0xaa, 0xaa, 3, 0, 0, 0x0c, 0x20, 0};
	static const uint8_t addrs[13] = {0, 0, 0, 1, 1, 1, 0xcc, 0, 4, 10, 1, 0, 2};

	n -= 2;
	l0 = n;
	n += 2;
	memcpy(b + n, snap, 8);
	n += 8;
	b[n++] = 2;
	b[n++] = 180;
	b[n++] = 0;
	b[n++] = 0;
#define CDP_TLV(t, v, l)                                                                     \
	do {                                                                                 \
		b[n] = 0;                                                                    \
		b[n + 1] = (t);                                                              \
		b[n + 2] = 0;                                                                \
		b[n + 3] = (uint8_t)((l) + 4);                                               \
		memcpy(b + n + 4, (v), (l));                                                 \
		n += (l) + 4;                                                                \
	} while (0)
	CDP_TLV(1, "access-sw-2", 11);
	CDP_TLV(2, addrs, 13);
	CDP_TLV(3, "Gi0/12", 6);
	if (bad) {
		b[n] = 0;
		b[n + 1] = 5;
		b[n + 2] = 0;
		b[n + 3] = 2; /* below its own header */
		n += 4;
	}
	b[l0] = (uint8_t)((n - l0 - 2) >> 8);
	b[l0 + 1] = (uint8_t)(n - l0 - 2);
	return n;
}

static void
test_cdp(void **state)
{
	uint8_t b[256];
	struct sl_dev_obs o;
	size_t n = cdp(b, false);

	(void)state;
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 1);
	assert_int_equal(o.kind, SL_DEV_OBS_cdp);
	assert_string_equal(o.name, "access-sw-2");
	assert_string_equal(o.text, "Gi0/12");
	assert_true(o.flags & SL_DEV_OF_IP);
	assert_int_equal(o.ip[15], 2);
	n = cdp(b, true);
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), -1);
	b[14 + 5] = 0x0d; /* another SNAP OUI: not CDP */
	assert_int_equal(sl_dev_parse_l2(SL_DLT_EN10MB, b, (uint32_t)n, &o), 0);
}

static size_t
dhcp(uint8_t *b, int op, const uint8_t *giaddr, bool cookie)
{
	size_t n;
	static const uint8_t opts[] = {53, 1, 3, 12, 14, 'A', 'n', 't', 'm', 'i', 'n', 'e', 'r', '-', 'S',
		'1', '9', '-', '7', 60, 4, 'M', 'S', 'F', 'T', 55, 4, 1, 3, 6, 15, 61, 7, 1, 0xe0,
		0xa5, 9, 0x12, 0x34, 0x56, 50, 4, 10, 42, 0, 50, 255};

	memset(b, 0, 240);
	b[0] = (uint8_t)op;
	b[1] = 1;
	b[2] = 6;
	if (giaddr != NULL)
		memcpy(b + 24, giaddr, 4);
	memcpy(b + 28, MINER, 6);
	b[236] = 0x63;
	b[237] = 0x82;
	b[238] = 0x53;
	b[239] = cookie ? 0x63 : 0;
	memcpy(b + 240, opts, sizeof(opts));
	n = 240 + sizeof(opts);
	if (op == 2) {
		b[242] = 5; /* ACK */
		b[16] = 10;
		b[17] = 42;
		b[19] = 50;
	}
	return n;
}

static void
test_dhcp(void **state)
{
	uint8_t b[512];
	static const uint8_t relay[4] = {10, 43, 0, 1};
	struct sl_dev_obs o[2];
	size_t n = dhcp(b, 1, NULL, true);

	(void)state;
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, MINER, o), 2);
	assert_int_equal(o[0].kind, SL_DEV_OBS_dhcp);
	assert_memory_equal(o[0].mac, MINER, 6);
	assert_string_equal(o[0].name, "Antminer-S19-7");
	assert_string_equal(o[0].text, "MSFT");
	assert_true(o[0].flags & SL_DEV_OF_IP);
	assert_int_equal(o[0].ip[15], 50);
	assert_false(o[0].flags & SL_DEV_OF_RELAYED);
	assert_int_equal(o[1].kind, SL_DEV_OBS_dhcp_fp);
	assert_string_equal(o[1].name, "1,3,6,15");
	assert_string_equal(o[1].text, "01e0a509123456");
	/* through a relay: giaddr set, or a frame from another MAC */
	n = dhcp(b, 1, relay, true);
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, NULL, o), 2);
	assert_true(o[0].flags & SL_DEV_OF_RELAYED);
	n = dhcp(b, 1, NULL, true);
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, MAC1, o), 2);
	assert_true(o[0].flags & SL_DEV_OF_RELAYED);
	/* the server's ACK: the assigned address, none of the server's names */
	n = dhcp(b, 2, NULL, true);
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, MAC1, o), 1);
	assert_true(o[0].flags & SL_DEV_OF_ACK);
	assert_int_equal(o[0].ip[15], 50);
	assert_string_equal(o[0].name, "");
	/* malformed: the cookie, a cut header, an option running past the end */
	n = dhcp(b, 1, NULL, false);
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, NULL, o), -1);
	assert_int_equal(sl_dev_parse_dhcp(b, 239, NULL, o), -1);
	n = dhcp(b, 1, NULL, true);
	for (size_t k = 241; k < n - 1; k++) {
		int rc = sl_dev_parse_dhcp(b, (uint32_t)k, NULL, o);

		assert_true(rc == -1 || rc == 1 || rc == 2);
	}
	b[2] = 16; /* not Ethernet */
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, NULL, o), 0);
}

static void
test_dhcp6(void **state)
{
	/* SOLICIT: client id DUID-LLT (Ethernet), FQDN "whatsminer-3.lan", elapsed time */
	static const uint8_t m[] = {1, 0x12, 0x34, 0x56,
		0, 1, 0, 14, 0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d, 0xe0, 0xa5, 9, 0x12, 0x34, 0x56,
		0, 39, 0, 19, 1, 12, 'w', 'h', 'a', 't', 's', 'm', 'i', 'n', 'e', 'r', '-', '3', 3, 'l',
		'a', 'n', 0,
		0, 8, 0, 2, 0, 0};
	uint8_t b[sizeof(m)], src[16] = {0xfe, 0x80, [15] = 1};
	struct sl_dev_obs o;

	(void)state;
	memcpy(b, m, sizeof(m));
	assert_int_equal(sl_dev_parse_dhcp6(b, sizeof(b), NULL, src, &o), 1);
	assert_int_equal(o.kind, SL_DEV_OBS_dhcp6);
	assert_memory_equal(o.mac, MINER, 6); /* from the DUID: no frame MAC */
	assert_string_equal(o.name, "whatsminer-3.lan");
	assert_string_equal(o.text, "000100012a2b2c2de0a509123456");
	assert_true(o.flags & SL_DEV_OF_IP);
	assert_int_equal(sl_dev_parse_dhcp6(b, sizeof(b), MAC1, src, &o), 1);
	assert_memory_equal(o.mac, MAC1, 6); /* the frame's MAC first */
	for (size_t k = 0; k < sizeof(b); k++) { /* every cut: -1 or a whole option list */
		int rc = sl_dev_parse_dhcp6(b, (uint32_t)k, NULL, src, &o);

		assert_true(rc == -1 || (rc == 1 && (k == 4 || k == 22 || k == 45)));
	}
	b[0] = 7; /* a server's REPLY: not taken */
	assert_int_equal(sl_dev_parse_dhcp6(b, sizeof(b), NULL, src, &o), 0);
	b[0] = 1;
	b[17] = 0x20; /* an option longer than the message */
	b[7] = 0x40;
	assert_int_equal(sl_dev_parse_dhcp6(b, sizeof(b), NULL, src, &o), -1);
}

static void
test_l2_src(void **state)
{
	uint8_t b[64] = {0}, mac[6];
	uint16_t vlan;

	(void)state;
	eth(b, 0x0800, 42);
	assert_int_equal(sl_dev_l2_src(SL_DLT_EN10MB, b, 40, mac, &vlan), 1);
	assert_memory_equal(mac, MAC1, 6);
	assert_int_equal(vlan, 42);
	assert_int_equal(sl_dev_l2_src(SL_DLT_EN10MB, b, 16, mac, &vlan), -1);
	assert_int_equal(sl_dev_l2_src(SL_DLT_RAW, b, 40, mac, &vlan), 0);
	assert_int_equal(sl_dev_l2_src(SL_DLT_NULL, b, 40, mac, &vlan), 0);
	/* SLL: ARPHRD_ETHER with a 6-byte address; another hardware type has no MAC */
	memset(b, 0, sizeof(b));
	b[3] = 1;
	b[5] = 6;
	memcpy(b + 6, MINER, 6);
	b[14] = 8;
	assert_int_equal(sl_dev_l2_src(SL_DLT_LINUX_SLL, b, 40, mac, &vlan), 1);
	assert_memory_equal(mac, MINER, 6);
	b[3] = 0x18;
	assert_int_equal(sl_dev_l2_src(SL_DLT_LINUX_SLL, b, 40, mac, &vlan), 0);
	assert_int_equal(sl_dev_l2_src(SL_DLT_LINUX_SLL2, b, 19, mac, &vlan), -1);
}

static void
test_miner_names(void **state)
{
	(void)state;
	assert_string_equal(sl_dev_miner_name("Antminer-S19-7"), "antminer");
	assert_string_equal(sl_dev_miner_name("WhatsMiner M30S"), "whatsminer");
	assert_string_equal(sl_dev_miner_name("AvalonMiner 1246"), "avalon");
	assert_null(sl_dev_miner_name("janes-laptop"));
	assert_null(sl_dev_miner_name("Shenzhen Hebang Electronic"));
	assert_null(sl_dev_miner_name(""));
	assert_null(sl_dev_miner_name(NULL));
}

static const char *IEEE = "/usr/share/ieee-data";

static void
test_oui(void **state)
{
	char err[512] = "";
	struct sl_oui *o;
	uint32_t nv, nh;
	static const uint8_t canaan[6] = {0xb4, 0xa2, 0xeb, 0x31, 0x22, 0x33},
			     notcanaan[6] = {0xb4, 0xa2, 0xeb, 0x41, 0, 0},
			     hebang[6] = {0x98, 0x80, 0xbb, 0x91, 0, 1};

	(void)state;
	if (access("/usr/share/ieee-data/oui.txt", R_OK) != 0) {
		skip(); /* ieee-data not installed (scripts/deps.sh installs it) */
		return;
	}
	o = sl_oui_load(IEEE, SL_CONFIG_DIR "/mining_hw.txt", err, sizeof(err));
	assert_non_null(o);
	sl_oui_sizes(o, &nv, &nh);
	assert_true(nv > 30000);
	assert_int_equal(nh, 4);
	assert_string_equal(sl_oui_vendor(o, MINER), "Bitmain Technologies Inc");
	assert_string_equal(sl_oui_miner(o, MINER), "Bitmain Technologies Inc");
	assert_string_equal(sl_oui_vendor(o, canaan), "Canaan Creative Co.,Ltd.");
	assert_non_null(sl_oui_miner(o, canaan));
	assert_null(sl_oui_miner(o, notcanaan)); /* the same 24 bits, another MA-M block */
	assert_string_equal(sl_oui_vendor(o, hebang), "Shenzhen Hebang Electronic Co., Ltd");
	assert_null(sl_oui_miner(o, hebang));
	assert_string_equal(sl_oui_vendor(o, MAC1), "Intel Corporate");
	sl_oui_free(o);
}

static void
test_oui_bad_list(void **state)
{
	char path[] = "/tmp/sl-test-dev-hw-XXXXXX", err[512] = "";
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# ok\nE0-A5-09 Bitmain\nB4-A2-EB-3/29 bad bits\n");
	fclose(f);
	assert_null(sl_oui_load("", path, err, sizeof(err)));
	assert_non_null(strstr(err, ":3:"));
	assert_null(sl_oui_load("", "/nonexistent/hw.txt", err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent/hw.txt"));
	unlink(path);
}

static struct sl_dev_obs
flow_obs(const uint8_t mac[6], uint32_t ip, uint16_t vlan, uint64_t ts)
{
	struct sl_dev_obs o;

	memset(&o, 0, sizeof(o));
	o.kind = SL_DEV_OBS_flow;
	o.flags = SL_DEV_OF_IP;
	o.vlan = vlan;
	o.ts_us = ts;
	memcpy(o.mac, mac, 6);
	o.ip[10] = o.ip[11] = 0xff;
	o.ip[12] = (uint8_t)(ip >> 24);
	o.ip[13] = (uint8_t)(ip >> 16);
	o.ip[14] = (uint8_t)(ip >> 8);
	o.ip[15] = (uint8_t)ip;
	return o;
}

static void
test_devtab_router_and_moves(void **state)
{
	struct sl_devtab_params p = {.capacity = 1024, .router_ips = 4, .learn_us = 100,
				     .refresh_us = 0};
	struct sl_devtab *t = sl_devtab_create(&p, NULL);
	struct sl_dev_obs o;
	const struct sl_dev *d, *r;
	struct sl_devtab_stats st;
	unsigned int ch;
	static const uint8_t gw[6] = {0, 0, 0x5e, 0, 1, 1}, mc[6] = {1, 0, 0x5e, 0, 0, 1};

	(void)state;
	assert_non_null(t);
	o = flow_obs(MINER, 0x0a2a0032, 42, 10);
	d = sl_devtab_observe(t, &o, &ch);
	assert_non_null(d);
	assert_int_equal(ch, SL_DEV_CH_NEW);
	assert_false(d->flags & SL_DEV_F_NEW); /* inside the learning period */
	o.vlan = 43;
	o.ts_us = 20;
	d = sl_devtab_observe(t, &o, &ch);
	assert_int_equal(ch, SL_DEV_CH_MOVED);
	assert_int_equal(d->nvlan, 2);
	assert_ptr_equal(sl_devtab_find_ip(t, o.ip, NULL), d);
	/* a MAC behind four addresses is a router: never attributed */
	for (uint32_t i = 1; i <= 4; i++) {
		o = flow_obs(gw, 0xac100500 + i, 0, 200 + i);
		d = sl_devtab_observe(t, &o, &ch);
	}
	assert_true(d->flags & SL_DEV_F_ROUTER);
	assert_true(d->flags & SL_DEV_F_NEW); /* first seen after the learning period */
	assert_null(sl_devtab_find_ip(t, o.ip, &r));
	assert_ptr_equal(r, d);
	/* multicast and zero MACs are nobody */
	o = flow_obs(mc, 0x0a000001, 0, 300);
	assert_null(sl_devtab_observe(t, &o, &ch));
	sl_devtab_get_stats(t, &st);
	assert_int_equal(st.devices, 2);
	assert_int_equal(st.routers, 1);
	assert_int_equal(st.ignored, 1);
	sl_devtab_free(t);
}

static void
test_devtab_eviction(void **state)
{
	struct sl_devtab_params p = {.capacity = 8, .router_ips = 16};
	struct sl_devtab *t = sl_devtab_create(&p, NULL);
	struct sl_devtab_stats st;
	unsigned int ch;

	(void)state;
	for (uint32_t i = 0; i < 100; i++) {
		uint8_t mac[6] = {0x02, 0, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
		struct sl_dev_obs o = flow_obs(mac, 0x0a000000 + i, 0, 1000 + i);

		assert_non_null(sl_devtab_observe(t, &o, &ch));
	}
	sl_devtab_get_stats(t, &st);
	assert_int_equal(st.devices, 8);
	assert_int_equal(st.evicted, 92);
	assert_int_equal(st.devices_new, 100);
	sl_devtab_free(t);
}

static void
test_devtab_state_file(void **state)
{
	struct sl_devtab_params p = {.capacity = 256, .router_ips = 16, .refresh_us = 60000000};
	struct sl_devtab *t = sl_devtab_create(&p, NULL), *u;
	char path[] = "/tmp/sl-test-dev-state-XXXXXX", err[512] = "";
	struct sl_dev_obs o[2];
	uint8_t b[512];
	const struct sl_dev *d;
	unsigned int ch;
	int fd = mkstemp(path);
	size_t n;
	FILE *f;
	long sz;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	n = dhcp(b, 1, NULL, true);
	assert_int_equal(sl_dev_parse_dhcp(b, (uint32_t)n, MINER, o), 2);
	o[0].ts_us = o[1].ts_us = 1700000000000000ull;
	o[0].vlan = 42;
	sl_devtab_observe(t, &o[0], &ch);
	sl_devtab_observe(t, &o[1], &ch);
	assert_int_equal(sl_devtab_save(t, path, err, sizeof(err)), 0);
	u = sl_devtab_create(&p, NULL);
	assert_int_equal(sl_devtab_load(u, path, err, sizeof(err)), 1);
	d = sl_devtab_find_mac(u, MINER);
	assert_non_null(d);
	assert_string_equal(d->name, "Antminer-S19-7");
	assert_string_equal(d->dhcp_fp, "1,3,6,15");
	assert_int_equal(d->vlan[0], 42);
	assert_true(d->flags & SL_DEV_F_MINER_HW); /* by its DHCP name */
	assert_int_equal(d->first_us, 1700000000000000ull);
	assert_ptr_equal(sl_devtab_find_ip(u, o[0].ip, NULL), d);
	sl_devtab_free(u);
	/* truncated: refused, table left empty */
	f = fopen(path, "r+");
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fclose(f);
	assert_int_equal(truncate(path, sz - 5), 0);
	u = sl_devtab_create(&p, NULL);
	assert_int_equal(sl_devtab_load(u, path, err, sizeof(err)), -EINVAL);
	assert_null(sl_devtab_find_mac(u, MINER));
	sl_devtab_free(u);
	/* missing: nothing to load */
	unlink(path);
	u = sl_devtab_create(&p, NULL);
	assert_int_equal(sl_devtab_load(u, path, err, sizeof(err)), 0);
	sl_devtab_free(u);
	sl_devtab_free(t);
}

static void
test_mac_text(void **state)
{
	uint8_t m[6];
	char s[18];

	(void)state;
	assert_int_equal(sl_mac_parse("E0-A5-09-12-34-56", m), 0);
	assert_memory_equal(m, MINER, 6);
	sl_mac_format(m, s);
	assert_string_equal(s, "e0:a5:09:12:34:56");
	assert_int_equal(sl_mac_parse("e0a509123456", m), 0);
	assert_int_equal(sl_mac_parse("e0:a5:09:12:34", m), -EINVAL);
	assert_int_equal(sl_mac_parse("10.0.0.1", m), -EINVAL);
	assert_int_equal(sl_mac_parse("e0:a5:09:12:34:56:78", m), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_lldp),
		cmocka_unit_test(test_cdp),
		cmocka_unit_test(test_dhcp),
		cmocka_unit_test(test_dhcp6),
		cmocka_unit_test(test_l2_src),
		cmocka_unit_test(test_miner_names),
		cmocka_unit_test(test_oui),
		cmocka_unit_test(test_oui_bad_list),
		cmocka_unit_test(test_devtab_router_and_moves),
		cmocka_unit_test(test_devtab_eviction),
		cmocka_unit_test(test_devtab_state_file),
		cmocka_unit_test(test_mac_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
