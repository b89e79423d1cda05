/* devtab.c: the control core's device table (see sl_dev.h). Devices live in buckets of 8
 * chosen by a hash of the MAC; a full bucket evicts its least recently seen device (counted).
 * An address index (buckets of 8 too, stale entries told by the device slot's generation)
 * maps an IP to the last MAC seen with it. Every operation touches one bucket of each: the
 * cost follows the observations, never the capacity. The state file is text: a header, one
 * tab-separated line per device, and an "end <count>" line that tells a truncated file. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sl_cfg.h"
#include "sl_common.h"
#include "sl_dev.h"

#define BUCKET 8
#define STATE_MAGIC "sluice-devices 1"

struct ipent {
	uint8_t ip[16];
	uint32_t dev;   /* slot + 1, 0 = empty */
	uint32_t gen;   /* the slot's generation when written */
	uint64_t last_us;
};

struct sl_devtab {
	struct sl_devtab_params p;
	const struct sl_oui *oui;
	uint32_t mask;          /* buckets - 1 */
	struct sl_dev *d;       /* buckets * BUCKET */
	uint32_t ipmask;
	struct ipent *ipx;      /* ipbuckets * BUCKET */
	uint32_t *slots;        /* every slot ever used (a used slot stays used): walks cost
				 * the devices, not the capacity */
	uint32_t nslots;
	uint64_t start_us;      /* first observation (or the state file's) */
	struct sl_devtab_stats st;
};

static const char *const dev_names[] = {
#define SL_DEV_NAME(name, help) #name,
	SL_DEV_COUNTERS(SL_DEV_NAME)
#undef SL_DEV_NAME
};
static const char *const dev_helps[] = {
#define SL_DEV_HELP(name, help) help,
	SL_DEV_COUNTERS(SL_DEV_HELP)
#undef SL_DEV_HELP
};

unsigned int sl_devtab_num_counters(void) { return SL_ARRAY_SIZE(dev_names); }

const char *
sl_devtab_counter_name(unsigned int i)
{
	return i < SL_ARRAY_SIZE(dev_names) ? dev_names[i] : NULL;
}

const char *
sl_devtab_counter_help(unsigned int i)
{
	return i < SL_ARRAY_SIZE(dev_helps) ? dev_helps[i] : NULL;
}

uint64_t
sl_devtab_counter(const struct sl_devtab_stats *st, unsigned int i)
{
	const uint64_t *v = (const uint64_t *)st;

	return i < SL_ARRAY_SIZE(dev_names) ? v[i] : 0;
}

static uint32_t
pow2(uint32_t v)
{
	uint32_t r = 1;

	while (r < v && r < (1u << 30))
		r <<= 1;
	return r;
}

struct sl_devtab *
sl_devtab_create(const struct sl_devtab_params *p, const struct sl_oui *oui)
{
	struct sl_devtab *t = calloc(1, sizeof(*t));
	uint32_t nb;

	if (t == NULL)
		return NULL;
	t->p = *p;
	if (t->p.router_ips < 2)
		t->p.router_ips = 2;
	t->oui = oui;
	nb = pow2(SL_MAX(p->capacity, (uint32_t)BUCKET) / BUCKET);
	t->mask = nb - 1;
	t->d = calloc((size_t)nb * BUCKET, sizeof(*t->d)); /* zero pages until touched */
	t->ipmask = nb * 2 - 1;
	t->ipx = calloc((size_t)nb * 2 * BUCKET, sizeof(*t->ipx));
	t->slots = calloc((size_t)nb * BUCKET, sizeof(*t->slots)); /* zero pages until touched */
	if (t->d == NULL || t->ipx == NULL || t->slots == NULL) {
		sl_devtab_free(t);
		return NULL;
	}
	return t;
}

void
sl_devtab_free(struct sl_devtab *t)
{
	if (t == NULL)
		return;
	free(t->d);
	free(t->ipx);
	free(t->slots);
	free(t);
}

void
sl_devtab_set_oui(struct sl_devtab *t, const struct sl_oui *oui)
{
	t->oui = oui;
}

uint64_t
sl_devtab_start(const struct sl_devtab *t)
{
	return t->start_us;
}

static uint32_t
mac_hash(const uint8_t mac[6])
{
	uint64_t v = 0;

	memcpy(&v, mac, 6);
	return (uint32_t)(sl_mix64(v ^ 0xd3e1) >> 16);
}

static struct sl_dev *
find(const struct sl_devtab *t, const uint8_t mac[6])
{
	struct sl_dev *b = &t->d[(size_t)(mac_hash(mac) & t->mask) * BUCKET];

	for (unsigned int i = 0; i < BUCKET; i++)
		if (b[i].used && memcmp(b[i].mac, mac, 6) == 0)
			return &b[i];
	return NULL;
}

const struct sl_dev *
sl_devtab_find_mac(const struct sl_devtab *t, const uint8_t mac[6])
{
	return find(t, mac);
}

static struct ipent *
ip_bucket(const struct sl_devtab *t, const uint8_t ip[16])
{
	return &t->ipx[(size_t)(sl_addr_hash(ip, 0x1d3b) & t->ipmask) * BUCKET];
}

static struct sl_dev *
ip_dev(const struct sl_devtab *t, const struct ipent *e)
{
	struct sl_dev *d;

	if (e->dev == 0)
		return NULL;
	d = &t->d[e->dev - 1];
	return d->used && d->gen == e->gen ? d : NULL;
}

const struct sl_dev *
sl_devtab_find_ip(const struct sl_devtab *t, const uint8_t ip[16], const struct sl_dev **router)
{
	const struct ipent *b = ip_bucket(t, ip);

	if (router != NULL)
		*router = NULL;
	for (unsigned int i = 0; i < BUCKET; i++) {
		const struct sl_dev *d;

		if (memcmp(b[i].ip, ip, 16) != 0 || (d = ip_dev(t, &b[i])) == NULL)
			continue;
		if (d->flags & SL_DEV_F_ROUTER) {
			if (router != NULL)
				*router = d;
			return NULL;
		}
		return d;
	}
	return NULL;
}

/* Point @p ip at device @p d. @return true when the address is new to this device. */
static bool
ip_index(struct sl_devtab *t, const uint8_t ip[16], struct sl_dev *d, uint64_t now)
{
	struct ipent *b = ip_bucket(t, ip), *victim = NULL;
	uint32_t slot = (uint32_t)(d - t->d) + 1;

	for (unsigned int i = 0; i < BUCKET; i++) {
		if (memcmp(b[i].ip, ip, 16) == 0 && ip_dev(t, &b[i]) != NULL) {
			bool fresh = b[i].dev != slot || b[i].gen != d->gen;

			b[i].dev = slot;
			b[i].gen = d->gen;
			b[i].last_us = now;
			return fresh;
		}
	}
	for (unsigned int i = 0; i < BUCKET; i++) {
		if (ip_dev(t, &b[i]) == NULL) {
			victim = &b[i];
			break;
		}
		if (victim == NULL || b[i].last_us < victim->last_us)
			victim = &b[i];
	}
	memcpy(victim->ip, ip, 16);
	victim->dev = slot;
	victim->gen = d->gen;
	victim->last_us = now;
	return true;
}

/* Last-seen times at the refresh granularity (workers repeat a host's MAC once a period),
 * never before @p first: the same whatever the number of workers. */
static uint64_t
coarse_after(const struct sl_devtab *t, uint64_t us, uint64_t first)
{
	uint64_t c = t->p.refresh_us ? us - us % t->p.refresh_us : us;

	return c > first ? c : first;
}

static struct sl_dev *
insert(struct sl_devtab *t, const uint8_t mac[6], uint64_t now)
{
	struct sl_dev *b = &t->d[(size_t)(mac_hash(mac) & t->mask) * BUCKET], *v = NULL;
	uint32_t gen;
	const char *s;

	for (unsigned int i = 0; i < BUCKET; i++) {
		if (!b[i].used) {
			v = &b[i];
			break;
		}
		if (v == NULL || b[i].last_us < v->last_us ||
		    (b[i].last_us == v->last_us && memcmp(b[i].mac, v->mac, 6) < 0))
			v = &b[i];
	}
	if (v->used) {
		t->st.evicted++;
		t->st.devices--;
	} else {
		t->slots[t->nslots++] = (uint32_t)(v - t->d);
	}
	gen = v->gen + 1;
	memset(v, 0, sizeof(*v));
	v->gen = gen;
	v->used = 1;
	memcpy(v->mac, mac, 6);
	v->first_us = now;
	v->last_us = coarse_after(t, now, now);
	if ((s = sl_oui_vendor(t->oui, mac)) != NULL)
		snprintf(v->vendor, sizeof(v->vendor), "%s", s);
	if ((s = sl_oui_miner(t->oui, mac)) != NULL) {
		snprintf(v->miner, sizeof(v->miner), "MAC prefix: %s", s);
		v->flags |= SL_DEV_F_MINER_HW;
	}
	if (now >= t->start_us + t->p.learn_us)
		v->flags |= SL_DEV_F_NEW;
	t->st.devices++;
	t->st.devices_new++;
	return v;
}

static bool
usable_mac(const uint8_t mac[6])
{
	static const uint8_t zero[6];

	return (mac[0] & 1) == 0 && memcmp(mac, zero, 6) != 0; /* no multicast, no zero */
}

static bool
unspecified(const uint8_t ip[16])
{
	static const uint8_t z[16], v4z[16] = {[10] = 0xff, [11] = 0xff};

	return memcmp(ip, z, 16) == 0 || memcmp(ip, v4z, 16) == 0;
}

static void
add_ip(struct sl_devtab *t, struct sl_dev *d, const uint8_t ip[16], uint64_t now)
{
	unsigned int i, old = 0;

	if (unspecified(ip)) /* a DHCP client before its lease: 0.0.0.0 names nobody */
		return;
	if (ip_index(t, ip, d, now) && ++d->nips_total == t->p.router_ips &&
	    !(d->flags & SL_DEV_F_ROUTER)) {
		d->flags |= SL_DEV_F_ROUTER;
		t->st.routers++;
	}
	for (i = 0; i < d->nip; i++) {
		if (memcmp(d->ips[i].ip, ip, 16) == 0) {
			if (now < d->ips[i].first_us)
				d->ips[i].first_us = now;
			if (coarse_after(t, now, d->ips[i].first_us) > d->ips[i].last_us)
				d->ips[i].last_us = coarse_after(t, now, d->ips[i].first_us);
			return;
		}
		if (d->ips[i].last_us < d->ips[old].last_us)
			old = i;
	}
	if (d->nip < SL_DEV_IPS)
		old = d->nip++;
	memcpy(d->ips[old].ip, ip, 16);
	d->ips[old].first_us = now;
	d->ips[old].last_us = now;
}

static void
set_text(char *dst, const char *src)
{
	if (src[0] != '\0')
		snprintf(dst, SL_DEV_TEXT, "%s", src);
}

const struct sl_dev *
sl_devtab_observe(struct sl_devtab *t, const struct sl_dev_obs *o, unsigned int *changes)
{
	struct sl_dev *d;
	unsigned int ch = 0;
	bool was_miner;

	*changes = 0;
	if ((o->flags & SL_DEV_OF_NO_MAC) || !usable_mac(o->mac)) {
		t->st.ignored++;
		return NULL;
	}
	t->st.observations++;
	if (t->start_us == 0)
		t->start_us = o->ts_us ? o->ts_us : 1;
	d = find(t, o->mac);
	if (d == NULL) {
		d = insert(t, o->mac, o->ts_us);
		d->port = o->port;
		d->queue = o->queue;
		ch |= SL_DEV_CH_NEW;
	} else {
		if (o->ts_us < d->first_us)
			d->first_us = o->ts_us;
		if (coarse_after(t, o->ts_us, d->first_us) > d->last_us)
			d->last_us = coarse_after(t, o->ts_us, d->first_us);
		/* a new port is a move; a new queue is only RSS spreading its addresses */
		if (!(o->flags & SL_DEV_OF_RELAYED)) {
			if (d->port != o->port)
				ch |= SL_DEV_CH_MOVED;
			d->port = o->port;
			d->queue = o->queue;
		}
	}
	was_miner = (d->flags & SL_DEV_F_MINER_HW) != 0;
	/* a relayed DHCP message carries the relay's VLAN, not the device's */
	if (!(o->flags & SL_DEV_OF_RELAYED) && o->kind != SL_DEV_OBS_lldp &&
	    o->kind != SL_DEV_OBS_cdp) {
		unsigned int i;

		for (i = 0; i < d->nvlan && d->vlan[i] != o->vlan; i++)
			;
		if (i == d->nvlan) {
			if (d->nvlan < SL_DEV_VLANS)
				d->vlan[d->nvlan++] = o->vlan;
			if (!(ch & SL_DEV_CH_NEW))
				ch |= SL_DEV_CH_MOVED;
		}
	}
	if ((o->flags & SL_DEV_OF_IP) && o->kind != SL_DEV_OBS_lldp && o->kind != SL_DEV_OBS_cdp)
		add_ip(t, d, o->ip, o->ts_us);
	switch (o->kind) {
	case SL_DEV_OBS_dhcp:
		if (o->name[0] != '\0') {
			set_text(d->name, o->name);
			snprintf(d->name_src, sizeof(d->name_src), "dhcp");
		}
		set_text(d->vclass, o->text);
		break;
	case SL_DEV_OBS_dhcp6:
		if (o->name[0] != '\0' && strcmp(d->name_src, "dhcp") != 0) {
			set_text(d->name, o->name);
			snprintf(d->name_src, sizeof(d->name_src), "dhcp6");
		}
		if (d->client_id[0] == '\0')
			set_text(d->client_id, o->text);
		break;
	case SL_DEV_OBS_dhcp_fp:
		set_text(d->dhcp_fp, o->name);
		set_text(d->client_id, o->text);
		break;
	case SL_DEV_OBS_lldp: case SL_DEV_OBS_cdp:
		if (o->name[0] != '\0' && strcmp(d->name_src, "dhcp") != 0) {
			set_text(d->name, o->name);
			snprintf(d->name_src, sizeof(d->name_src), "%s", sl_dev_obs_name(o->kind));
		}
		set_text(d->nbr_port, o->text);
		break;
	default:
		break;
	}
	if (!was_miner) {
		const char *w = sl_dev_miner_name(d->name);

		if (w == NULL)
			w = sl_dev_miner_name(d->vclass);
		if (w != NULL) {
			snprintf(d->miner, sizeof(d->miner), "DHCP name: %s", w);
			d->flags |= SL_DEV_F_MINER_HW;
		}
	}
	if (!was_miner && (d->flags & SL_DEV_F_MINER_HW))
		ch |= SL_DEV_CH_MINER;
	if (ch & SL_DEV_CH_MOVED)
		t->st.devices_moved++;
	*changes = ch;
	return d;
}

static int
slot_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void
sl_devtab_walk(const struct sl_devtab *t, void (*fn)(void *arg, const struct sl_dev *d),
	void *arg)
{
	/* in slot order, as a walk over the whole table would go (state files, reports) */
	qsort(t->slots, t->nslots, sizeof(*t->slots), slot_cmp);
	for (uint32_t i = 0; i < t->nslots; i++)
		if (t->d[t->slots[i]].used)
			fn(arg, &t->d[t->slots[i]]);
}

static int
recent_cmp(const void *a, const void *b)
{
	const struct sl_dev *x = *(const struct sl_dev *const *)a, *y = *(const struct sl_dev *const *)b;

	if (x->last_us != y->last_us)
		return x->last_us > y->last_us ? -1 : 1;
	return memcmp(x->mac, y->mac, 6);
}

struct collect {
	const struct sl_dev **v;
	size_t n;
};

static void
collect_cb(void *arg, const struct sl_dev *d)
{
	struct collect *c = arg;

	c->v[c->n++] = d;
}

unsigned int
sl_devtab_list(const struct sl_devtab *t, const struct sl_dev **out, unsigned int n)
{
	struct collect c = {.v = malloc((t->st.devices + 1) * sizeof(*c.v))};
	unsigned int k;

	if (c.v == NULL)
		return 0;
	sl_devtab_walk(t, collect_cb, &c);
	qsort(c.v, c.n, sizeof(*c.v), recent_cmp);
	k = (unsigned int)SL_MIN((size_t)n, c.n);
	memcpy(out, c.v, k * sizeof(*out));
	free(c.v);
	return k;
}

void
sl_devtab_get_stats(const struct sl_devtab *t, struct sl_devtab_stats *out)
{
	*out = t->st;
}

/* ---- state file ---- */

static void
ip_text(const uint8_t ip[16], char *b, size_t n)
{
	sl_addr_format(ip, b, n);
}

struct save_ctx {
	FILE *f;
	uint64_t n;
};

static void
save_cb(void *arg, const struct sl_dev *d)
{
	struct save_ctx *s = arg;
	char mac[18];

	sl_mac_format(d->mac, mac);
	fprintf(s->f, "dev\t%s\t%u\t%" PRIu64 "\t%" PRIu64 "\t%u\t%u\t%u", mac, d->flags,
		d->first_us, d->last_us, d->port, d->queue, d->nips_total);
	fprintf(s->f, "\t");
	for (unsigned int i = 0; i < d->nvlan; i++)
		fprintf(s->f, "%s%u", i ? "," : "", d->vlan[i]);
	fprintf(s->f, "\t");
	for (unsigned int i = 0; i < d->nip; i++) {
		char a[64];

		ip_text(d->ips[i].ip, a, sizeof(a));
		fprintf(s->f, "%s%s=%" PRIu64 "=%" PRIu64, i ? "," : "", a, d->ips[i].first_us,
			d->ips[i].last_us);
	}
	/* text fields are printable ASCII without tabs (sanitised on the way in) */
	fprintf(s->f, "\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d->name, d->name_src, d->vclass,
		d->dhcp_fp, d->client_id, d->nbr_port, d->vendor, d->miner);
	s->n++;
}

int
sl_devtab_save(const struct sl_devtab *t, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	struct save_ctx s = {0};
	int rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	s.f = fopen(tmp, "w");
	if (s.f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return rc;
	}
	fprintf(s.f, "%s\nstart\t%" PRIu64 "\n", STATE_MAGIC, t->start_us);
	sl_devtab_walk(t, save_cb, &s);
	fprintf(s.f, "end\t%" PRIu64 "\n", s.n);
	if (ferror(s.f) || fflush(s.f) != 0) {
		rc = -EIO;
		snprintf(err, errlen, "%s: write failed", tmp);
	}
	if (fclose(s.f) != 0 && rc == 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -errno;
		snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
	}
	if (rc < 0)
		remove(tmp);
	return rc;
}

/* Split @p s at tabs into at most @p max fields. @return fields found. */
static unsigned int
split(char *s, char **f, unsigned int max)
{
	unsigned int n = 0;

	while (n < max) {
		char *tab = strchr(s, '\t');

		f[n++] = s;
		if (tab == NULL)
			break;
		*tab = '\0';
		s = tab + 1;
	}
	return n;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
parse_addr(const char *s, uint8_t ip[16])
{
	struct sl_cidr c;

	if (sl_cidr_parse(s, &c) < 0 || c.plen != 128)
		return -1;
	memcpy(ip, c.addr, 16);
	return 0;
}

static int
load_line(struct sl_devtab *t, char *line)
{
	char *f[18], *save = NULL, *tok;
	uint64_t flags, first, last, port, queue, nips;
	uint8_t mac[6];
	struct sl_dev *d;

	if (split(line, f, 18) != 18 || strcmp(f[0], "dev") != 0 || sl_mac_parse(f[1], mac) < 0 ||
	    parse_u64(f[2], &flags) < 0 || parse_u64(f[3], &first) < 0 ||
	    parse_u64(f[4], &last) < 0 || parse_u64(f[5], &port) < 0 ||
	    parse_u64(f[6], &queue) < 0 || parse_u64(f[7], &nips) < 0 || find(t, mac) != NULL)
		return -1;
	d = insert(t, mac, first);
	t->st.devices_new--; /* known before: not new to this run */
	d->flags = (uint8_t)flags;
	d->first_us = first;
	d->last_us = last;
	d->port = (uint16_t)port;
	d->queue = (uint16_t)queue;
	d->nips_total = (uint32_t)nips;
	for (tok = strtok_r(f[8], ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		uint64_t v;

		if (parse_u64(tok, &v) < 0 || v > 4095)
			return -1;
		if (d->nvlan < SL_DEV_VLANS)
			d->vlan[d->nvlan++] = (uint16_t)v;
	}
	for (tok = strtok_r(f[9], ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		char *e1 = strchr(tok, '='), *e2;
		uint64_t a, b;

		if (e1 == NULL || (e2 = strchr(e1 + 1, '=')) == NULL)
			return -1;
		*e1 = *e2 = '\0';
		if (d->nip >= SL_DEV_IPS || parse_addr(tok, d->ips[d->nip].ip) < 0 ||
		    parse_u64(e1 + 1, &a) < 0 || parse_u64(e2 + 1, &b) < 0)
			return -1;
		d->ips[d->nip].first_us = a;
		d->ips[d->nip].last_us = b;
		ip_index(t, d->ips[d->nip].ip, d, b);
		d->nip++;
	}
	snprintf(d->name, sizeof(d->name), "%s", f[10]);
	snprintf(d->name_src, sizeof(d->name_src), "%s", f[11]);
	snprintf(d->vclass, sizeof(d->vclass), "%s", f[12]);
	snprintf(d->dhcp_fp, sizeof(d->dhcp_fp), "%s", f[13]);
	snprintf(d->client_id, sizeof(d->client_id), "%s", f[14]);
	snprintf(d->nbr_port, sizeof(d->nbr_port), "%s", f[15]);
	if (d->vendor[0] == '\0') /* the registry in force first, then what the file says */
		snprintf(d->vendor, sizeof(d->vendor), "%s", f[16]);
	if (d->miner[0] == '\0')
		snprintf(d->miner, sizeof(d->miner), "%s", f[17]);
	return 0;
}

int
sl_devtab_load(struct sl_devtab *t, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned int ln = 0;
	uint64_t n = 0, want = 0, start = 0;
	bool ended = false;

	if (f == NULL) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t l = strlen(line);

		ln++;
		if (l == 0 || line[l - 1] != '\n') {
			snprintf(err, errlen, "%s:%u: line cut short or too long", path, ln);
			goto bad;
		}
		line[l - 1] = '\0';
		if (ended) {
			snprintf(err, errlen, "%s:%u: data after the end line", path, ln);
			goto bad;
		}
		if (ln == 1) {
			if (strcmp(line, STATE_MAGIC) != 0) {
				snprintf(err, errlen, "%s:1: not a sluice device state file", path);
				goto bad;
			}
		} else if (strncmp(line, "start\t", 6) == 0) {
			if (parse_u64(line + 6, &start) < 0) {
				snprintf(err, errlen, "%s:%u: bad start time", path, ln);
				goto bad;
			}
		} else if (strncmp(line, "end\t", 4) == 0) {
			if (parse_u64(line + 4, &want) < 0 || want != n) {
				snprintf(err, errlen, "%s:%u: end line says %s devices, file has %" PRIu64,
					path, ln, line + 4, n);
				goto bad;
			}
			ended = true;
		} else if (load_line(t, line) < 0) {
			snprintf(err, errlen, "%s:%u: malformed device line", path, ln);
			goto bad;
		} else {
			n++;
		}
	}
	fclose(f);
	if (!ended) {
		snprintf(err, errlen, "%s: truncated (no end line after %u lines)", path, ln);
		f = NULL;
		goto bad;
	}
	t->start_us = start;
	return (int)SL_MIN(n, (uint64_t)INT32_MAX);
bad:
	if (f != NULL)
		fclose(f);
	/* start over empty */
	memset(t->d, 0, (size_t)(t->mask + 1) * BUCKET * sizeof(*t->d));
	memset(t->ipx, 0, (size_t)(t->ipmask + 1) * BUCKET * sizeof(*t->ipx));
	t->nslots = 0;
	memset(&t->st, 0, sizeof(t->st));
	t->start_us = 0;
	return -EINVAL;
}
