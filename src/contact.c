/*-------------------------------------------------------------------------
 *
 * contact.c
 *	  Helpers over a lead's contact data.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/formatting.h"

PG_FUNCTION_INFO_V1(lead_gen_email_domain);

/*
 * email_domain(text) -> text
 *
 * The lower-cased part of an address after its last '@', or NULL when the
 * address has no '@' or nothing follows it.  Domains are compared
 * case-insensitively everywhere (RFC 5321), hence the folding.
 */
Datum
lead_gen_email_domain(PG_FUNCTION_ARGS)
{
	text	   *email = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(email);
	int			len = VARSIZE_ANY_EXHDR(email);
	int			at = -1;

	for (int i = len - 1; i >= 0; i--)
	{
		if (s[i] == '@')
		{
			at = i;
			break;
		}
	}
	if (at < 0 || at == len - 1)
		PG_RETURN_NULL();

	PG_RETURN_TEXT_P(cstring_to_text(asc_tolower(s + at + 1, len - at - 1)));
}
