/*-------------------------------------------------------------------------
 *
 * icp_format.c
 *	  Parser, printer and checker of the ICP language (see icp_format.h and
 *	  the README section "ICP matching" for the language).
 *
 * No PostgreSQL headers here: the fuzz harness links this file alone.
 *
 *-------------------------------------------------------------------------
 */
#include "icp_alloc.h"
#include "icp_format.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Growable arrays
 * ------------------------------------------------------------------------
 */

static bool
grow(void **items, int *cap, int need, size_t itemsize)
{
	int			newcap;

	if (need <= *cap)
		return true;
	newcap = *cap > 0 ? *cap : 8;
	while (newcap < need)
		newcap *= 2;
	*items = *items ? icp_realloc(*items, (size_t) newcap * itemsize)
		: icp_alloc((size_t) newcap * itemsize);
	*cap = newcap;
	return true;
}

typedef struct StrBuf
{
	char	   *data;
	int			len;
	int			cap;
} StrBuf;

static void
buf_append(StrBuf *b, const char *s, size_t n)
{
	grow((void **) &b->data, &b->cap, b->len + (int) n + 1, 1);
	memcpy(b->data + b->len, s, n);
	b->len += (int) n;
	b->data[b->len] = '\0';
}

static void
buf_puts(StrBuf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

/* ------------------------------------------------------------------------
 * Lexer
 * ------------------------------------------------------------------------
 */

typedef enum
{
	T_EOF,
	T_WORD,						/* bare identifier: [A-Za-z_][A-Za-z0-9_]* */
	T_QUOTED_NAME,				/* "..." */
	T_STRING,					/* '...' */
	T_NUMBER,
	T_SEMI,
	T_LPAREN,
	T_RPAREN,
	T_COMMA,
	T_DOT,
	T_DOTDOT,
	T_OP						/* = != <> < <= > >= ~* !~* */
} TokType;

typedef struct Token
{
	TokType		type;
	int			start;			/* byte offset */
	int			len;			/* bytes of source */
	char	   *str;			/* decoded T_STRING / T_QUOTED_NAME / value */
	int			strlen;
	double		num;
	int			op;				/* ICP_OP_*, or OP_MATCH / OP_NOMATCH */
} Token;

#define OP_MATCH	100
#define OP_NOMATCH	101

/* A temporary expression tree, flattened into prefix order per criterion. */
typedef struct TNode
{
	IcpNode		n;
	struct TNode **kids;
	int			nkids;
	int			kidcap;
} TNode;

typedef struct Parser
{
	const char *s;
	int			len;
	int			pos;
	IcpError   *err;
	bool		failed;
	int			depth;
	bool		condition;		/* parsing a condition, not an ICP */

	IcpCriterion *crit;
	int			ncrit;
	int			critcap;
	IcpNode    *nodes;
	int			nnodes;
	int			nodecap;
	IcpValue   *values;
	int			nvalues;
	int			valuecap;
	char	   *pool;
	int			poollen;
	int			poolcap;

	/* every TNode and decoded string, freed at the end */
	void	  **garbage;
	int			ngarbage;
	int			garbagecap;
} Parser;

static void *
p_alloc(Parser *p, size_t size)
{
	void	   *ptr = icp_alloc(size);

	grow((void **) &p->garbage, &p->garbagecap, p->ngarbage + 1, sizeof(void *));
	p->garbage[p->ngarbage++] = ptr;
	return ptr;
}

#if defined(__GNUC__) || defined(__clang__)
static bool fail(Parser *p, int code, int pos, const char *hint, const char *fmt,...)
			__attribute__((format(printf, 5, 6)));
#endif

static bool
fail(Parser *p, int code, int pos, const char *hint, const char *fmt,...)
{
	va_list		ap;

	if (p->failed)
		return false;
	p->failed = true;
	p->err->code = code;
	p->err->pos = pos;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	snprintf(p->err->hint, sizeof(p->err->hint), "%s", hint ? hint : "");
	return false;
}

static const char *const keywords[] = {
	"must", "not", "in", "and", "or", "is", "true", "false", "present",
	"absent", "starts", "ends", "with", "contains", NULL
};

const char *const icp_condition_facts[] = {
	"email", "first_name", "last_name", "phone", "job_title", "seniority",
	"decision_maker", "company_name", "industry", "employees", "annual_revenue",
	"country", "city", "source_channel", "campaign_id", "consent", "budget", "need",
	"authority", "attributes", "email_domain",
	"score", "temperature", "stage", "grade", "fit", "days_in_stage", "prediction", NULL
};

static bool
is_keyword(const char *s, int len)
{
	for (int i = 0; keywords[i]; i++)
	{
		int			klen = (int) strlen(keywords[i]);
		bool		same = (klen == len);

		for (int j = 0; same && j < len; j++)
		{
			char		c = s[j];

			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			same = (c == keywords[i][j]);
		}
		if (same)
			return true;
	}
	return false;
}

static bool
tok_is(const Token *t, const char *kw)
{
	int			klen = (int) strlen(kw);

	if (t->type != T_WORD || t->len != klen)
		return false;
	for (int j = 0; j < klen; j++)
	{
		char		c = t->str[j];

		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != kw[j])
			return false;
	}
	return true;
}

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool
is_word_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool
is_word_char(char c)
{
	return is_word_start(c) || (c >= '0' && c <= '9');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skip white space and -- comments. */
static void
skip_space(Parser *p)
{
	for (;;)
	{
		while (p->pos < p->len && is_space(p->s[p->pos]))
			p->pos++;
		if (p->pos + 1 < p->len && p->s[p->pos] == '-' && p->s[p->pos + 1] == '-')
		{
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
			continue;
		}
		break;
	}
}

/*
 * Length of a number at s[0..n): [-+]?digits[.digits][(e|E)[-+]?digits], or
 * 0 if there is none.  Only this grammar is a number: never "inf", "nan" or
 * hex, whatever strtod would accept.
 */
int
icp_number_length(const char *s, int n)
{
	int			i = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	if (i >= n || !is_digit(s[i]))
		return 0;
	while (i < n && is_digit(s[i]))
		i++;
	if (i + 1 < n && s[i] == '.' && is_digit(s[i + 1]))
	{
		i++;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
	{
		int			j = i + 1;

		if (j < n && (s[j] == '-' || s[j] == '+'))
			j++;
		if (j < n && is_digit(s[j]))
		{
			while (j < n && is_digit(s[j]))
				j++;
			i = j;
		}
	}
	return i;
}

static bool
convert_number(Parser *p, const char *s, int n, int pos, double *out)
{
	char		tmp[64];

	if (n >= (int) sizeof(tmp))
		return fail(p, ICP_ERR_LIMIT, pos, "Write the number with at most 63 characters.",
					"number is too long");
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = strtod(tmp, NULL);
	if (!isfinite(*out))
		return fail(p, ICP_ERR_VALUE, pos, NULL, "number \"%s\" is out of range", tmp);
	if (*out == 0)
		*out = 0;				/* no negative zero */
	return true;
}

/* Decode a quoted string or name starting at the quote; doubled quotes escape. */
static bool
lex_quoted(Parser *p, Token *t, char quote)
{
	int			start = p->pos;
	char	   *out;
	int			n = 0;

	p->pos++;
	out = p_alloc(p, (size_t) (p->len - start) + 1);
	for (;;)
	{
		if (p->pos >= p->len)
			return fail(p, ICP_ERR_SYNTAX, start,
						quote == '\'' ? "Close the string with a single quote; write '' for a quote inside it."
						: "Close the name with a double quote; write \"\" for a quote inside it.",
						"unterminated %s", quote == '\'' ? "quoted string" : "quoted name");
		if (p->s[p->pos] == quote)
		{
			if (p->pos + 1 < p->len && p->s[p->pos + 1] == quote)
			{
				out[n++] = quote;
				p->pos += 2;
				continue;
			}
			p->pos++;
			break;
		}
		out[n++] = p->s[p->pos++];
	}
	if (n > ICP_MAX_STRING)
		return fail(p, ICP_ERR_LIMIT, start, NULL,
					"%s is too long (%d bytes, at most %d)",
					quote == '\'' ? "string" : "name", n, ICP_MAX_STRING);
	t->str = out;
	t->strlen = n;
	t->type = quote == '\'' ? T_STRING : T_QUOTED_NAME;
	t->len = p->pos - start;
	return true;
}

static bool
next_token(Parser *p, Token *t)
{
	const char *s;
	int			rest;

	memset(t, 0, sizeof(*t));
	skip_space(p);
	t->start = p->pos;
	if (p->pos >= p->len)
	{
		t->type = T_EOF;
		return true;
	}
	s = p->s + p->pos;
	rest = p->len - p->pos;

	if (is_word_start(s[0]))
	{
		int			n = 1;

		while (n < rest && is_word_char(s[n]))
			n++;
		t->type = T_WORD;
		t->str = (char *) s;
		t->strlen = t->len = n;
		p->pos += n;
		return true;
	}
	if (s[0] == '\'' || s[0] == '"')
		return lex_quoted(p, t, s[0]);
	if (is_digit(s[0]) || ((s[0] == '-' || s[0] == '+') && rest > 1 && is_digit(s[1])))
	{
		int			n = icp_number_length(s, rest);

		t->type = T_NUMBER;
		t->len = n;
		p->pos += n;
		return convert_number(p, s, n, t->start, &t->num);
	}

	t->len = 1;
	switch (s[0])
	{
		case ';':
			t->type = T_SEMI;
			break;
		case '(':
			t->type = T_LPAREN;
			break;
		case ')':
			t->type = T_RPAREN;
			break;
		case ',':
			t->type = T_COMMA;
			break;
		case '.':
			if (rest > 1 && s[1] == '.')
			{
				t->type = T_DOTDOT;
				t->len = 2;
			}
			else
				t->type = T_DOT;
			break;
		case '=':
			t->type = T_OP;
			t->op = ICP_OP_EQ;
			break;
		case '<':
			t->type = T_OP;
			if (rest > 1 && s[1] == '=')
				t->op = ICP_OP_LE, t->len = 2;
			else if (rest > 1 && s[1] == '>')
				t->op = ICP_OP_NE, t->len = 2;
			else
				t->op = ICP_OP_LT;
			break;
		case '>':
			t->type = T_OP;
			if (rest > 1 && s[1] == '=')
				t->op = ICP_OP_GE, t->len = 2;
			else
				t->op = ICP_OP_GT;
			break;
		case '~':
			if (rest > 1 && s[1] == '*')
			{
				t->type = T_OP;
				t->op = OP_MATCH;
				t->len = 2;
				break;
			}
			return fail(p, ICP_ERR_SYNTAX, t->start,
						"Patterns are case-insensitive: write ~* 'pattern'.",
						"unexpected \"~\"");
		case '!':
			if (rest > 1 && s[1] == '=')
			{
				t->type = T_OP;
				t->op = ICP_OP_NE;
				t->len = 2;
				break;
			}
			if (rest > 2 && s[1] == '~' && s[2] == '*')
			{
				t->type = T_OP;
				t->op = OP_NOMATCH;
				t->len = 3;
				break;
			}
			return fail(p, ICP_ERR_SYNTAX, t->start, NULL, "unexpected \"!\"");
		case '\0':
			return fail(p, ICP_ERR_SYNTAX, t->start, NULL,
						"ICP text must not contain a zero byte");
		default:
			{
				/* one whole UTF-8 character, for the message */
				int			n = 1;

				while (n < rest && n < 4 && ((unsigned char) s[n] & 0xC0) == 0x80)
					n++;
				return fail(p, ICP_ERR_SYNTAX, t->start, NULL,
							"unexpected character \"%.*s\"", n, s);
			}
	}
	p->pos += t->len;
	return true;
}

static bool
peek_token(Parser *p, Token *t)
{
	int			save = p->pos;
	bool		ok = next_token(p, t);

	p->pos = save;
	return ok;
}

/*
 * A value in a set or after = / != : a quoted string, or a bare run of
 * characters up to white space or one of , ( ) ; ' "  (so competitor.com and
 * e-commerce need no quotes).  A bare run that is a number is a number.
 */
static bool
lex_value(Parser *p, Token *t)
{
	const char *s;
	int			n = 0;

	memset(t, 0, sizeof(*t));
	skip_space(p);
	t->start = p->pos;
	if (p->pos < p->len && (p->s[p->pos] == '\''))
		return lex_quoted(p, t, '\'');
	s = p->s + p->pos;
	while (p->pos + n < p->len)
	{
		char		c = s[n];

		if (is_space(c) || c == ',' || c == '(' || c == ')' || c == ';' ||
			c == '\'' || c == '"' || c == '\0')
			break;
		n++;
	}
	if (n == 0)
		return fail(p, ICP_ERR_SYNTAX, t->start,
					"Write a value: a number, a word such as saas, or a quoted string such as 'New York'.",
					"expected a value");
	if (n > ICP_MAX_STRING)
		return fail(p, ICP_ERR_LIMIT, t->start, NULL,
					"value is too long (%d bytes, at most %d)", n, ICP_MAX_STRING);
	p->pos += n;
	t->len = n;
	if (icp_number_length(s, n) == n)
	{
		t->type = T_NUMBER;
		return convert_number(p, s, n, t->start, &t->num);
	}
	t->type = T_STRING;
	t->str = (char *) s;
	t->strlen = n;
	return true;
}

/* ------------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------------
 */

static uint32_t
pool_add(Parser *p, const char *s, int n)
{
	uint32_t	off = (uint32_t) p->poollen;

	grow((void **) &p->pool, &p->poolcap, p->poollen + n + 1, 1);
	if (n > 0)
		memcpy(p->pool + p->poollen, s, n);
	p->poollen += n;
	return off;
}

static bool
add_value(Parser *p, const Token *t, int *index)
{
	IcpValue   *v;

	if (p->nvalues >= ICP_MAX_VALUES)
		return fail(p, ICP_ERR_LIMIT, t->start, NULL,
					"too many values in the ICP (at most %d)", ICP_MAX_VALUES);
	grow((void **) &p->values, &p->valuecap, p->nvalues + 1, sizeof(IcpValue));
	v = &p->values[p->nvalues];
	memset(v, 0, sizeof(*v));
	if (t->type == T_NUMBER)
	{
		v->type = ICP_V_NUMBER;
		v->num = t->num;
	}
	else
	{
		v->type = ICP_V_STRING;
		v->len = (uint32_t) t->strlen;
		v->off = pool_add(p, t->str, t->strlen);
	}
	*index = p->nvalues++;
	return true;
}

static TNode *
new_tnode(Parser *p, uint8_t type)
{
	TNode	   *n = p_alloc(p, sizeof(TNode));

	n->n.type = type;
	return n;
}

static void
add_kid(Parser *p, TNode *parent, TNode *kid)
{
	/* flatten: (a and b) and c is a and b and c */
	if (kid->n.type == parent->n.type &&
		(kid->n.type == ICP_N_AND || kid->n.type == ICP_N_OR))
	{
		for (int i = 0; i < kid->nkids; i++)
			add_kid(p, parent, kid->kids[i]);
		return;
	}
	if (parent->nkids >= parent->kidcap)
	{
		int			cap = parent->kidcap ? parent->kidcap * 2 : 4;
		TNode	  **kids = p_alloc(p, (size_t) cap * sizeof(TNode *));

		if (parent->nkids)
			memcpy(kids, parent->kids, (size_t) parent->nkids * sizeof(TNode *));
		parent->kids = kids;
		parent->kidcap = cap;
	}
	parent->kids[parent->nkids++] = kid;
}

/* A condition names the facts of a lead only; attributes alone has fields. */
static bool
check_condition_field(Parser *p, const char *path, int plen, int nseg, int start)
{
	int			first = (int) strnlen(path, plen);

	for (int i = 0; icp_condition_facts[i]; i++)
	{
		if ((int) strlen(icp_condition_facts[i]) != first ||
			memcmp(path, icp_condition_facts[i], first) != 0)
			continue;
		if (nseg > 1 && strcmp(icp_condition_facts[i], "attributes") != 0)
		{
			return fail(p, ICP_ERR_UNKNOWN_FACT, start,
						"Only attributes has fields below it, as in attributes.plan.",
						"fact \"%s\" has no fields", icp_condition_facts[i]);
		}
		return true;
	}
	return fail(p, ICP_ERR_UNKNOWN_FACT, start,
				"A condition tests a lead's columns (industry, country, ...), email_domain, attributes.<name>, score, temperature, stage, grade, fit, days_in_stage, prediction, or its activity: count(kind within 30 days), days_since_last(kind), never kind.",
				"unknown fact \"%.*s\"", first, path);
}

static bool
parse_field(Parser *p, TNode *n)
{
	Token		t;
	char		path[ICP_MAX_PATH * (ICP_MAX_NAME + 1)];
	int			plen = 0;
	int			nseg = 0;
	int			start = -1;

	for (;;)
	{
		if (!next_token(p, &t))
			return false;
		if (start < 0)
			start = t.start;
		if (t.type == T_WORD && is_keyword(t.str, t.strlen) && nseg == 0)
			return fail(p, ICP_ERR_SYNTAX, t.start,
						"Quote a field whose name is a keyword: \"in\".",
						"expected a field name, found keyword \"%.*s\"", t.strlen, t.str);
		if (t.type != T_WORD && t.type != T_QUOTED_NAME)
			return fail(p, ICP_ERR_SYNTAX, t.start,
						"A criterion starts with a field such as industry, employees or attributes.plan.",
						"expected a field name");
		if (t.strlen == 0)
			return fail(p, ICP_ERR_SYNTAX, t.start, NULL, "field name must not be empty");
		if (t.strlen > ICP_MAX_NAME)
			return fail(p, ICP_ERR_LIMIT, t.start, NULL,
						"field name is too long (%d bytes, at most %d)", t.strlen, ICP_MAX_NAME);
		if (nseg == ICP_MAX_PATH)
			return fail(p, ICP_ERR_LIMIT, t.start, NULL,
						"field path is too deep (at most %d names)", ICP_MAX_PATH);
		if (memchr(t.str, '\0', t.strlen))
			return fail(p, ICP_ERR_SYNTAX, t.start, NULL, "ICP text must not contain a zero byte");
		if (nseg > 0)
			path[plen++] = '\0';
		memcpy(path + plen, t.str, t.strlen);
		plen += t.strlen;
		nseg++;

		if (!peek_token(p, &t))
			return false;
		if (t.type != T_DOT)
			break;
		next_token(p, &t);
	}
	if (p->condition && !check_condition_field(p, path, plen, nseg, start))
		return false;
	n->n.field_off = pool_add(p, path, plen);
	n->n.field_len = (uint16_t) plen;
	return true;
}

static bool
expect_string(Parser *p, Token *t, const char *what)
{
	if (!next_token(p, t))
		return false;
	if (t->type != T_STRING)
		return fail(p, ICP_ERR_SYNTAX, t->start,
					"Quote it with single quotes, for example '(vp|head|chief)'.",
					"expected a quoted %s", what);
	return true;
}

/* The test after a field (or a fact), starting at token t; fills in n. */
static TNode *
parse_test(Parser *p, TNode *n, Token t)
{
	int			idx;

	if (tok_is(&t, "not") || tok_is(&t, "in"))
	{
		int			count = 0;
		int			first = -1;

		n->n.type = ICP_P_IN;
		if (tok_is(&t, "not"))
		{
			n->n.op = 1;
			if (!next_token(p, &t))
				return NULL;
			if (!tok_is(&t, "in"))
			{
				fail(p, ICP_ERR_SYNTAX, t.start, NULL, "expected \"in\" after \"not\"");
				return NULL;
			}
		}
		if (!next_token(p, &t))
			return NULL;
		if (t.type != T_LPAREN)
		{
			fail(p, ICP_ERR_SYNTAX, t.start,
				 "Write the set in parentheses: in (saas, fintech).",
				 "expected \"(\" after \"in\"");
			return NULL;
		}
		for (;;)
		{
			Token		v;

			if (!lex_value(p, &v))
				return NULL;
			if (count == ICP_MAX_SET)
			{
				fail(p, ICP_ERR_LIMIT, v.start, NULL,
					 "set has too many members (at most %d)", ICP_MAX_SET);
				return NULL;
			}
			if (!add_value(p, &v, &idx))
				return NULL;
			if (first < 0)
				first = idx;
			count++;
			if (!next_token(p, &t))
				return NULL;
			if (t.type == T_RPAREN)
				break;
			if (t.type != T_COMMA)
			{
				fail(p, ICP_ERR_SYNTAX, t.start,
					 "Separate members with commas and close the set with \")\".",
					 "expected \",\" or \")\" in set");
				return NULL;
			}
		}
		n->n.value = (uint32_t) first;
		n->n.count = (uint16_t) count;
	}
	else if (t.type == T_NUMBER)
	{
		Token		hi;

		n->n.type = ICP_P_RANGE;
		n->n.lo = t.num;
		if (!next_token(p, &hi))
			return NULL;
		if (hi.type != T_DOTDOT)
		{
			fail(p, ICP_ERR_SYNTAX, hi.start,
				 "A range is written low..high, for example employees 50..500.",
				 "expected \"..\" after number");
			return NULL;
		}
		if (!next_token(p, &hi))
			return NULL;
		if (hi.type != T_NUMBER)
		{
			fail(p, ICP_ERR_SYNTAX, hi.start,
				 "A range is written low..high; for an open range use >= or <=.",
				 "expected a number after \"..\"");
			return NULL;
		}
		if (hi.num < t.num)
		{
			fail(p, ICP_ERR_VALUE, hi.start, "Write the lower bound first.",
				 "range upper bound is below its lower bound");
			return NULL;
		}
		n->n.hi = hi.num;
	}
	else if (t.type == T_OP && (t.op == OP_MATCH || t.op == OP_NOMATCH))
	{
		Token		pat;

		n->n.type = ICP_P_REGEX;
		n->n.op = t.op == OP_MATCH ? 0 : 1;
		if (!expect_string(p, &pat, "regular expression") || !add_value(p, &pat, &idx))
			return NULL;
		n->n.value = (uint32_t) idx;
		n->n.count = 1;
	}
	else if (t.type == T_OP)
	{
		Token		v;

		n->n.type = ICP_P_CMP;
		n->n.op = (uint8_t) t.op;
		if (!lex_value(p, &v))
			return NULL;
		if (t.op != ICP_OP_EQ && t.op != ICP_OP_NE && v.type != T_NUMBER)
		{
			fail(p, ICP_ERR_SYNTAX, v.start,
				 "Only = and != compare text; use in (...), contains or ~* for other text tests.",
				 "expected a number after \"%.*s\"", t.len, p->s + t.start);
			return NULL;
		}
		if (!add_value(p, &v, &idx))
			return NULL;
		n->n.value = (uint32_t) idx;
		n->n.count = 1;
	}
	else if (tok_is(&t, "starts") || tok_is(&t, "ends") || tok_is(&t, "contains"))
	{
		Token		v;

		n->n.type = tok_is(&t, "starts") ? ICP_P_PREFIX
			: tok_is(&t, "ends") ? ICP_P_SUFFIX : ICP_P_CONTAINS;
		if (n->n.type != ICP_P_CONTAINS)
		{
			Token		w;

			if (!next_token(p, &w))
				return NULL;
			if (!tok_is(&w, "with"))
			{
				fail(p, ICP_ERR_SYNTAX, w.start, NULL, "expected \"with\" after \"%.*s\"",
					 t.len, p->s + t.start);
				return NULL;
			}
		}
		if (!lex_value(p, &v))
			return NULL;
		if (v.type == T_NUMBER)
		{
			/* "contains 42" means the characters 42 */
			v.type = T_STRING;
			v.str = (char *) p->s + v.start;
			v.strlen = v.len;
		}
		if (!add_value(p, &v, &idx))
			return NULL;
		n->n.value = (uint32_t) idx;
		n->n.count = 1;
	}
	else if (tok_is(&t, "is"))
	{
		Token		w;

		n->n.type = ICP_P_IS;
		if (!next_token(p, &w))
			return NULL;
		if (tok_is(&w, "true"))
			n->n.op = ICP_IS_TRUE;
		else if (tok_is(&w, "false"))
			n->n.op = ICP_IS_FALSE;
		else if (tok_is(&w, "present"))
			n->n.op = ICP_IS_PRESENT;
		else if (tok_is(&w, "absent"))
			n->n.op = ICP_IS_ABSENT;
		else
		{
			fail(p, ICP_ERR_SYNTAX, w.start, NULL,
				 "expected true, false, present or absent after \"is\"");
			return NULL;
		}
	}
	else
	{
		fail(p, ICP_ERR_SYNTAX, t.start,
			 "After a field comes a test: in (...), not in (...), 50..500, >= 10, = 'x', ~* 'pattern', starts with 'x', ends with 'x', contains 'x', is true, is present.",
			 "expected a test after the field name");
		return NULL;
	}
	return n;
}

/*
 * An activity kind in a condition: a bare or quoted kind name (lower case
 * letters, digits and _, starting with a letter, at most 63 bytes), or the
 * bare word any for every kind (kept as the empty string).
 */
static bool
parse_kind(Parser *p, TNode *n)
{
	Token		t;
	const char *k;
	int			len;

	if (!next_token(p, &t))
		return false;
	if (t.type == T_WORD && tok_is(&t, "any"))
	{
		n->n.field_off = pool_add(p, "", 0);
		n->n.field_len = 0;
		return true;
	}
	if (t.type != T_WORD && t.type != T_STRING)
		return fail(p, ICP_ERR_SYNTAX, t.start,
					"Name an activity kind, such as webinar, or write any for every kind.",
					"expected an activity kind");
	k = t.str;
	len = t.strlen;
	if (len < 1 || len > 63 || !(k[0] >= 'a' && k[0] <= 'z'))
		return fail(p, ICP_ERR_VALUE, t.start,
					"Activity kinds are lower-case names of at most 63 characters, such as email_click.",
					"\"%.*s\" is not an activity kind", len > 64 ? 64 : len, k);
	for (int i = 0; i < len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return fail(p, ICP_ERR_VALUE, t.start,
						"Activity kinds are lower-case names of at most 63 characters, such as email_click.",
						"\"%.*s\" is not an activity kind", len, k);
	n->n.field_off = pool_add(p, k, len);
	n->n.field_len = (uint16_t) len;
	return true;
}

static const struct
{
	const char *name;
	double		seconds;
}			window_units[] = {
	{"second", 1}, {"seconds", 1}, {"minute", 60}, {"minutes", 60}, {"hour", 3600}, {"hours", 3600},
	{"day", 86400}, {"days", 86400}, {"week", 604800}, {"weeks", 604800}, {NULL, 0}
};

/* within N unit: a window of at least a second and at most ten years */
static bool
parse_window(Parser *p, TNode *n)
{
	Token		num;
	Token		unit;

	if (!next_token(p, &num))
		return false;
	if (num.type != T_NUMBER)
		return fail(p, ICP_ERR_SYNTAX, num.start,
					"Write the window as a number and a unit: within 30 days.",
					"expected a number after \"within\"");
	if (!next_token(p, &unit))
		return false;
	for (int i = 0; window_units[i].name; i++)
		if (tok_is(&unit, window_units[i].name))
		{
			double		seconds = num.num * window_units[i].seconds;

			if (num.num <= 0)
				return fail(p, ICP_ERR_VALUE, num.start,
							"A window reaches back from now: give it a positive length.",
							"window must be longer than zero");
			if (seconds < 1 || seconds > CONDITION_MAX_WINDOW)
				return fail(p, ICP_ERR_VALUE, num.start, NULL,
							"window must be between 1 second and 3650 days");
			n->n.lo = num.num;
			n->n.hi = window_units[i].seconds;
			return true;
		}
	return fail(p, ICP_ERR_SYNTAX, unit.start,
				"The units are seconds, minutes, hours, days and weeks.",
				"expected a unit of time after the number");
}

/* The tests a number about activity takes. */
static bool
numeric_test(const Parser *p, const TNode *t)
{
	const IcpNode *n = &t->n;

	switch (n->type)
	{
		case ICP_P_IN:
			for (int i = 0; i < n->count; i++)
				if (p->values[n->value + i].type != ICP_V_NUMBER)
					return false;
			return true;
		case ICP_P_CMP:
			return p->values[n->value].type == ICP_V_NUMBER;
		case ICP_P_RANGE:
			return true;
		case ICP_P_IS:
			return n->op == ICP_IS_PRESENT || n->op == ICP_IS_ABSENT;
		default:
			return false;
	}
}

/*
 * count(kind [within N unit]) TEST, days_since_last(kind) TEST: a number
 * about the lead's activity; the word and the "(" are read.
 */
static TNode *
parse_activity_fact(Parser *p, uint8_t fact)
{
	TNode	   *n = new_tnode(p, ICP_N_FACT);
	TNode	   *test = new_tnode(p, 0);
	Token		t;
	int			at;

	n->n.op = fact;
	if (!parse_kind(p, n) || !next_token(p, &t))
		return NULL;
	if (tok_is(&t, "within"))
	{
		if (fact != ICP_FACT_COUNT)
		{
			fail(p, ICP_ERR_SYNTAX, t.start,
				 "days_since_last(kind) counts from the latest activity of the kind, however old.",
				 "days_since_last takes no window");
			return NULL;
		}
		if (!parse_window(p, n) || !next_token(p, &t))
			return NULL;
	}
	if (t.type != T_RPAREN)
	{
		fail(p, ICP_ERR_SYNTAX, t.start,
			 fact == ICP_FACT_COUNT ? "Write count(kind) or count(kind within 30 days)."
			 : "Write days_since_last(kind) or days_since_last(any).",
			 "expected \")\"");
		return NULL;
	}
	test->n.field_off = pool_add(p, "", 0);
	test->n.field_len = 0;
	if (!next_token(p, &t))
		return NULL;
	at = t.start;
	if (!parse_test(p, test, t))
		return NULL;
	if (!numeric_test(p, test))
	{
		fail(p, ICP_ERR_SYNTAX, at,
			 "Compare it with =, !=, <, <=, >, >=, in (1, 2), a range such as 1..5, or is present.",
			 "%s is a number", fact == ICP_FACT_COUNT ? "count(...)" : "days_since_last(...)");
		return NULL;
	}
	add_kid(p, n, test);
	return n;
}

static TNode *
parse_predicate(Parser *p)
{
	TNode	   *n;
	Token		t;

	if (p->condition)
	{
		int			save = p->pos;
		Token		t2;

		if (!next_token(p, &t))
			return NULL;
		if (tok_is(&t, "never"))
		{
			n = new_tnode(p, ICP_P_NEVER);
			return parse_kind(p, n) ? n : NULL;
		}
		if (tok_is(&t, "count") || tok_is(&t, "days_since_last"))
		{
			uint8_t		fact = tok_is(&t, "count") ? ICP_FACT_COUNT : ICP_FACT_DAYS_SINCE;

			if (!peek_token(p, &t2))
				return NULL;
			if (t2.type == T_LPAREN)
			{
				next_token(p, &t2);
				return parse_activity_fact(p, fact);
			}
		}
		p->pos = save;
	}
	n = new_tnode(p, 0);
	if (!parse_field(p, n) || !next_token(p, &t))
		return NULL;
	return parse_test(p, n, t);
}

static TNode *parse_or(Parser *p);

static TNode *
parse_unary(Parser *p)
{
	Token		t;
	TNode	   *n;

	if (!peek_token(p, &t))
		return NULL;
	if (tok_is(&t, "not") || t.type == T_LPAREN)
	{
		if (++p->depth > ICP_MAX_DEPTH)
		{
			fail(p, ICP_ERR_LIMIT, t.start, NULL,
				 "criterion is nested too deeply (at most %d levels)", ICP_MAX_DEPTH);
			return NULL;
		}
		next_token(p, &t);
		if (t.type == T_LPAREN)
		{
			Token		r;

			n = parse_or(p);
			if (!n || !next_token(p, &r))
				return NULL;
			if (r.type != T_RPAREN)
			{
				fail(p, ICP_ERR_SYNTAX, r.start, "Close each \"(\" with \")\".",
					 "expected \")\"");
				return NULL;
			}
		}
		else
		{
			TNode	   *kid = parse_unary(p);

			if (!kid)
				return NULL;
			n = new_tnode(p, ICP_N_NOT);
			add_kid(p, n, kid);
		}
		p->depth--;
		return n;
	}
	return parse_predicate(p);
}

static TNode *
parse_connective(Parser *p, uint8_t type)
{
	const char *word = type == ICP_N_OR ? "or" : "and";
	TNode	   *first = type == ICP_N_OR ? parse_connective(p, ICP_N_AND) : parse_unary(p);
	TNode	   *group = NULL;
	Token		t;

	if (!first)
		return NULL;
	for (;;)
	{
		TNode	   *next;

		if (!peek_token(p, &t))
			return NULL;
		if (!tok_is(&t, word))
			break;
		next_token(p, &t);
		next = type == ICP_N_OR ? parse_connective(p, ICP_N_AND) : parse_unary(p);
		if (!next)
			return NULL;
		if (!group)
		{
			group = new_tnode(p, type);
			add_kid(p, group, first);
		}
		add_kid(p, group, next);
	}
	return group ? group : first;
}

static TNode *
parse_or(Parser *p)
{
	return parse_connective(p, ICP_N_OR);
}

/* Append a tree to the node array in prefix order; returns its size. */
static int
emit(Parser *p, TNode *n)
{
	int			at = p->nnodes;
	int			size = 1;

	if (p->nnodes >= ICP_MAX_NODES)
	{
		fail(p, ICP_ERR_LIMIT, -1, "Split the profile, or use in (...) lists instead of many or-ed tests.",
			 "ICP has too many tests (at most %d)", ICP_MAX_NODES);
		return -1;
	}
	grow((void **) &p->nodes, &p->nodecap, p->nnodes + 1, sizeof(IcpNode));
	p->nodes[p->nnodes++] = n->n;
	if (n->n.type == ICP_N_AND || n->n.type == ICP_N_OR || n->n.type == ICP_N_NOT ||
		n->n.type == ICP_N_FACT)
	{
		for (int i = 0; i < n->nkids; i++)
		{
			int			s = emit(p, n->kids[i]);

			if (s < 0)
				return -1;
			size += s;
		}
		if (n->n.type == ICP_N_AND || n->n.type == ICP_N_OR)
			p->nodes[at].count = (uint16_t) n->nkids;
	}
	p->nodes[at].size = (uint16_t) size;
	return size;
}

static bool
parse_criterion(Parser *p)
{
	IcpCriterion c;
	Token		t;
	TNode	   *expr;
	int			root = p->nnodes;

	memset(&c, 0, sizeof(c));
	if (!peek_token(p, &t))
		return false;
	if (p->ncrit >= ICP_MAX_CRITERIA)
		return fail(p, ICP_ERR_LIMIT, t.start, NULL,
					"ICP has too many criteria (at most %d)", ICP_MAX_CRITERIA);
	if (tok_is(&t, "must"))
	{
		Token		t2;

		next_token(p, &t);
		c.kind = ICP_MUST;
		if (!peek_token(p, &t2))
			return false;
		if (tok_is(&t2, "not"))
		{
			next_token(p, &t2);
			c.kind = ICP_MUST_NOT;
		}
	}
	p->depth = 0;
	expr = parse_or(p);
	if (!expr)
		return false;
	if (emit(p, expr) < 0)
		return false;
	c.root = (uint16_t) root;

	if (!peek_token(p, &t))
		return false;
	if (t.type == T_NUMBER)
	{
		next_token(p, &t);
		if (c.kind != ICP_WEIGHTED)
			return fail(p, ICP_ERR_SYNTAX, t.start,
						"A must or must not criterion sets fit to 0 when it fails; drop the weight.",
						"knock-out criterion takes no weight");
		if (fabs(t.num) > ICP_MAX_WEIGHT)
			return fail(p, ICP_ERR_VALUE, t.start, NULL,
						"weight is out of range (at most %g either side of 0)", ICP_MAX_WEIGHT);
		c.weight = t.num;
		if (!peek_token(p, &t))
			return false;
	}
	else if (c.kind == ICP_WEIGHTED)
		return fail(p, ICP_ERR_SYNTAX, t.start,
					"End each criterion with its weight, as in industry in (saas) 30, or make it a knock-out with must or must not.",
					"expected a weight after the criterion");

	if (t.type != T_SEMI && t.type != T_EOF)
		return fail(p, ICP_ERR_SYNTAX, t.start,
					"Separate criteria with \";\".",
					"expected \";\" or end of input after the criterion");
	grow((void **) &p->crit, &p->critcap, p->ncrit + 1, sizeof(IcpCriterion));
	p->crit[p->ncrit++] = c;
	return true;
}

static void
parser_cleanup(Parser *p)
{
	for (int i = 0; i < p->ngarbage; i++)
		icp_free(p->garbage[i]);
	if (p->garbage)
		icp_free(p->garbage);
	if (p->crit)
		icp_free(p->crit);
	if (p->nodes)
		icp_free(p->nodes);
	if (p->values)
		icp_free(p->values);
	if (p->pool)
		icp_free(p->pool);
}

/* An ICP: criteria separated by ";". */
static bool
parse_criteria(Parser *p)
{
	Token		t;

	for (;;)
	{
		if (!peek_token(p, &t))
			return false;
		if (t.type == T_EOF)
			return true;
		if (t.type == T_SEMI)
			return fail(p, ICP_ERR_SYNTAX, t.start, "Remove the extra \";\".", "empty criterion");
		if (!parse_criterion(p))
			return false;
		next_token(p, &t);		/* the ; or end */
		if (t.type == T_EOF)
			return true;
	}
}

/* A condition: one expression, then the end of the text. */
static bool
parse_condition(Parser *p)
{
	IcpCriterion c;
	Token		t;
	TNode	   *expr;

	memset(&c, 0, sizeof(c));
	if (!peek_token(p, &t))
		return false;
	if (t.type == T_EOF)
		return fail(p, ICP_ERR_SYNTAX, t.start,
					"Write a test, for example: industry = fintech and count(webinar within 30 days) >= 1.",
					"condition is empty");
	expr = parse_or(p);
	if (!expr || emit(p, expr) < 0 || !next_token(p, &t))
		return false;
	if (t.type == T_NUMBER)
		return fail(p, ICP_ERR_SYNTAX, t.start,
					"A condition is true or not; weights belong to ICPs.",
					"condition takes no weight");
	if (t.type != T_EOF)
		return fail(p, ICP_ERR_SYNTAX, t.start,
					"A condition is one test: combine tests with and, or, not and parentheses.",
					"expected \"and\", \"or\" or the end of the condition");
	c.kind = ICP_CONDITION;
	grow((void **) &p->crit, &p->critcap, 1, sizeof(IcpCriterion));
	p->crit[p->ncrit++] = c;
	return true;
}

static IcpHeader *
parse_text(const char *text, size_t len, size_t *out_len, IcpError *err, bool condition)
{
	Parser		p;
	IcpHeader  *h = NULL;
	size_t		size;
	char	   *w;
	double		positive = 0;
	bool		any_weighted = false;
	size_t		max_text = condition ? CONDITION_MAX_TEXT : ICP_MAX_TEXT;

	memset(&p, 0, sizeof(p));
	memset(err, 0, sizeof(*err));
	err->pos = -1;
	p.s = text;
	p.err = err;
	p.condition = condition;
	if (len > max_text)
	{
		fail(&p, ICP_ERR_LIMIT, -1, NULL, "%s text is too long (%zu bytes, at most %zu)",
			 condition ? "condition" : "ICP", len, max_text);
		return NULL;
	}
	p.len = (int) len;
	{
		const char *nul = memchr(text, '\0', len);

		if (nul)
		{
			fail(&p, ICP_ERR_SYNTAX, (int) (nul - text), NULL,
				 "ICP text must not contain a zero byte");
			return NULL;
		}
	}

	if (!(condition ? parse_condition(&p) : parse_criteria(&p)))
		goto done;
	if (p.ncrit == 0)
	{
		fail(&p, ICP_ERR_SYNTAX, 0,
			 "Write at least one criterion, for example: industry in (saas, fintech) 30.",
			 "ICP has no criteria");
		goto done;
	}
	for (int i = 0; i < p.ncrit; i++)
	{
		if (p.crit[i].kind != ICP_WEIGHTED)
			continue;
		any_weighted = true;
		if (p.crit[i].weight > 0)
			positive += p.crit[i].weight;
	}
	if (any_weighted && positive <= 0)
	{
		fail(&p, ICP_ERR_VALUE, -1,
			 "Fit is matched weight over total positive weight; give at least one criterion a positive weight.",
			 "ICP has no criterion with a positive weight");
		goto done;
	}

	size = sizeof(IcpHeader) + (size_t) p.ncrit * sizeof(IcpCriterion)
		+ (size_t) p.nnodes * sizeof(IcpNode) + (size_t) p.nvalues * sizeof(IcpValue)
		+ (size_t) p.poollen;
	h = icp_alloc(size);
	h->version = ICP_FORMAT_VERSION;
	h->ncriteria = (uint16_t) p.ncrit;
	h->nnodes = (uint16_t) p.nnodes;
	h->nvalues = (uint32_t) p.nvalues;
	h->pool_len = (uint32_t) p.poollen;
	h->total_positive = positive;
	w = (char *) h + sizeof(IcpHeader);
	memcpy(w, p.crit, (size_t) p.ncrit * sizeof(IcpCriterion));
	w += (size_t) p.ncrit * sizeof(IcpCriterion);
	if (p.nnodes)
		memcpy(w, p.nodes, (size_t) p.nnodes * sizeof(IcpNode));
	w += (size_t) p.nnodes * sizeof(IcpNode);
	if (p.nvalues)
		memcpy(w, p.values, (size_t) p.nvalues * sizeof(IcpValue));
	w += (size_t) p.nvalues * sizeof(IcpValue);
	if (p.poollen)
		memcpy(w, p.pool, (size_t) p.poollen);
	*out_len = size;

done:
	parser_cleanup(&p);
	return h;
}

IcpHeader *
icp_parse(const char *text, size_t len, size_t *out_len, IcpError *err)
{
	return parse_text(text, len, out_len, err, false);
}

IcpHeader *
icp_parse_condition(const char *text, size_t len, size_t *out_len, IcpError *err)
{
	return parse_text(text, len, out_len, err, true);
}

/* ------------------------------------------------------------------------
 * Printer: the canonical text
 * ------------------------------------------------------------------------
 */

static void
print_number(StrBuf *b, double d)
{
	char		tmp[40];

	/* whole numbers in full, as people write weights and head counts */
	if (d == floor(d) && fabs(d) < 1e15)
	{
		snprintf(tmp, sizeof(tmp), "%.0f", d);
		buf_puts(b, tmp);
		return;
	}
	/* otherwise the shortest %g that reads back as the same double */
	for (int prec = 1; prec <= 17; prec++)
	{
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	buf_puts(b, tmp);
}

static void
print_quoted(StrBuf *b, const char *s, int n, char quote)
{
	char		q = quote;

	buf_append(b, &q, 1);
	for (int i = 0; i < n; i++)
	{
		buf_append(b, s + i, 1);
		if (s[i] == quote)
			buf_append(b, s + i, 1);
	}
	buf_append(b, &q, 1);
}

static void
print_field(StrBuf *b, const IcpHeader *h, const IcpNode *n)
{
	const char *s = ICP_POOL(h) + n->field_off;
	int			len = n->field_len;
	int			i = 0;

	if (len == 0)
		return;					/* the test of a fact node */
	while (i <= len)
	{
		int			j = i;
		bool		bare;

		while (j < len && s[j] != '\0')
			j++;
		bare = j > i && is_word_start(s[i]) && !is_keyword(s + i, j - i);
		for (int k = i; bare && k < j; k++)
			bare = is_word_char(s[k]);
		if (i > 0)
			buf_puts(b, ".");
		if (bare)
			buf_append(b, s + i, j - i);
		else
			print_quoted(b, s + i, j - i, '"');
		i = j + 1;
	}
}

static void
print_value(StrBuf *b, const IcpHeader *h, uint32_t index)
{
	const IcpValue *v = &ICP_VALUES(h)[index];

	if (v->type == ICP_V_NUMBER)
		print_number(b, v->num);
	else
		print_quoted(b, ICP_POOL(h) + v->off, (int) v->len, '\'');
}

/* An activity kind: bare, but quoted when it is the word any. */
static void
print_kind(StrBuf *b, const IcpHeader *h, const IcpNode *n)
{
	const char *k = ICP_POOL(h) + n->field_off;

	if (n->field_len == 0)
		buf_puts(b, "any");
	else if (n->field_len == 3 && memcmp(k, "any", 3) == 0)
		print_quoted(b, k, 3, '\'');
	else
		buf_append(b, k, n->field_len);
}

static int
precedence(const IcpNode *n)
{
	switch (n->type)
	{
		case ICP_N_OR:
			return 1;
		case ICP_N_AND:
			return 2;
		case ICP_N_NOT:
			return 3;
		default:
			return 4;
	}
}

static void
print_node(StrBuf *b, const IcpHeader *h, int at, int need)
{
	const IcpNode *n = &ICP_NODES(h)[at];
	bool		paren = precedence(n) < need;
	static const char *const cmp[] = {"=", "!=", "<", "<=", ">", ">="};
	static const char *const is[] = {"true", "false", "present", "absent"};

	if (paren)
		buf_puts(b, "(");
	switch (n->type)
	{
		case ICP_N_AND:
		case ICP_N_OR:
			{
				int			kid = at + 1;

				for (int i = 0; i < n->count; i++)
				{
					if (i > 0)
						buf_puts(b, n->type == ICP_N_AND ? " and " : " or ");
					print_node(b, h, kid, precedence(n) + 1);
					kid += ICP_NODES(h)[kid].size;
				}
			}
			break;
		case ICP_N_NOT:
			buf_puts(b, "not ");
			print_node(b, h, at + 1, 3);
			break;
		case ICP_P_IN:
			print_field(b, h, n);
			buf_puts(b, n->op ? " not in (" : " in (");
			for (int i = 0; i < n->count; i++)
			{
				if (i > 0)
					buf_puts(b, ", ");
				print_value(b, h, n->value + i);
			}
			buf_puts(b, ")");
			break;
		case ICP_P_CMP:
			print_field(b, h, n);
			buf_puts(b, " ");
			buf_puts(b, cmp[n->op]);
			buf_puts(b, " ");
			print_value(b, h, n->value);
			break;
		case ICP_P_RANGE:
			print_field(b, h, n);
			buf_puts(b, " ");
			print_number(b, n->lo);
			buf_puts(b, "..");
			print_number(b, n->hi);
			break;
		case ICP_P_REGEX:
			print_field(b, h, n);
			buf_puts(b, n->op ? " !~* " : " ~* ");
			print_value(b, h, n->value);
			break;
		case ICP_P_PREFIX:
		case ICP_P_SUFFIX:
		case ICP_P_CONTAINS:
			print_field(b, h, n);
			buf_puts(b, n->type == ICP_P_PREFIX ? " starts with "
					 : n->type == ICP_P_SUFFIX ? " ends with " : " contains ");
			print_value(b, h, n->value);
			break;
		case ICP_P_IS:
			print_field(b, h, n);
			buf_puts(b, " is ");
			buf_puts(b, is[n->op]);
			break;
		case ICP_N_FACT:
			buf_puts(b, n->op == ICP_FACT_COUNT ? "count(" : "days_since_last(");
			print_kind(b, h, n);
			if (n->hi > 0)
			{
				buf_puts(b, " within ");
				print_number(b, n->lo);
				buf_puts(b, " ");
				for (int i = 0; window_units[i].name; i += 2)
					if (window_units[i].seconds == n->hi)
						buf_puts(b, n->lo == 1 ? window_units[i].name : window_units[i + 1].name);
			}
			buf_puts(b, ")");
			print_node(b, h, at + 1, 0);
			break;
		case ICP_P_NEVER:
			buf_puts(b, "never ");
			print_kind(b, h, n);
			break;
	}
	if (paren)
		buf_puts(b, ")");
}

static void
print_criterion(StrBuf *b, const IcpHeader *h, int i)
{
	const IcpCriterion *c = &ICP_CRITERIA(h)[i];

	if (c->kind == ICP_CONDITION)
		print_node(b, h, c->root, 0);
	else if (c->kind == ICP_MUST)
	{
		StrBuf		e = {0};

		/* "must not ..." would read back as a must-not criterion */
		buf_append(&e, "", 0);
		print_node(&e, h, c->root, 0);
		buf_puts(b, "must ");
		if (strncmp(e.data, "not ", 4) == 0)
		{
			buf_puts(b, "(");
			buf_puts(b, e.data);
			buf_puts(b, ")");
		}
		else
			buf_puts(b, e.data);
		icp_free(e.data);
	}
	else if (c->kind == ICP_MUST_NOT)
	{
		buf_puts(b, "must not ");
		print_node(b, h, c->root, 0);
	}
	else
	{
		print_node(b, h, c->root, 0);
		buf_puts(b, " ");
		print_number(b, c->weight);
	}
}

char *
icp_print(const IcpHeader *h)
{
	StrBuf		b = {0};

	buf_append(&b, "", 0);
	for (int i = 0; i < h->ncriteria; i++)
	{
		if (i > 0)
			buf_puts(&b, "; ");
		print_criterion(&b, h, i);
	}
	return b.data;
}

char *
icp_print_criterion(const IcpHeader *h, int i)
{
	StrBuf		b = {0};

	buf_append(&b, "", 0);
	print_criterion(&b, h, i);
	return b.data;
}

/* ------------------------------------------------------------------------
 * Checker
 * ------------------------------------------------------------------------
 */

static int
corrupt(IcpError *err, const char *what)
{
	memset(err, 0, sizeof(*err));
	err->code = ICP_ERR_CORRUPT;
	err->pos = -1;
	snprintf(err->message, sizeof(err->message), "invalid ICP value: %s", what);
	return -1;
}

/* An activity kind of a condition, as parse_kind keeps it. */
static bool
valid_kind(const IcpHeader *h, const IcpNode *n)
{
	const char *k = ICP_POOL(h) + n->field_off;

	if (n->field_len > 63 || (uint64_t) n->field_off + n->field_len > h->pool_len)
		return false;
	if (n->field_len > 0 && !(k[0] >= 'a' && k[0] <= 'z'))
		return false;
	for (int i = 0; i < n->field_len; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') || k[i] == '_'))
			return false;
	return true;
}

static bool
valid_window(const IcpNode *n)
{
	bool		unit = false;

	if (n->lo == 0 && n->hi == 0)
		return n->op == ICP_FACT_COUNT || n->op == ICP_FACT_DAYS_SINCE;
	for (int i = 0; window_units[i].name; i++)
		unit |= window_units[i].seconds == n->hi;
	return n->op == ICP_FACT_COUNT && unit && isfinite(n->lo) && n->lo > 0 &&
		n->lo * n->hi >= 1 && n->lo * n->hi <= CONDITION_MAX_WINDOW;
}

static int check_node(const IcpHeader *h, int at, int end, int depth, bool condition,
					  bool fact_test, IcpError *err);

/* A fact node of a condition and its test. */
static int
check_fact(const IcpHeader *h, int at, int depth, IcpError *err)
{
	const IcpNode *n = &ICP_NODES(h)[at];
	const IcpNode *test;

	if (n->size != 2 || n->count != 0 || n->value != 0 || !valid_kind(h, n) || !valid_window(n))
		return corrupt(err, "bad activity fact");
	if (check_node(h, at + 1, at + 2, depth + 1, true, true, err) < 0)
		return -1;
	test = &ICP_NODES(h)[at + 1];
	switch (test->type)
	{
		case ICP_P_IN:
		case ICP_P_CMP:
			for (int i = 0; i < test->count; i++)
				if (ICP_VALUES(h)[test->value + i].type != ICP_V_NUMBER)
					return corrupt(err, "activity fact tested as text");
			return 0;
		case ICP_P_RANGE:
			return 0;
		case ICP_P_IS:
			if (test->op == ICP_IS_PRESENT || test->op == ICP_IS_ABSENT)
				return 0;
			break;
	}
	return corrupt(err, "activity fact tested as text");
}

static int
check_node(const IcpHeader *h, int at, int end, int depth, bool condition, bool fact_test,
		   IcpError *err)
{
	const IcpNode *n;

	if (depth > ICP_MAX_DEPTH + 2)
		return corrupt(err, "expression nested too deeply");
	if (at >= end)
		return corrupt(err, "expression runs past its criterion");
	n = &ICP_NODES(h)[at];
	if (n->size < 1 || at + n->size > end)
		return corrupt(err, "bad subtree size");

	if (n->type == ICP_N_FACT || n->type == ICP_P_NEVER)
	{
		if (!condition || fact_test)
			return corrupt(err, "activity test outside a condition");
		if (n->type == ICP_N_FACT)
			return check_fact(h, at, depth, err);
		if (n->size != 1 || n->op != 0 || n->count != 0 || n->value != 0 ||
			n->lo != 0 || n->hi != 0 || !valid_kind(h, n))
			return corrupt(err, "bad never test");
		return 0;
	}
	if (n->type == ICP_N_AND || n->type == ICP_N_OR || n->type == ICP_N_NOT)
	{
		int			kid = at + 1;
		int			nkids = 0;

		if (n->field_len != 0 || n->op != 0 || fact_test)
			return corrupt(err, "connective with a field");
		while (kid < at + n->size)
		{
			if (check_node(h, kid, at + n->size, depth + 1, condition, false, err) < 0)
				return -1;
			kid += ICP_NODES(h)[kid].size;
			nkids++;
		}
		if (kid != at + n->size)
			return corrupt(err, "children do not fill their parent");
		if (n->type == ICP_N_NOT ? nkids != 1 || n->count != 0 : nkids < 2 || n->count != nkids)
			return corrupt(err, "wrong number of operands");
		return 0;
	}

	if (n->size != 1)
		return corrupt(err, "test with children");
	if (fact_test)
	{
		if (n->field_len != 0 || n->field_off > h->pool_len)
			return corrupt(err, "activity fact's test with a field");
	}
	else if (n->field_len == 0 || (uint64_t) n->field_off + n->field_len > h->pool_len)
		return corrupt(err, "field outside the string pool");
	else
	{
		const char *f = ICP_POOL(h) + n->field_off;
		int			segs = 1;

		if (f[0] == '\0' || f[n->field_len - 1] == '\0')
			return corrupt(err, "empty field name");
		for (int i = 1; i < n->field_len; i++)
			if (f[i] == '\0')
			{
				if (f[i - 1] == '\0')
					return corrupt(err, "empty field name");
				segs++;
			}
		if (segs > ICP_MAX_PATH)
			return corrupt(err, "field path too deep");
	}

	switch (n->type)
	{
		case ICP_P_IN:
			if (n->op > 1 || n->count < 1 || n->count > ICP_MAX_SET)
				return corrupt(err, "bad set");
			break;
		case ICP_P_CMP:
			if (n->op > ICP_OP_GE || n->count != 1)
				return corrupt(err, "bad comparison");
			break;
		case ICP_P_RANGE:
			if (n->op != 0 || n->count != 0 || !isfinite(n->lo) || !isfinite(n->hi) || n->hi < n->lo)
				return corrupt(err, "bad range");
			return 0;
		case ICP_P_REGEX:
			if (n->op > 1 || n->count != 1)
				return corrupt(err, "bad pattern");
			break;
		case ICP_P_PREFIX:
		case ICP_P_SUFFIX:
		case ICP_P_CONTAINS:
			if (n->op != 0 || n->count != 1)
				return corrupt(err, "bad text test");
			break;
		case ICP_P_IS:
			if (n->op > ICP_IS_ABSENT || n->count != 0)
				return corrupt(err, "bad is test");
			return 0;
		default:
			return corrupt(err, "unknown node type");
	}
	if ((uint64_t) n->value + n->count > h->nvalues)
		return corrupt(err, "value index out of range");
	for (int i = 0; i < n->count; i++)
	{
		const IcpValue *v = &ICP_VALUES(h)[n->value + i];
		bool		need_string = n->type != ICP_P_IN && n->type != ICP_P_CMP;
		bool		need_number = n->type == ICP_P_CMP && n->op >= ICP_OP_LT;

		if (v->type == ICP_V_NUMBER)
		{
			if (need_string || !isfinite(v->num) || v->len || v->off)
				return corrupt(err, "bad number");
		}
		else if (v->type == ICP_V_STRING)
		{
			if (need_number || v->len > ICP_MAX_STRING ||
				(uint64_t) v->off + v->len > h->pool_len || v->num != 0)
				return corrupt(err, "bad string");
		}
		else
			return corrupt(err, "unknown value type");
	}
	return 0;
}

int
icp_check(const IcpHeader *h, size_t len, IcpError *err)
{
	size_t		size;
	double		positive = 0;
	bool		any_weighted = false;
	int			next_root = 0;

	if (len < sizeof(IcpHeader))
		return corrupt(err, "too short");
	if (h->version != ICP_FORMAT_VERSION)
		return corrupt(err, "unknown format version");
	if (h->reserved != 0 || h->padding != 0)
		return corrupt(err, "reserved bits set");
	if (h->ncriteria < 1 || h->ncriteria > ICP_MAX_CRITERIA ||
		h->nnodes < h->ncriteria || h->nnodes > ICP_MAX_NODES ||
		h->nvalues > ICP_MAX_VALUES || h->pool_len > ICP_MAX_TEXT)
		return corrupt(err, "counts out of range");
	size = sizeof(IcpHeader) + (size_t) h->ncriteria * sizeof(IcpCriterion)
		+ (size_t) h->nnodes * sizeof(IcpNode) + (size_t) h->nvalues * sizeof(IcpValue)
		+ h->pool_len;
	if (size != len)
		return corrupt(err, "length does not match its counts");

	for (int i = 0; i < h->ncriteria; i++)
	{
		const IcpCriterion *c = &ICP_CRITERIA(h)[i];
		int			end;

		if (c->kind > ICP_CONDITION || c->root != next_root ||
			(c->kind == ICP_CONDITION && h->ncriteria != 1))
			return corrupt(err, "bad criterion");
		if (c->kind == ICP_WEIGHTED)
		{
			if (!isfinite(c->weight) || fabs(c->weight) > ICP_MAX_WEIGHT)
				return corrupt(err, "bad weight");
			any_weighted = true;
			if (c->weight > 0)
				positive += c->weight;
		}
		else if (c->weight != 0)
			return corrupt(err, "knock-out with a weight");
		end = c->root + ICP_NODES(h)[c->root].size;
		if (end > h->nnodes || end <= c->root)
			return corrupt(err, "criterion outside the node array");
		if (check_node(h, c->root, end, 0, c->kind == ICP_CONDITION, false, err) < 0)
			return -1;
		next_root = end;
	}
	if (next_root != h->nnodes)
		return corrupt(err, "nodes outside every criterion");
	if (positive != h->total_positive || (any_weighted && positive <= 0))
		return corrupt(err, "bad total weight");
	return 0;
}
