/* fuzz_dev.c: libFuzzer target for the device discovery parsers (lib/dev/disc.c):
 * sl_dev_parse_l2() (ARP, LLDP, CDP behind Ethernet, VLAN tags, SLL, SLL2), sl_dev_parse_dhcp(),
 * sl_dev_parse_dhcp6() and sl_dev_l2_src(), each on an exact-size heap copy, so a read one byte past the frame is
 * an ASan report; what they produce is fed to a small device table (sl_devtab_observe) and
 * looked up again. Input: byte 0 picks the parser and link type, the rest is the frame.
 * Checks the documented results: return values, NUL-terminated text fields, a kind in range. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "sl_dev.h"
#include "sl_pkt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sl_devtab *tab;

static void
check_obs(const struct sl_dev_obs *o)
{
	unsigned int ch;
	const struct sl_dev *d;

	FUZZ_CHECK(o->kind < SL_DEV_OBS_MAX);
	FUZZ_CHECK(memchr(o->name, '\0', sizeof(o->name)) != NULL);
	FUZZ_CHECK(memchr(o->text, '\0', sizeof(o->text)) != NULL);
	FUZZ_CHECK(o->vlan <= 4095);
	d = sl_devtab_observe(tab, o, &ch);
	if (d != NULL) {
		FUZZ_CHECK(sl_devtab_find_mac(tab, o->mac) == d);
		FUZZ_CHECK(d->nvlan <= SL_DEV_VLANS && d->nip <= SL_DEV_IPS);
		FUZZ_CHECK(memchr(d->name, '\0', sizeof(d->name)) != NULL);
	}
	if (o->flags & SL_DEV_OF_IP)
		(void)sl_devtab_find_ip(tab, o->ip, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int lts[] = {SL_DLT_EN10MB, SL_DLT_LINUX_SLL, SL_DLT_LINUX_SLL2, SL_DLT_RAW};
	struct sl_dev_obs o[2];
	uint8_t *f, mac[6], fmac[6] = {0x02, 0, 0, 0, 0, 1}; /* the frame's MAC when bit 4 says so */
	uint16_t vlan;
	int rc, lt;

	if (tab == NULL) {
		struct sl_devtab_params p = {.capacity = 64, .router_ips = 4, .refresh_us = 1000};

		tab = sl_devtab_create(&p, NULL);
		FUZZ_CHECK(tab != NULL);
	}
	if (size < 1)
		return 0;
	lt = lts[(data[0] >> 2) & 3];
	if (size >= 7)
		memcpy(fmac, data + 1, 6);
	f = fuzz_dup(data + 1, size - 1);
	switch (data[0] & 3) {
	case 3: {
		static const uint8_t src[16] = {0xfe, 0x80, [15] = 1};

		rc = sl_dev_parse_dhcp6(f, (uint32_t)(size - 1), (data[0] & 0x10) ? fmac : NULL, src,
			&o[0]);
		FUZZ_CHECK(rc >= -1 && rc <= 1);
		if (rc == 1) {
			FUZZ_CHECK(o[0].kind == SL_DEV_OBS_dhcp6);
			o[0].ts_us = size;
			check_obs(&o[0]);
		}
		break;
	}
	case 0:
		rc = sl_dev_parse_l2(lt, f, (uint32_t)(size - 1), &o[0]);
		FUZZ_CHECK(rc >= -1 && rc <= 1);
		if (rc == 1) {
			o[0].ts_us = size;
			check_obs(&o[0]);
		}
		break;
	case 1:
		rc = sl_dev_parse_dhcp(f, (uint32_t)(size - 1), (data[0] & 0x10) ? fmac : NULL, o);
		FUZZ_CHECK(rc >= -1 && rc <= 2);
		for (int i = 0; i < rc; i++) {
			FUZZ_CHECK(o[i].kind == (i == 0 ? SL_DEV_OBS_dhcp : SL_DEV_OBS_dhcp_fp));
			o[i].ts_us = size;
			check_obs(&o[i]);
		}
		break;
	default:
		rc = sl_dev_l2_src(lt, f, (uint32_t)(size - 1), mac, &vlan);
		FUZZ_CHECK(rc >= -1 && rc <= 1);
		FUZZ_CHECK(rc != 1 || vlan <= 4095);
		break;
	}
	free(f);
	return 0;
}
