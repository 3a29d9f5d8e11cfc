/* SPDX-License-Identifier: Apache-2.0 */
/* Dates as Airflow writes them (ISO 8601), read into seconds since the epoch.
 */
#ifndef AFS_ISOTIME_H
#define AFS_ISOTIME_H

#include <stddef.h>
#include <time.h>

/*
 * n bytes of s as YYYY-MM-DD[T ]HH:MM[:SS[.frac]] then Z, +HH:MM, +HHMM,
 * +HH or nothing (taken as UTC): 0 with *t set, or -1 for anything else
 * (other text, a day or time out of range).
 */
int isotime_parse(const char *s, size_t n, time_t *t);

#endif
