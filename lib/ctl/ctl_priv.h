/* ctl_priv.h: what the control plane's files share and nothing outside lib/ctl sees: the
 * telemetry host queries (ctl_hostq.c) and operator commands on the response (ctl_ops.c),
 * both answered by the control core through one-slot mailboxes (ctl_mbox.h). */
#ifndef SL_CTL_PRIV_H
#define SL_CTL_PRIV_H

#include <stdint.h>

#include "sl_block.h"
#include "sl_dev.h"
#include "sl_host.h"
#include "sl_probe.h"
#include "sl_score.h"

/* /sluice/hosts[,N] and /sluice/host,<ip>: a telemetry thread posts one query at a time (a
 * mutex only telemetry threads take) and waits; the control core, which owns the host and
 * score tables, answers in hostq_poll() and never waits. */
struct hostq_src {
	struct sl_chost_table *hosts;
	struct sl_score *score; /**< NULL: score = 0 */
	const struct sl_devtab *devs; /**< NULL: devices = 0 */
};

/* Devices (ctl_dev.c). */
struct ctl_devs {
	const struct sl_devtab *t; /**< NULL: devices = 0 */
	bool live;                 /**< show the queue (offline it depends on the workers) */
};

struct sl_json;
struct sl_writer;

/** Writer hook (sl_writer_set_device): the "device" member for host @p addr. @p arg is a
 * struct ctl_devs. */
void ctl_dev_json(void *arg, struct sl_json *j, const uint8_t addr[16]);
/** One device_new or device_moved line. @return 0 or -errno from the writer. */
int ctl_dev_event(struct sl_writer *w, const struct sl_dev *d, const char *type, uint64_t ts,
	bool live);
/** Register /sluice/devices and /sluice/device. @return 0 or -EINVAL. */
int devq_register(void);
/** Control core: answer a pending device query, if any. */
void devq_poll(const struct sl_devtab *t);

/** A host's device in short, for /sluice/host. */
struct ctl_dev_brief {
	int known;
	char mac[18];
	char vendor[48];
	char vlans[64];
	char name[SL_DEV_TEXT];
	char miner[64];
	char note[40];
	uint64_t first_us;
};
void ctl_dev_host_keys(const struct sl_devtab *t, const uint8_t addr[16],
	struct ctl_dev_brief *b);

/** Register the two commands. @return 0 or -EINVAL. */
int hostq_register(void);
/** Control core: answer a pending query, if any. */
void hostq_poll(struct hostq_src *a);
/** /sluice/host answers say where the device is (device_* keys). Before serving. */
void hostq_devices(bool on);

/* Operator commands on the response: block, unblock, list, allowlist add, remove and list. */
/** Register the commands. @return 0 or -errno. */
int ops_register(void);
/** Control core: carry out a pending command, if any, at time @p now_us. */
void ops_poll(struct sl_block *b, uint64_t now_us);
/** Make the telemetry socket of this process root-only (mode 0600). @return 0 or -errno. */
int ops_secure_socket(void);

/* The active probe's commands (ctl_probe.c): /sluice/probe,<ip>,<port> and /sluice/probes. */
/** The control core's ask: probe (@p ip, @p port) for an operator. @return SL_PROBE_ASK_*. */
typedef int (*probeq_ask_fn)(void *arg, const uint8_t ip[16], uint16_t port,
	struct sl_probe_entry *out);
/** Register the commands; a probe takes at most @p wait_ms. @return 0 or -EINVAL. */
int probeq_register(uint32_t wait_ms);
/** Control core: answer a pending command, if any (@p pr NULL: probing is off). */
void probeq_poll(struct sl_probe *pr, uint64_t now_us, probeq_ask_fn ask, void *arg);

#endif /* SL_CTL_PRIV_H */
