/* Reading the command's "id,v1,...,vn" lines (see series.h). */
#include "forecast/cli/series.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

void cli_reader_init(struct cli_reader *r, FILE *in, const char *name)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->name = name;
}

void cli_reader_cleanup(struct cli_reader *r)
{
	free(r->line);
	r->line = NULL;
}

void cli_series_free(struct cli_series *s)
{
	free(s->id);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Parses one value field [p, end): empty is missing (NaN); false when it is not a number. */
static bool parse_value(const char *p, const char *end, double *out)
{
	char buf[64], *stop;
	size_t len = (size_t)(end - p);

	while (p < end && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0) {
		*out = NAN;
		return true;
	}
	if (len >= sizeof(buf))
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtod(buf, &stop);
	/* "nan" and "inf" parse, but a value must be a number: NA is written as an empty field */
	return *stop == '\0' && errno != ERANGE && isfinite(*out);
}

static enum cli_read_status fail(struct cli_reader *r, struct cli_series *s, const char *why)
{
	snprintf(r->err, sizeof(r->err), "%s:%zu: %s", r->name, r->lineno, why);
	cli_series_free(s);
	return CLI_READ_ERROR;
}

enum cli_read_status cli_read(struct cli_reader *r, struct cli_series *s)
{
	ssize_t len;
	char *comma, *p, *end;
	size_t fields = 1;

	memset(s, 0, sizeof(*s));
	do {
		len = getline(&r->line, &r->cap, r->in);
		if (len < 0)
			return CLI_READ_EOF;
		r->lineno++;
		while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
			r->line[--len] = '\0';
	} while (len == 0);
	comma = strchr(r->line, ',');
	if (!comma)
		return fail(r, s, "expected \"id,v1,v2,...\" (no comma on the line)");
	end = r->line + len;
	for (p = comma + 1; p < end; p++)
		fields += *p == ',';
	s->id = strndup(r->line, (size_t)(comma - r->line));
	s->v = malloc(fields * sizeof(double));
	if (!s->id || !s->v)
		return fail(r, s, "out of memory");
	for (p = comma + 1; p <= end; p++) {
		char *next = memchr(p, ',', (size_t)(end - p));

		if (!next)
			next = end;
		if (!parse_value(p, next, &s->v[s->n]))
			return fail(r, s,
			            "a value is not a finite number (leave the field empty "
			            "for a missing value)");
		s->n++;
		p = next;
	}
	return CLI_READ_OK;
}
