/*-------------------------------------------------------------------------
 *
 * icp_format.h
 *	  The ideal customer profile (ICP): its binary format, and the parser
 *	  and printer of its text language.
 *
 * This layer is plain C with no PostgreSQL dependency, so the fuzz harness
 * under test/fuzz can drive the very same parser outside a server.  It
 * allocates through the host's allocator (icp_alloc.h), and reports errors
 * in an IcpError instead of throwing.
 *
 * A parsed ICP is one contiguous buffer:
 *
 *	 IcpHeader | IcpCriterion[ncriteria] | IcpNode[nnodes] |
 *	 IcpValue[nvalues] | string pool
 *
 * The first four bytes are left for the varlena header.  Each criterion's
 * expression is a tree stored in prefix order: a node is followed by its
 * children, and its "size" counts the nodes of its subtree, so evaluation
 * can skip a subtree in O(1).  Strings (field paths, set members, patterns)
 * live in the pool and are referenced by offset and length.  The buffer is
 * built zeroed and in a fixed order, so equal canonical text gives equal
 * bytes and equality is memcmp.
 *
 *-------------------------------------------------------------------------
 */
#ifndef LEAD_GEN_ICP_FORMAT_H
#define LEAD_GEN_ICP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define ICP_FORMAT_VERSION	1

/* Limits; exceeding one is an error (program_limit_exceeded). */
#define ICP_MAX_TEXT		100000	/* bytes of ICP text */
#define ICP_MAX_CRITERIA	256
#define ICP_MAX_NODES		4096	/* predicates and connectives, in all */
#define ICP_MAX_SET			1000	/* members of one "in" list */
#define ICP_MAX_VALUES		10000	/* set members and operands, in all */
#define ICP_MAX_STRING		1000	/* bytes of one string or pattern */
#define ICP_MAX_DEPTH		32		/* nesting of parentheses and "not" */
#define ICP_MAX_PATH		8		/* segments of a field path */
#define ICP_MAX_NAME		255		/* bytes of one path segment */
#define ICP_MAX_WEIGHT		1000000.0	/* |weight| */

/* criterion kinds */
#define ICP_WEIGHTED		0
#define ICP_MUST			1		/* fit is 0 unless it matches */
#define ICP_MUST_NOT		2		/* fit is 0 if it matches */
#define ICP_CONDITION		3		/* the one test of a condition: no weight */

/* A condition (lead_gen.condition) is one test, with no weight. */
#define CONDITION_MAX_TEXT	65536	/* bytes of condition text */
#define CONDITION_MAX_WINDOW (3650.0 * 86400.0)	/* seconds: ten years */

/* node types */
#define ICP_N_AND			1
#define ICP_N_OR			2
#define ICP_N_NOT			3
#define ICP_P_IN			4		/* op: 0 in, 1 not in */
#define ICP_P_CMP			5		/* op: ICP_OP_*; one value */
#define ICP_P_RANGE			6		/* num1..num2, inclusive */
#define ICP_P_REGEX			7		/* op: 0 ~*, 1 !~*; one string value */
#define ICP_P_PREFIX		8		/* starts with; one string value */
#define ICP_P_SUFFIX		9		/* ends with; one string value */
#define ICP_P_CONTAINS		10		/* contains; one string value */
#define ICP_P_IS			11		/* op: ICP_IS_* */

/*
 * Conditions only.  A fact node is a number about the lead's activity,
 * tested by its one child, a test whose field is empty.  op: ICP_FACT_*;
 * field: the activity kind (empty: any kind); lo and hi: the window as a
 * count and its unit in seconds (both 0: all time).
 */
#define ICP_N_FACT			12
#define ICP_P_NEVER			13		/* no activity of the kind in field (empty: any) */

#define ICP_FACT_COUNT		0		/* count(kind [within N unit]) */
#define ICP_FACT_DAYS_SINCE	1		/* days_since_last(kind) */

#define ICP_OP_EQ			0
#define ICP_OP_NE			1
#define ICP_OP_LT			2
#define ICP_OP_LE			3
#define ICP_OP_GT			4
#define ICP_OP_GE			5

#define ICP_IS_TRUE			0
#define ICP_IS_FALSE		1
#define ICP_IS_PRESENT		2
#define ICP_IS_ABSENT		3

/* value types */
#define ICP_V_NUMBER		1
#define ICP_V_STRING		2

typedef struct IcpHeader
{
	uint32_t	vl_len_;		/* varlena header, set by the host */
	uint8_t		version;		/* ICP_FORMAT_VERSION */
	uint8_t		reserved;		/* zero; for future formats */
	uint16_t	ncriteria;
	uint16_t	nnodes;
	uint16_t	padding;
	uint32_t	nvalues;
	uint32_t	pool_len;
	double		total_positive; /* sum of positive weights */
} IcpHeader;

typedef struct IcpCriterion
{
	uint8_t		kind;			/* ICP_WEIGHTED, ICP_MUST, ICP_MUST_NOT */
	uint8_t		padding[3];
	uint16_t	root;			/* index of the expression's first node */
	uint16_t	padding2;
	double		weight;			/* 0 for knock-outs */
} IcpCriterion;

typedef struct IcpNode
{
	uint8_t		type;			/* ICP_N_* or ICP_P_* */
	uint8_t		op;
	uint16_t	size;			/* nodes in this subtree, itself included */
	uint16_t	count;			/* children (and/or), values (in) */
	uint16_t	field_len;		/* bytes of the field path in the pool */
	uint32_t	field_off;		/* path segments separated by NUL bytes */
	uint32_t	value;			/* index of the first value */
	double		lo;				/* range bounds */
	double		hi;
} IcpNode;

typedef struct IcpValue
{
	uint8_t		type;			/* ICP_V_NUMBER or ICP_V_STRING */
	uint8_t		padding[3];
	uint32_t	len;			/* string: bytes in the pool */
	uint32_t	off;			/* string: offset in the pool */
	uint32_t	padding2;
	double		num;			/* number */
} IcpValue;

#define ICP_CRITERIA(h)	((const IcpCriterion *) ((const char *) (h) + sizeof(IcpHeader)))
#define ICP_NODES(h)	((const IcpNode *) (ICP_CRITERIA(h) + (h)->ncriteria))
#define ICP_VALUES(h)	((const IcpValue *) (ICP_NODES(h) + (h)->nnodes))
#define ICP_POOL(h)		((const char *) (ICP_VALUES(h) + (h)->nvalues))

/* error classes */
#define ICP_ERR_NONE		0
#define ICP_ERR_SYNTAX		1		/* 42601 */
#define ICP_ERR_VALUE		2		/* 22P02: a value out of its domain */
#define ICP_ERR_LIMIT		3		/* 54000 */
#define ICP_ERR_CORRUPT		4		/* XX001: a binary value that is not an ICP */
#define ICP_ERR_UNKNOWN_FACT 5		/* 42703: a condition names no fact of a lead */

typedef struct IcpError
{
	int			code;
	int			pos;			/* byte offset in the text, -1 if none */
	char		message[256];
	char		hint[256];
} IcpError;

/*
 * Parse ICP text (len bytes, not NUL-terminated).  Returns the buffer and its
 * length in *out_len, or NULL with *err filled in.
 */
extern IcpHeader *icp_parse(const char *text, size_t len, size_t *out_len,
							IcpError *err);

/*
 * Parse condition text: one test, no weight, over the facts a condition
 * knows (icp_condition_facts) and the lead's activity.
 */
extern IcpHeader *icp_parse_condition(const char *text, size_t len, size_t *out_len,
									  IcpError *err);

/*
 * The names a condition may test: a lead's columns an ICP tests, then
 * email_domain, then its state (score, temperature, stage, grade, fit,
 * days_in_stage, prediction); NULL-terminated.  Only attributes has fields below it.
 */
extern const char *const icp_condition_facts[];

/* The canonical text of a parsed ICP (NUL-terminated, from icp_alloc). */
extern char *icp_print(const IcpHeader *icp);

/* The canonical text of one criterion. */
extern char *icp_print_criterion(const IcpHeader *icp, int criterion);

/*
 * Check that a buffer of len bytes is a well-formed ICP: every count,
 * offset and subtree size in range.  Returns 0 if so, else fills *err.
 */
extern int	icp_check(const IcpHeader *icp, size_t len, IcpError *err);

/*
 * Length of the number at the start of s[0..n) in the ICP number grammar
 * ([-+]?digits[.digits][(e|E)[-+]?digits]), or 0 if it does not start with
 * one.  Matching uses it too, to read numbers kept in strings.
 */
extern int	icp_number_length(const char *s, int n);

#endif							/* LEAD_GEN_ICP_FORMAT_H */
