/* report_priv.h: what the JSON formatter (report.c) and the event writer (writer.c) share.
 * Private to lib/report: never included outside it. */
#ifndef SL_REPORT_PRIV_H
#define SL_REPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "sl_report.h"

/*
 * Line mode: make @p n contiguous bytes free after j->len in the writer's current chunk.
 * The complete lines before j->mark are handed on first (so the line being written moves
 * to the start of a fresh chunk); a line longer than a chunk grows the chunk.
 * @return false when out of memory (j->err is set to -ENOMEM).
 */
bool sl_writer_room(struct sl_json *j, size_t n);

#endif /* SL_REPORT_PRIV_H */
