/*-------------------------------------------------------------------------
 *
 * partial_date.c
 *	  partial_date: a date known to the year, the month or the day.
 *
 * Civil-status and population records often know only the year of a birth
 * (Law on Civil Status 2014 and its circulars allow it).  Canonical text is
 * ISO 8601 reduced precision: "1990", "1990-05", "1990-05-15".  Input also
 * accepts the Vietnamese forms "15/05/1990" and "05/1990".  Years are
 * 0001-9999 written with four digits; the calendar is the Gregorian one.
 *
 * Encoding (4 bytes): year * 10000 + month * 100 + day, an unknown part
 * being 0, so that "1990" < "1990-01" < "1990-01-01" < "1990-01-02" <
 * "1990-02".  mask keeps the year and month; generalize keeps the year.
 *
 * src/types/partial_date.c
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_FREESTANDING
#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "types/gs_types.h"
#endif

#include <string.h>

#include "govshare_types.h"

#define PD_HINT	"A partial date is YYYY, YYYY-MM or YYYY-MM-DD (or DD/MM/YYYY, MM/YYYY)."

/* Days in month m of year y. */
static int
days_in_month(int y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Checks year, month (0 = unknown) and day (0 = unknown); encodes them. */
static bool
make(int y, int m, int d, uint64_t *out, gs_error *err)
{
	if (y < 1 || y > 9999)
	{
		gs_fail(err, PD_HINT, "Year %d is out of range (0001-9999).", y);
		return false;
	}
	if (m < 0 || m > 12 || (m == 0 && d != 0))
	{
		gs_fail(err, PD_HINT, "Month %d is out of range (01-12).", m);
		return false;
	}
	if (d < 0 || (m > 0 && d > days_in_month(y, m)))
	{
		gs_fail(err, PD_HINT, "Day %d does not exist in month %d of year %d.", d, m, y);
		return false;
	}
	*out = (uint64_t) (y * 10000 + m * 100 + d);
	return true;
}

/* Splits s at sep into at most 3 fields of digits; returns the count or -1. */
static int
fields(const char *s, size_t n, char sep, int *val, int *width)
{
	int			k = 0;
	size_t		start = 0;

	for (size_t i = 0; i <= n; i++)
	{
		if (i < n && s[i] != sep)
			continue;
		if (k == 3 || i == start || i - start > 4 || !gs_all_digits(s + start, i - start))
			return -1;
		val[k] = (int) gs_digits_value(s + start, i - start);
		width[k] = (int) (i - start);
		k++;
		start = i + 1;
	}
	return k;
}

static bool
parse(const char *s, size_t len, const gs_context *ctx, uint64_t *out, gs_error *err)
{
	char		b[GS_INPUT_MAX];
	size_t		n;
	gs_begin	begin;
	int			val[3];
	int			width[3];
	int			k;

	begin = gs_parse_begin(s, len, " ", PD_HINT, false, b, sizeof(b), &n, out, err);
	if (begin != GS_BEGIN_GO_ON)
		return begin == GS_BEGIN_DONE;
	if (gs_count_char(b, n, '/') > 0)
	{
		/* DD/MM/YYYY or MM/YYYY */
		k = fields(b, n, '/', val, width);
		if (k < 2 || width[k - 1] != 4 || width[0] > 2 || (k == 3 && width[1] > 2))
		{
			gs_fail(err, PD_HINT, "The Vietnamese forms are DD/MM/YYYY and MM/YYYY.");
			return false;
		}
		if (k == 2)
			return make(val[1], val[0], 0, out, err);
		return make(val[2], val[1], val[0], out, err);
	}
	k = fields(b, n, '-', val, width);
	if (k < 1 || width[0] != 4 || (k > 1 && width[1] != 2) || (k > 2 && width[2] != 2))
	{
		gs_fail(err, PD_HINT, "The ISO forms are YYYY, YYYY-MM and YYYY-MM-DD, with a four-digit year.");
		return false;
	}
	if (k > 1 && val[1] == 0)
	{
		gs_fail(err, PD_HINT, "Month 0 is out of range (01-12); leave the month out when it is unknown.");
		return false;
	}
	if (k > 2 && val[2] == 0)
	{
		gs_fail(err, PD_HINT, "Day 0 is out of range; leave the day out when it is unknown.");
		return false;
	}
	return make(val[0], k > 1 ? val[1] : 0, k > 2 ? val[2] : 0, out, err);
}

static size_t
format(uint64_t v, char *buf)
{
	int			y = (int) (v / 10000),
				m = (int) (v / 100 % 100),
				d = (int) (v % 100);
	size_t		n = 4;

	if (v > 99991231 || y < 1 || m > 12 || (m == 0 && d != 0))
		return 0;
	if (m > 0 && d > days_in_month(y, m))
		return 0;
	gs_put_digits(buf, (uint64_t) y, 4);
	if (m > 0)
	{
		buf[n++] = '-';
		gs_put_digits(buf + n, (uint64_t) m, 2);
		n += 2;
	}
	if (d > 0)
	{
		buf[n++] = '-';
		gs_put_digits(buf + n, (uint64_t) d, 2);
		n += 2;
	}
	buf[n] = '\0';
	return n;
}

/* Masking keeps the year and the month. */
static uint64_t
mask(uint64_t v)
{
	return v - v % 100;
}

/* Generalizing keeps the year. */
static uint64_t
generalize(uint64_t v)
{
	return v - v % 10000;
}

const gs_type gs_partial_date_type = {
	.name = "partial_date",
	.width = 4,
	.parse = parse,
	.format = format,
	.mask = mask,
	.generalize = generalize,
};

#ifndef GOVSHARE_FREESTANDING

/* The first (upper = false) or last (upper = true) day a partial date can be. */
static DateADT
bound(uint64 v, bool upper)
{
	int			y = (int) (v / 10000),
				m = (int) (v / 100 % 100),
				d = (int) (v % 100);

	if (m == 0)
		m = upper ? 12 : 1;
	if (d == 0)
		d = upper ? days_in_month(y, m) : 1;
	return date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
}

GOVSHARE_TYPE_FUNCTIONS(partial_date)

/* govshare.partial_date_year(partial_date) returns integer */
PG_FUNCTION_INFO_V1(partial_date_year);
Datum
partial_date_year(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) (GOVSHARE_GETARG(partial_date, 0) / 10000));
}

/* govshare.partial_date_month(partial_date) returns integer, NULL when unknown */
PG_FUNCTION_INFO_V1(partial_date_month);
Datum
partial_date_month(PG_FUNCTION_ARGS)
{
	int			m = (int) (GOVSHARE_GETARG(partial_date, 0) / 100 % 100);

	if (m == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(m);
}

/* govshare.partial_date_day(partial_date) returns integer, NULL when unknown */
PG_FUNCTION_INFO_V1(partial_date_day);
Datum
partial_date_day(PG_FUNCTION_ARGS)
{
	int			d = (int) (GOVSHARE_GETARG(partial_date, 0) % 100);

	if (d == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT32(d);
}

/* govshare.partial_date_precision(partial_date) returns 'year', 'month' or 'day' */
PG_FUNCTION_INFO_V1(partial_date_precision);
Datum
partial_date_precision(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(partial_date, 0);

	return govshare_type_text_datum(v % 100 ? "day" : v % 10000 ? "month" : "year");
}

/* govshare.partial_date_lower(partial_date) returns date: the first day it can be */
PG_FUNCTION_INFO_V1(partial_date_lower);
Datum
partial_date_lower(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(bound(GOVSHARE_GETARG(partial_date, 0), false));
}

/* govshare.partial_date_upper(partial_date) returns date: the last day it can be */
PG_FUNCTION_INFO_V1(partial_date_upper);
Datum
partial_date_upper(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(bound(GOVSHARE_GETARG(partial_date, 0), true));
}

/* govshare.partial_date_contains(partial_date, date) returns boolean */
PG_FUNCTION_INFO_V1(partial_date_contains);
Datum
partial_date_contains(PG_FUNCTION_ARGS)
{
	uint64		v = GOVSHARE_GETARG(partial_date, 0);
	DateADT		d = PG_GETARG_DATEADT(1);

	PG_RETURN_BOOL(d >= bound(v, false) && d <= bound(v, true));
}

/* govshare.partial_date(date) returns partial_date: a date known to the day */
PG_FUNCTION_INFO_V1(partial_date_from_date);
Datum
partial_date_from_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	int			y,
				m,
				day;

	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("cannot convert an infinite date to partial_date")));
	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &day);
	if (y < 1 || y > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for partial_date"),
				 errdetail("A partial date's year is between 0001 and 9999.")));
	GOVSHARE_RETURN(partial_date, (uint64) (y * 10000 + m * 100 + day));
}

#endif							/* GOVSHARE_FREESTANDING */
