/*-------------------------------------------------------------------------
 *
 * contact.h
 *	  Rules over a lead's contact data, for every part of lead_gen that
 *	  needs them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_CONTACT_H
#define LEAD_GEN_CONTACT_H

/*
 * The domain of an e-mail address of len bytes: the part after its last
 * '@'.  Returns its offset in s (its length is len - offset), or -1 when
 * the address has no '@' or nothing follows it.  Not folded: domains compare
 * case-insensitively (RFC 5321), which the caller sees to.
 */
extern int	email_domain_offset(const char *s, int len);

#endif							/* LEAD_GEN_CONTACT_H */
