/*
 * libFuzzer harness for the ICP and condition parsers (src/icp_format.c),
 * built with AddressSanitizer and UBSan by test/fuzz/run.
 *
 * For every input, parsed as an ICP and as a condition: on success the value must pass the structural
 * check, print to a canonical text, and that text must parse back to the
 * very same bytes and print identically (out(in(x)) is stable).  On failure
 * the error must carry a class, a message and an in-range position.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/icp_alloc.h"
#include "../../src/icp_format.h"

void *
icp_alloc(size_t size)
{
	void	   *p = calloc(1, size ? size : 1);

	if (!p)
		abort();
	return p;
}

void *
icp_realloc(void *ptr, size_t size)
{
	void	   *p = realloc(ptr, size ? size : 1);

	if (!p)
		abort();
	return p;
}

void
icp_free(void *ptr)
{
	free(ptr);
}

typedef IcpHeader *(*Parse) (const char *text, size_t len, size_t *out_len, IcpError *err);

static void
check_one(Parse parse, const uint8_t *data, size_t size, int max_code)
{
	IcpError	err;
	size_t		len = 0;
	IcpHeader  *icp = parse((const char *) data, size, &len, &err);

	if (!icp)
	{
		if (err.code < 1 || err.code > max_code || err.code == 4 || err.message[0] == '\0' ||
			err.pos < -1 || err.pos > (int) size)
		{
			fprintf(stderr, "bad error: code %d pos %d msg %s\n", err.code, err.pos, err.message);
			abort();
		}
		return;
	}
	if (icp_check(icp, len, &err) != 0)
	{
		fprintf(stderr, "parser output fails the check: %s\n", err.message);
		abort();
	}
	{
		char	   *text = icp_print(icp);
		size_t		len2 = 0;
		IcpHeader  *again = parse(text, strlen(text), &len2, &err);
		char	   *text2;

		if (!again)
		{
			fprintf(stderr, "canonical text does not parse: %s\n  at %d: %s\n",
					text, err.pos, err.message);
			abort();
		}
		if (len2 != len || memcmp(again, icp, len) != 0)
		{
			fprintf(stderr, "canonical text parses to other bytes: %s\n", text);
			abort();
		}
		text2 = icp_print(again);
		if (strcmp(text, text2) != 0)
		{
			fprintf(stderr, "printing is not stable:\n  %s\n  %s\n", text, text2);
			abort();
		}
		for (int i = 0; i < icp->ncriteria; i++)
			free(icp_print_criterion(icp, i));
		free(text2);
		free(again);
		free(text);
	}
	free(icp);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_one(icp_parse, data, size, ICP_ERR_LIMIT);
	check_one(icp_parse_condition, data, size, ICP_ERR_UNKNOWN_FACT);
	return 0;
}
