/* ctl_dedup.h: aggregation of repeated detections (config key event_dedup_s). The first
 * detection of a (host, peer, detector, evidence) is written at once; its repeats within the
 * window are counted and leave as one line with a count and first/last times when the window
 * closes. Entries live in a ring in creation order (every window is equally long, so they
 * close in that order) and in a chained hash: work per detection and per closed window is
 * O(1), never a walk of the table. Control core only. */
#ifndef SL_CTL_DEDUP_H
#define SL_CTL_DEDUP_H

#include <stdint.h>

#include "sl_match.h"

/** Writes one line: @p count == 1 a plain detection, > 1... see ctl_dedup_event().
 * @p count repeats of @p ev (the last one) seen since @p first_us. @return 0 or -errno. */
typedef int (*ctl_dedup_write_fn)(void *arg, const struct sl_event *ev, unsigned int weight,
	uint64_t count, uint64_t first_us);

struct ctl_dedup_stats {
	uint64_t folded;  /**< repeats folded into an open window */
	uint64_t lines;   /**< aggregate lines written */
	uint64_t full;    /**< detections written alone: no free entry */
	uint64_t failed;  /**< aggregate lines the writer refused */
};

struct ctl_dedup;

/** A table of @p capacity open windows of @p window_us. @return NULL when out of memory. */
struct ctl_dedup *ctl_dedup_create(uint64_t window_us, uint32_t capacity,
	ctl_dedup_write_fn fn, void *arg);
void ctl_dedup_free(struct ctl_dedup *d);

/** A detection: @return 1 when folded into an open window (write nothing now), 0 when the
 * caller writes it now (the first of its kind, which opens a window, or the table is full). */
int ctl_dedup_event(struct ctl_dedup *d, const struct sl_event *ev, unsigned int weight);

/** Close the windows that ended by @p now_us, writing an aggregate line for each one that
 * folded repeats. */
void ctl_dedup_expire(struct ctl_dedup *d, uint64_t now_us);

/** Close every window (end of run). */
void ctl_dedup_flush(struct ctl_dedup *d);

void ctl_dedup_get_stats(const struct ctl_dedup *d, struct ctl_dedup_stats *out);

#endif /* SL_CTL_DEDUP_H */
