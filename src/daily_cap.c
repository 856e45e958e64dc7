/*-------------------------------------------------------------------------
 *
 * daily_cap.c
 *	  The daily-cap rule (see daily_cap.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "daily_cap.h"

int
activity_order(TimestampTz a_at, int64 a_id, TimestampTz b_at, int64 b_id)
{
	if (a_at != b_at)
		return a_at < b_at ? -1 : 1;
	return a_id < b_id ? -1 : a_id > b_id ? 1 : 0;
}

TimestampTz
utc_day(TimestampTz t)
{
	TimestampTz day = t - (t % USECS_PER_DAY);

	return (t < 0 && day != t) ? day - USECS_PER_DAY : day;
}

bool
daily_cap_counts(int rank, int daily_cap)
{
	return daily_cap < 0 || rank <= daily_cap;
}
