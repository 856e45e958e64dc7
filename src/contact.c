/*-------------------------------------------------------------------------
 *
 * contact.c
 *	  Rules over a lead's contact data (see contact.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/formatting.h"

#include "contact.h"

int
email_domain_offset(const char *s, int len)
{
	for (int i = len - 1; i >= 0; i--)
	{
		if (s[i] == '@')
			return i == len - 1 ? -1 : i + 1;
	}
	return -1;
}

PG_FUNCTION_INFO_V1(lead_gen_email_domain);

/*
 * email_domain(text) -> text
 *
 * The lower-cased domain of an address, or NULL when it has none.
 */
Datum
lead_gen_email_domain(PG_FUNCTION_ARGS)
{
	text	   *email = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(email);
	int			len = VARSIZE_ANY_EXHDR(email);
	int			off = email_domain_offset(s, len);

	if (off < 0)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(asc_tolower(s + off, len - off)));
}
