/* sl_dev.h: devices seen on the wire. Three parts:
 * - discovery parsers (disc.c): pure functions on frame bytes that turn the rare frames that
 *   describe a device (ARP, LLDP, CDP, DHCPv4) and the link-layer header of a flow's first
 *   packet into observations (struct sl_dev_obs, one channel record each). Bounds are checked
 *   before every load; they are fuzzed (tests/fuzz/fuzz_dev.c). Workers call them only for
 *   frames the packet parser did not take (non-IP), for UDP 67/68, and once per new flow.
 * - the IEEE registry (oui.c): MA-L/MA-M/MA-S prefixes (24, 28, 36 bits) from ieee-data's
 *   oui.txt, mam.txt, oui36.txt, and the shipped list of mining-hardware prefixes.
 * - the device table (devtab.c): control core only. MAC -> IPs, VLANs, names, vendor, first
 *   and last seen, where seen, LLDP/CDP neighbour; bounded (buckets of 8, the least recently
 *   seen device of a full bucket is evicted and counted); saved to and loaded from a state
 *   file. A MAC that speaks for many IPs is marked a router and never attributed to them. */
#ifndef SL_DEV_H
#define SL_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Observation kinds (what a record says and where it came from). */
#define SL_DEV_OBS_KINDS(X)                                                                  \
	X(flow, "source MAC, VLAN and address of a flow's first packet")                      \
	X(arp, "ARP sender MAC and address")                                                  \
	X(lldp, "LLDP: chassis, port, system name, management address")                       \
	X(cdp, "CDP: device id, port, address")                                               \
	X(dhcp, "DHCPv4 client: chaddr, hostname (12), vendor class (60), address")           \
	X(dhcp_fp, "DHCPv4 client: parameter request list (55) and client id (61)")         \
	X(dhcp6, "DHCPv6 client: DUID (option 1), FQDN (option 39), link-local address")

enum sl_dev_obs_kind {
#define SL_DEV_OBS_ENUM(name, help) SL_DEV_OBS_##name,
	SL_DEV_OBS_KINDS(SL_DEV_OBS_ENUM)
#undef SL_DEV_OBS_ENUM
	SL_DEV_OBS_MAX
};

const char *sl_dev_obs_name(unsigned int k);

#define SL_DEV_OF_IP 0x01      /**< ip holds an address */
#define SL_DEV_OF_RELAYED 0x02 /**< DHCP through a relay: mac is chaddr, not the frame's */
#define SL_DEV_OF_ACK 0x04     /**< DHCP ACK: ip is the assigned address */
#define SL_DEV_OF_NO_MAC 0x08  /**< the link type carries no source MAC */

#define SL_DEV_TEXT 40 /**< text field bytes (NUL included) */

/** One observation: exactly the 120 bytes of a channel record's payload. */
struct sl_dev_obs {
	uint64_t ts_us;       /**< when (packet time offline) */
	uint8_t kind;         /**< enum sl_dev_obs_kind */
	uint8_t flags;        /**< SL_DEV_OF_* */
	uint16_t vlan;        /**< outer 802.1Q VLAN id, 0 = untagged */
	uint16_t port;        /**< port it came in on */
	uint16_t queue;       /**< queue */
	uint8_t mac[6];       /**< the device's MAC */
	uint8_t pad[2];
	uint8_t ip[16];       /**< address (16-byte form), when SL_DEV_OF_IP */
	char name[SL_DEV_TEXT]; /**< DHCP hostname, LLDP system name, CDP device id; dhcp_fp: the
	                             parameter request list "1,3,6,..." */
	char text[SL_DEV_TEXT]; /**< DHCP vendor class; LLDP/CDP port; dhcp_fp: client id (hex) */
};

_Static_assert(sizeof(struct sl_dev_obs) == 120, "a device observation is one record payload");

/** Link types (SL_DLT_*) the source MAC can be read from. */
bool sl_dev_linktype_has_mac(int linktype);

/**
 * Source MAC and outer VLAN of a frame. @return 1 when a MAC was found, 0 when the link type
 * has none (raw IP, loopback, SLL of an outgoing packet without address), -1 when truncated.
 */
int sl_dev_l2_src(int linktype, const uint8_t *p, uint32_t len, uint8_t mac[6], uint16_t *vlan);

/**
 * A frame the packet parser called non-IP: ARP, LLDP or CDP. Fills @p out (ts, port, queue
 * left to the caller). @return 1 when it described a device, 0 when it is another protocol,
 * -1 when it was one of these but malformed or truncated.
 */
int sl_dev_parse_l2(int linktype, const uint8_t *p, uint32_t len, struct sl_dev_obs *out);

/**
 * A DHCPv4 message (UDP payload at @p p, @p len bytes captured). Fills up to two records:
 * out[0] kind dhcp, out[1] kind dhcp_fp (when option 55 or 61 is there). Client messages
 * (BOOTREQUEST) and the server's ACK are taken; @p frame_mac is the frame's source MAC (or
 * NULL) to tell a relayed message. @return records filled (0: not a DHCP message we take),
 * -1 when malformed.
 */
int sl_dev_parse_dhcp(const uint8_t *p, uint32_t len, const uint8_t *frame_mac,
	struct sl_dev_obs out[2]);

/**
 * A DHCPv6 client message (UDP payload at @p p): SOLICIT, REQUEST, CONFIRM, RENEW, REBIND,
 * INFORMATION-REQUEST. @p frame_mac (or NULL) names the device; without one, a DUID-LL or
 * DUID-LLT with an Ethernet address does. @p src is the message's IPv6 source (recorded
 * unless unspecified). @return 1 filled, 0 not taken (server or relay messages), -1 malformed.
 */
int sl_dev_parse_dhcp6(const uint8_t *p, uint32_t len, const uint8_t *frame_mac,
	const uint8_t src[16], struct sl_dev_obs *out);

/* ---- IEEE registry and mining hardware ---- */

struct sl_oui;

/**
 * Load the registry from the ieee-data files in @p dir (oui.txt, mam.txt, oui36.txt; any may
 * be missing) and the mining-hardware list @p hw_path ("" = none). Lines of the hardware list:
 * "<prefix>[/<bits>] <maker> <source>" (hex, separators -, : or none; bits 24, 28 or 36).
 * @return the registry, or NULL with the reason in @p err (a malformed hardware list line:
 * file:line).
 */
struct sl_oui *sl_oui_load(const char *dir, const char *hw_path, char *err, size_t errlen);
void sl_oui_free(struct sl_oui *o);
/** Vendor of @p mac (longest prefix), or NULL. */
const char *sl_oui_vendor(const struct sl_oui *o, const uint8_t mac[6]);
/** Mining-hardware maker of @p mac, or NULL. */
const char *sl_oui_miner(const struct sl_oui *o, const uint8_t mac[6]);
/** Prefixes loaded: registry entries and hardware list entries. */
void sl_oui_sizes(const struct sl_oui *o, uint32_t *vendors, uint32_t *hw);

/** A DHCP hostname or vendor class naming mining hardware (antminer, whatsminer, avalon...):
 * @return the word it matched, or NULL. Case-insensitive. */
const char *sl_dev_miner_name(const char *s);

/* ---- the device table ---- */

#define SL_DEV_VLANS 4 /**< VLANs kept per device */
#define SL_DEV_IPS 4   /**< addresses kept per device (the most recent) */

#define SL_DEV_F_ROUTER 0x01   /**< speaks for many IPs: a router or gateway */
#define SL_DEV_F_MINER_HW 0x02 /**< MAC prefix or DHCP name/vendor class of mining hardware */
#define SL_DEV_F_NEW 0x04      /**< first seen after the learning period */
#define SL_DEV_F_NEW_SIG 0x08  /**< its new_device signal was given */

struct sl_dev_ip {
	uint8_t ip[16];
	uint64_t first_us, last_us;
};

/** One device. */
struct sl_dev {
	uint8_t mac[6];
	uint8_t used;
	uint8_t flags;                  /**< SL_DEV_F_* */
	uint8_t nvlan, nip;
	uint16_t port, queue;           /**< where last seen */
	uint32_t gen;                   /**< slot generation (address index entries check it) */
	uint32_t nips_total;            /**< distinct addresses attributed over time */
	uint16_t vlan[SL_DEV_VLANS];
	uint64_t first_us, last_us;
	struct sl_dev_ip ips[SL_DEV_IPS];
	char name[SL_DEV_TEXT];         /**< best name: DHCP hostname, else LLDP/CDP system name */
	char name_src[8];               /**< "dhcp", "dhcp6", "lldp", "cdp" */
	char vclass[SL_DEV_TEXT];       /**< DHCP vendor class */
	char dhcp_fp[SL_DEV_TEXT];      /**< DHCP parameter request list */
	char client_id[SL_DEV_TEXT];    /**< DHCP client id (hex) */
	char nbr_port[SL_DEV_TEXT];     /**< LLDP/CDP: the port the frame says it was sent from */
	char vendor[48];                /**< IEEE registry organisation ("" = unknown) */
	char miner[64];                 /**< why it is mining hardware */
};

/* X(name, help): device table counters. */
#define SL_DEV_COUNTERS(X)                                                                   \
	X(observations, "device observations taken")                                          \
	X(devices_new, "devices added to the table")                                          \
	X(devices_moved, "devices seen on a new VLAN or port")                                \
	X(evicted, "devices evicted: their bucket was full (table full)")                     \
	X(routers, "MACs marked router/gateway (many addresses)")                             \
	X(ignored, "observations without a usable MAC (multicast, zero, no MAC seen)")

struct sl_devtab_stats {
#define SL_DEV_CNT(name, help) uint64_t name;
	SL_DEV_COUNTERS(SL_DEV_CNT)
#undef SL_DEV_CNT
	uint64_t devices; /**< devices in the table now */
};

/** What an observation changed (for events and signals). */
#define SL_DEV_CH_NEW 0x01   /**< a new device */
#define SL_DEV_CH_MOVED 0x02 /**< a known device on a new VLAN or port */
#define SL_DEV_CH_MINER 0x04 /**< became mining hardware */

struct sl_devtab_params {
	uint32_t capacity;       /**< devices (rounded up to a power of two, at least 8) */
	uint32_t router_ips;     /**< a MAC attributed this many addresses is a router */
	uint64_t learn_us;       /**< learning period from the table's start */
	uint64_t refresh_us;     /**< times are kept at this granularity (0 = exact) */
};

struct sl_devtab;

struct sl_devtab *sl_devtab_create(const struct sl_devtab_params *p, const struct sl_oui *oui);
void sl_devtab_free(struct sl_devtab *t);
/** A new registry (reload): used for devices added from now on. */
void sl_devtab_set_oui(struct sl_devtab *t, const struct sl_oui *oui);

/**
 * Take one observation. @return the device it concerns (NULL: ignored) and in @p changes
 * what it changed (SL_DEV_CH_*).
 */
const struct sl_dev *sl_devtab_observe(struct sl_devtab *t, const struct sl_dev_obs *o,
	unsigned int *changes);

/** The device by MAC, or NULL. */
const struct sl_dev *sl_devtab_find_mac(const struct sl_devtab *t, const uint8_t mac[6]);
/**
 * The device behind address @p ip (16-byte form), or NULL. When the last MAC seen with it is a
 * router, @p router receives that router (and NULL is returned): the host is behind it.
 */
const struct sl_dev *sl_devtab_find_ip(const struct sl_devtab *t, const uint8_t ip[16],
	const struct sl_dev **router);

/** Call @p fn for every device (unordered). */
void sl_devtab_walk(const struct sl_devtab *t, void (*fn)(void *arg, const struct sl_dev *d),
	void *arg);
/** Up to @p n devices, most recently seen first (ties by MAC). @return count. Allocates a
 * temporary array of the table's size. */
unsigned int sl_devtab_list(const struct sl_devtab *t, const struct sl_dev **out, unsigned int n);

void sl_devtab_get_stats(const struct sl_devtab *t, struct sl_devtab_stats *out);
unsigned int sl_devtab_num_counters(void);
const char *sl_devtab_counter_name(unsigned int i);
const char *sl_devtab_counter_help(unsigned int i);
uint64_t sl_devtab_counter(const struct sl_devtab_stats *st, unsigned int i);

/** Time the table started (the learning period runs from here). */
uint64_t sl_devtab_start(const struct sl_devtab *t);

/**
 * Write the table to @p path (through path.tmp and rename). @return 0 or -errno, with the
 * reason in @p err.
 */
int sl_devtab_save(const struct sl_devtab *t, const char *path, char *err, size_t errlen);
/**
 * Load @p path into an empty table. @return devices loaded, 0 when the file does not exist,
 * or -EINVAL for a corrupt or truncated file (the table is left empty; @p err says where).
 */
int sl_devtab_load(struct sl_devtab *t, const char *path, char *err, size_t errlen);

/** MAC as "aa:bb:cc:dd:ee:ff" (18 bytes). */
void sl_mac_format(const uint8_t mac[6], char out[18]);
/** Parse "aa:bb:cc:dd:ee:ff" (also - or no separators). @return 0 or -EINVAL. */
int sl_mac_parse(const char *s, uint8_t mac[6]);

#endif /* SL_DEV_H */
