/* ctl_dev.c: the control plane's device glue (see ctl_priv.h): the "device" member of
 * alerts, host scores and blocks, the device_new and device_moved event lines, and the
 * telemetry commands /sluice/devices[,N] and /sluice/device,<mac|ip>, answered by the control
 * core (which owns the device table) through a one-slot mailbox. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_telemetry.h>

#include "ctl_mbox.h"
#include "ctl_priv.h"
#include "sl_common.h"
#include "sl_report.h"

static int
u16_cmp(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int
ip_cmp(const void *a, const void *b)
{
	return memcmp(((const struct sl_dev_ip *)a)->ip, ((const struct sl_dev_ip *)b)->ip, 16);
}

/* VLANs and addresses in a fixed order, so a run's lines do not depend on record order. */
static void
sorted(const struct sl_dev *d, uint16_t *vl, struct sl_dev_ip *ips)
{
	memcpy(vl, d->vlan, d->nvlan * sizeof(*vl));
	qsort(vl, d->nvlan, sizeof(*vl), u16_cmp);
	memcpy(ips, d->ips, d->nip * sizeof(*ips));
	qsort(ips, d->nip, sizeof(*ips), ip_cmp);
}

/* The members of one device object (the object itself is opened by the caller). */
static void
dev_members(struct sl_json *j, const struct sl_dev *d, bool live)
{
	char mac[18], a[64];
	uint16_t vl[SL_DEV_VLANS];
	struct sl_dev_ip ips[SL_DEV_IPS];

	sorted(d, vl, ips);
	sl_mac_format(d->mac, mac);
	sl_json_str(j, "mac", mac);
	sl_json_str(j, "vendor", d->vendor[0] ? d->vendor : "unknown");
	sl_json_arr_open(j, "vlans");
	for (unsigned int i = 0; i < d->nvlan; i++)
		sl_json_u64(j, NULL, vl[i]);
	sl_json_arr_close(j);
	if (d->name[0] != '\0') {
		sl_json_str(j, "name", d->name);
		sl_json_str(j, "name_source", d->name_src);
	}
	if (d->vclass[0] != '\0')
		sl_json_str(j, "vendor_class", d->vclass);
	if (d->dhcp_fp[0] != '\0')
		sl_json_str(j, "dhcp_fingerprint", d->dhcp_fp);
	if (d->client_id[0] != '\0')
		sl_json_str(j, "client_id", d->client_id);
	if (d->nbr_port[0] != '\0')
		sl_json_str(j, "neighbor_port", d->nbr_port);
	sl_json_arr_open(j, "addresses");
	for (unsigned int i = 0; i < d->nip; i++) {
		sl_addr_format(ips[i].ip, a, sizeof(a));
		sl_json_str(j, NULL, a);
	}
	sl_json_arr_close(j);
	sl_json_time(j, "first_seen", d->first_us);
	sl_json_time(j, "last_seen", d->last_us);
	sl_json_u64(j, "port", d->port);
	if (live) /* offline the queue depends on the worker count */
		sl_json_u64(j, "queue", d->queue);
	if (d->flags & SL_DEV_F_MINER_HW)
		sl_json_str(j, "mining_hardware", d->miner);
	if (d->flags & SL_DEV_F_ROUTER)
		sl_json_bool(j, "router", true);
	sl_json_bool(j, "new", (d->flags & SL_DEV_F_NEW) != 0);
}

void
ctl_dev_json(void *arg, struct sl_json *j, const uint8_t addr[16])
{
	const struct ctl_devs *c = arg;
	const struct sl_dev *router = NULL, *d;

	if (c->t == NULL)
		return;
	d = sl_devtab_find_ip(c->t, addr, &router);
	sl_json_obj_open(j, "device");
	if (d != NULL) {
		dev_members(j, d, c->live);
	} else if (router != NULL) { /* the MAC is a router's: it names no device */
		char mac[18];

		sl_mac_format(router->mac, mac);
		sl_json_str(j, "note", "behind a router or gateway");
		sl_json_str(j, "gateway_mac", mac);
		sl_json_str(j, "gateway_vendor", router->vendor[0] ? router->vendor : "unknown");
	} else {
		sl_json_str(j, "note", "no MAC seen");
	}
	sl_json_obj_close(j);
}

int
ctl_dev_event(struct sl_writer *w, const struct sl_dev *d, const char *type, uint64_t ts,
	bool live)
{
	struct sl_json j;
	char a[64];
	const struct sl_dev_ip *last = NULL;

	for (unsigned int i = 0; i < d->nip; i++)
		if (last == NULL || d->ips[i].last_us > last->last_us ||
		    (d->ips[i].last_us == last->last_us && memcmp(d->ips[i].ip, last->ip, 16) < 0))
			last = &d->ips[i];
	sl_json_line_begin(&j, w);
	sl_json_obj_open(&j, NULL);
	sl_json_time(&j, "timestamp", ts);
	sl_json_str(&j, "event_type", type);
	sl_json_str(&j, "host", sl_writer_sensor(w));
	if (last != NULL && !(d->flags & SL_DEV_F_ROUTER)) {
		sl_addr_format(last->ip, a, sizeof(a));
		sl_json_str(&j, "judged_host", a);
	}
	sl_json_obj_open(&j, "device");
	dev_members(&j, d, live);
	sl_json_obj_close(&j);
	sl_json_obj_close(&j);
	return sl_json_line_end(&j);
}

/* ---- telemetry ---- */

#define TEL_DEVICES 1
#define TEL_DEVICE 2
#define TEL_DEV_MAX 100

static struct {
	pthread_mutex_t lock;
	struct mbox mb;
	int kind;
	unsigned int n;
	bool by_mac;
	uint8_t mac[6];
	uint8_t addr[16];
	unsigned int nout;
	bool behind_router;
	struct sl_dev out[TEL_DEV_MAX];
	struct sl_devtab_stats st;
} tel_d = {.lock = PTHREAD_MUTEX_INITIALIZER};

void
devq_poll(const struct sl_devtab *t)
{
	uint64_t ticket;

	if (!mbox_pending(&tel_d.mb, &ticket))
		return;
	tel_d.nout = 0;
	tel_d.behind_router = false;
	if (t != NULL) {
		sl_devtab_get_stats(t, &tel_d.st);
		if (tel_d.kind == TEL_DEVICES) {
			const struct sl_dev *v[TEL_DEV_MAX];

			tel_d.nout = sl_devtab_list(t, v, tel_d.n);
			for (unsigned int i = 0; i < tel_d.nout; i++)
				tel_d.out[i] = *v[i];
		} else {
			const struct sl_dev *router = NULL, *d;

			d = tel_d.by_mac ? sl_devtab_find_mac(t, tel_d.mac) :
					   sl_devtab_find_ip(t, tel_d.addr, &router);
			if (d == NULL)
				d = router;
			tel_d.behind_router = router != NULL;
			if (d != NULL)
				tel_d.out[tel_d.nout++] = *d;
		}
	}
	mbox_done(&tel_d.mb, ticket);
}

static void
vlan_text(const struct sl_dev *d, char *b, size_t n)
{
	uint16_t vl[SL_DEV_VLANS];
	struct sl_dev_ip ips[SL_DEV_IPS];
	size_t k = 0;

	b[0] = '\0';
	sorted(d, vl, ips);
	for (unsigned int i = 0; i < d->nvlan && k < n; i++)
		k += (size_t)snprintf(b + k, n - k, "%s%u", i ? "," : "", vl[i]);
}

static void
ip_text(const struct sl_dev *d, char *b, size_t n)
{
	uint16_t vl[SL_DEV_VLANS];
	struct sl_dev_ip ips[SL_DEV_IPS];
	size_t k = 0;

	b[0] = '\0';
	sorted(d, vl, ips);
	for (unsigned int i = 0; i < d->nip && k < n; i++) {
		char a[64];

		sl_addr_format(ips[i].ip, a, sizeof(a));
		k += (size_t)snprintf(b + k, n - k, "%s%s", i ? "," : "", a);
	}
}

/* /sluice/devices[,N]: the N (default 20, at most 100) most recently seen devices, as
 * columns (telemetry cannot nest dicts in arrays). */
static int
tel_devices_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static const char *const cols[] = {"mac", "vendor", "vlans", "name", "addresses",
		"first_seen_us", "last_seen_us", "mining_hardware", "router"};
	struct rte_tel_data *c[SL_ARRAY_SIZE(cols)];
	unsigned long n = 20;
	int rc;

	RTE_SET_USED(cmd);
	if (params != NULL && *params != '\0') {
		char *end;

		n = strtoul(params, &end, 10);
		if (*end != '\0' || n == 0 || n > TEL_DEV_MAX)
			return -EINVAL;
	}
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(cols); k++) {
		c[k] = rte_tel_data_alloc();
		if (c[k] == NULL) {
			while (k-- > 0)
				rte_tel_data_free(c[k]);
			return -ENOMEM;
		}
		rte_tel_data_start_array(c[k], k == 5 || k == 6 || k == 8 ? RTE_TEL_U64_VAL :
									       RTE_TEL_STRING_VAL);
	}
	pthread_mutex_lock(&tel_d.lock);
	tel_d.kind = TEL_DEVICES;
	tel_d.n = (unsigned int)n;
	rc = mbox_post_wait(&tel_d.mb, 5000);
	for (unsigned int i = 0; rc == 0 && i < tel_d.nout; i++) {
		const struct sl_dev *v = &tel_d.out[i];
		char mac[18], vl[64], ips[300];

		sl_mac_format(v->mac, mac);
		vlan_text(v, vl, sizeof(vl));
		ip_text(v, ips, sizeof(ips));
		rte_tel_data_add_array_string(c[0], mac);
		rte_tel_data_add_array_string(c[1], v->vendor[0] ? v->vendor : "unknown");
		rte_tel_data_add_array_string(c[2], vl);
		rte_tel_data_add_array_string(c[3], v->name);
		rte_tel_data_add_array_string(c[4], ips);
		rte_tel_data_add_array_u64(c[5], v->first_us);
		rte_tel_data_add_array_u64(c[6], v->last_us);
		rte_tel_data_add_array_string(c[7], v->miner);
		rte_tel_data_add_array_u64(c[8], (v->flags & SL_DEV_F_ROUTER) != 0);
	}
	pthread_mutex_unlock(&tel_d.lock);
	rte_tel_data_start_dict(d);
	for (unsigned int k = 0; k < SL_ARRAY_SIZE(cols); k++)
		if (rc != 0 || rte_tel_data_add_dict_container(d, cols[k], c[k], 0) < 0)
			rte_tel_data_free(c[k]);
	return rc;
}

/* /sluice/device,<mac|ip>: one device, or {"known": 0}. */
static int
tel_device_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct sl_cidr c;
	uint8_t mac[6];
	bool by_mac;
	int rc;

	RTE_SET_USED(cmd);
	if (params == NULL)
		return -EINVAL;
	by_mac = sl_mac_parse(params, mac) == 0;
	if (!by_mac && (strchr(params, '/') != NULL || sl_cidr_parse(params, &c) < 0))
		return -EINVAL;
	pthread_mutex_lock(&tel_d.lock);
	tel_d.kind = TEL_DEVICE;
	tel_d.by_mac = by_mac;
	if (by_mac)
		memcpy(tel_d.mac, mac, 6);
	else
		memcpy(tel_d.addr, c.addr, 16);
	rc = mbox_post_wait(&tel_d.mb, 5000);
	rte_tel_data_start_dict(d);
	if (rc == 0) {
		rte_tel_data_add_dict_u64(d, "known", tel_d.nout);
		if (tel_d.nout) {
			const struct sl_dev *v = &tel_d.out[0];
			char m[18], vl[64], ips[300];

			sl_mac_format(v->mac, m);
			vlan_text(v, vl, sizeof(vl));
			ip_text(v, ips, sizeof(ips));
			if (tel_d.behind_router)
				rte_tel_data_add_dict_string(d, "note", "behind a router or gateway");
			rte_tel_data_add_dict_string(d, "mac", m);
			rte_tel_data_add_dict_string(d, "vendor", v->vendor[0] ? v->vendor : "unknown");
			rte_tel_data_add_dict_string(d, "vlans", vl);
			rte_tel_data_add_dict_string(d, "addresses", ips);
			rte_tel_data_add_dict_string(d, "name", v->name);
			rte_tel_data_add_dict_string(d, "name_source", v->name_src);
			rte_tel_data_add_dict_string(d, "vendor_class", v->vclass);
			rte_tel_data_add_dict_string(d, "dhcp_fingerprint", v->dhcp_fp);
			rte_tel_data_add_dict_string(d, "client_id", v->client_id);
			rte_tel_data_add_dict_string(d, "neighbor_port", v->nbr_port);
			rte_tel_data_add_dict_string(d, "mining_hardware", v->miner);
			rte_tel_data_add_dict_u64(d, "router", (v->flags & SL_DEV_F_ROUTER) != 0);
			rte_tel_data_add_dict_u64(d, "new", (v->flags & SL_DEV_F_NEW) != 0);
			rte_tel_data_add_dict_u64(d, "port", v->port);
			rte_tel_data_add_dict_u64(d, "queue", v->queue);
			rte_tel_data_add_dict_u64(d, "first_seen_us", v->first_us);
			rte_tel_data_add_dict_u64(d, "last_seen_us", v->last_us);
		}
	}
	pthread_mutex_unlock(&tel_d.lock);
	return rc;
}

int
devq_register(void)
{
	if (rte_telemetry_register_cmd("/sluice/devices", tel_devices_cb,
		    "Devices seen, most recent first. Parameter: how many (default 20, at most 100)") < 0 ||
	    rte_telemetry_register_cmd("/sluice/device", tel_device_cb,
		    "One device. Parameter: its MAC or one of its IPv4/IPv6 addresses") < 0)
		return -EINVAL;
	return 0;
}

/* The "device" member of a /sluice/host answer: flat keys (device_*). Control core. */
void
ctl_dev_host_keys(const struct sl_devtab *t, const uint8_t addr[16], struct ctl_dev_brief *b)
{
	const struct sl_dev *router = NULL, *d;

	memset(b, 0, sizeof(*b));
	if (t == NULL)
		return;
	d = sl_devtab_find_ip(t, addr, &router);
	if (d != NULL) {
		b->known = 1;
		sl_mac_format(d->mac, b->mac);
		snprintf(b->vendor, sizeof(b->vendor), "%s", d->vendor[0] ? d->vendor : "unknown");
		vlan_text(d, b->vlans, sizeof(b->vlans));
		snprintf(b->name, sizeof(b->name), "%s", d->name);
		snprintf(b->miner, sizeof(b->miner), "%s", d->miner);
		b->first_us = d->first_us;
		snprintf(b->note, sizeof(b->note), "%s", "");
	} else if (router != NULL) {
		sl_mac_format(router->mac, b->mac);
		snprintf(b->vendor, sizeof(b->vendor), "%s", router->vendor);
		snprintf(b->note, sizeof(b->note), "behind a router or gateway");
	} else {
		snprintf(b->note, sizeof(b->note), "no MAC seen");
	}
}
