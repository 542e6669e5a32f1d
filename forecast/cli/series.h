#pragma once
/*
 * The command's series format: one series per line, "id,v1,v2,...,vn", oldest value first, an
 * empty field for a missing value (read as NaN). Used for the input and for --eval's truths.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct cli_series {
	char *id;  /* owned, NUL-terminated */
	double *v; /* [n] values, NaN where missing; owned */
	size_t n;  /* number of values */
};

struct cli_reader {
	FILE *in;         /* borrowed */
	const char *name; /* for messages: "stdin" or the file's path */
	size_t lineno;    /* of the line last read */
	char *line;       /* getline's buffer, owned */
	size_t cap;       /* its size */
	char err[256];    /* why the last cli_read returned CLI_READ_ERROR */
};

enum cli_read_status {
	CLI_READ_OK,    /* *s holds the next series */
	CLI_READ_EOF,   /* no more series */
	CLI_READ_ERROR, /* a malformed line or no memory: r->err says which and where */
};

/* Starts reading from in (borrowed); name is used in messages. */
void cli_reader_init(struct cli_reader *r, FILE *in, const char *name);

/*
 * Reads the next series into s, which then owns its id and values (free with cli_series_free).
 * Blank lines are skipped. A line without a comma, or a field that is not a number, is an error.
 */
enum cli_read_status cli_read(struct cli_reader *r, struct cli_series *s);

void cli_reader_cleanup(struct cli_reader *r);

void cli_series_free(struct cli_series *s);
