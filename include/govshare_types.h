/*-------------------------------------------------------------------------
 *
 * govshare_types.h
 *	  The parsing core of the national identifier types.
 *
 * This header is free-standing C: it includes no server header, so the same
 * parsers are linked into the extension, into the fuzz targets and into
 * client programs.  The server side (src/types/fmgr.c) turns a gs_error into
 * an ereport.
 *
 * Every type is an unsigned integer of 8 or 4 bytes.  For the 8-byte types
 * the two bits below the sign bit say which *form* a value is in: the value
 * itself, or one of the disclosure forms that the rules produce (masked,
 * generalized, pseudonym).  Disclosure forms are values of the same type so
 * that a masked column keeps its type and every operator resolved by the
 * parser keeps working; their text forms are distinct ("001*******45") and
 * never collide with a real value.  See docs/types.md.
 *
 * include/govshare_types.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef GOVSHARE_TYPES_H
#define GOVSHARE_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest canonical text of any type, terminator included. */
#define GS_TEXT_MAX			64
/* Longest input a parser looks at; anything longer is rejected outright. */
#define GS_INPUT_MAX		64

/* Forms of an 8-byte value, stored in bits 62..61. */
#define GS_FORM_VALUE		0
#define GS_FORM_MASKED		1
#define GS_FORM_GENERALIZED	2
#define GS_FORM_PSEUDONYM	3
#define GS_FORM_SHIFT		61
#define GS_PAYLOAD_MASK		((UINT64_C(1) << GS_FORM_SHIFT) - 1)
/* A pseudonym carries 60 bits, written as '~' and 12 base32 characters. */
#define GS_PSEUDONYM_BITS	60
#define GS_PSEUDONYM_CHARS	12

#define GS_FORM(v)			((int) (((v) >> GS_FORM_SHIFT) & 3))
#define GS_PAYLOAD(v)		((v) & GS_PAYLOAD_MASK)
#define GS_MAKE(form, payload) \
	((((uint64_t) (form)) << GS_FORM_SHIFT) | ((uint64_t) (payload) & GS_PAYLOAD_MASK))

/* What a parser says when it refuses an input. */
typedef struct gs_error
{
	char		detail[160];	/* the rule broken; never the input itself */
	char		hint[160];		/* what to do, or empty */
} gs_error;

/* What a parser may need to know of the world. */
typedef struct gs_context
{
	int			current_year;	/* birth years after this are refused */
} gs_context;

/*
 * One national type: its parser, formatter and disclosure transforms.
 *
 * parse: text (not necessarily terminated) to a value; false and *err on
 *		refusal.  Accepts the value forms people write and every disclosure
 *		form the formatter prints, so that output always reads back.
 * format: value to canonical text in buf (GS_TEXT_MAX bytes); returns the
 *		length, or 0 when v is not a well-formed encoding (garbage from a
 *		binary input), so format never trusts v.
 * mask, generalize: the disclosure transforms of a value form; a disclosure
 *		form is returned as it is when it reveals no more than the result.
 */
typedef struct gs_type
{
	const char *name;
	int			width;			/* 8 or 4 bytes */
	bool		(*parse) (const char *s, size_t len, const gs_context *ctx,
						  uint64_t *out, gs_error *err);
	size_t		(*format) (uint64_t v, char *buf);
	uint64_t	(*mask) (uint64_t v);
	uint64_t	(*generalize) (uint64_t v);
} gs_type;

extern const gs_type gs_personal_id_type;
extern const gs_type gs_tax_code_type;
extern const gs_type gs_social_insurance_no_type;
extern const gs_type gs_health_insurance_no_type;
extern const gs_type gs_phone_number_type;
extern const gs_type gs_admin_unit_type;
extern const gs_type gs_partial_date_type;

/* What gs_parse_begin decided. */
typedef enum gs_begin
{
	GS_BEGIN_FAILED,			/* refused; *err says why */
	GS_BEGIN_DONE,				/* a pseudonym; *out is set */
	GS_BEGIN_GO_ON				/* b holds the squeezed input, for the type to parse */
} gs_begin;

/* common.c: shared parsing helpers */
extern gs_begin gs_parse_begin(const char *s, size_t len, const char *drop,
							   const char *hint, bool pseudonyms, char *b,
							   size_t bsize, size_t *n, uint64_t *out,
							   gs_error *err);
extern bool gs_check_value(const gs_type *type, uint64_t v,
						   const gs_context *ctx, gs_error *err);
extern size_t gs_squeeze(const char *s, size_t len, const char *drop,
						 char *out, size_t outsize);
extern bool gs_all_digits(const char *s, size_t len);
extern uint64_t gs_digits_value(const char *s, size_t len);
extern void gs_put_digits(char *buf, uint64_t v, int ndigits);
extern int	gs_count_char(const char *s, size_t len, char c);
extern void gs_fail(gs_error *err, const char *hint, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
/* Crockford's base32 digits (no I, L, O, U), the alphabet of pseudonyms */
extern const char gs_base32[];
extern bool gs_parse_pseudonym(const char *s, size_t len, uint64_t *out);
extern size_t gs_format_pseudonym(uint64_t v, char *buf);
extern bool gs_province_2004(int code);
extern bool gs_province_2025(int code);
extern int	gs_province_2004_to_2025(int code);
extern const char *gs_province_name(int code, int scheme);

/* The personal identification number's sex, from its century digit. */
#define GS_SEX_MALE		1
#define GS_SEX_FEMALE	2

/* personal_id.c */
extern int	gs_personal_id_birth_year(uint64_t v);
extern int	gs_personal_id_sex(uint64_t v);
extern int	gs_personal_id_province(uint64_t v);

/* phone_number.c */
extern int	gs_phone_number_country_code(uint64_t v);
extern size_t gs_phone_number_national(uint64_t v, char *buf);
extern int	gs_phone_number_is_mobile(uint64_t v);

#endif							/* GOVSHARE_TYPES_H */
