/*
 * Parser for the partition bound text PostgreSQL prints (see bounds.h). Kept apart from the
 * catalog reader so that it can be tested without a database, and strict on purpose: whatever
 * it accepts is later pasted into DDL, so anything unexpected is refused rather than guessed.
 */
#include "orchestrator/bounds.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static bool is_bare_char(char c)
{
	return isalnum((unsigned char)c) || c == '.' || c == '+' || c == '-' || c == '_';
}

/* Case-insensitive match of word at s[0..len) with nothing else around it. */
static bool is_word(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && strncasecmp(s, word, len) == 0;
}

bool orch_bound_parse(const char *s, size_t len, struct orch_bound *out, char *err, size_t errlen)
{
	size_t vi = 0;

	memset(out, 0, sizeof(*out));
	while (len > 0 && isspace((unsigned char)s[0])) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0) {
		snprintf(err, errlen, "empty bound value");
		return false;
	}
	if (len >= sizeof(out->literal)) {
		snprintf(err, errlen, "bound value longer than %zu characters",
		         sizeof(out->literal) - 1);
		return false;
	}
	if (is_word(s, len, "MINVALUE") || is_word(s, len, "MAXVALUE")) {
		out->kind = toupper((unsigned char)s[1]) == 'I' ? ORCH_BOUND_MINVALUE
		                                                : ORCH_BOUND_MAXVALUE;
		snprintf(out->literal, sizeof(out->literal), "%s",
		         out->kind == ORCH_BOUND_MINVALUE ? "MINVALUE" : "MAXVALUE");
		return true;
	}
	out->kind = ORCH_BOUND_VALUE;
	if (s[0] != '\'') {
		for (size_t i = 0; i < len; i++) {
			if (!is_bare_char(s[i])) {
				snprintf(err, errlen, "unexpected '%c' in bound value", s[i]);
				return false;
			}
		}
		memcpy(out->literal, s, len);
		memcpy(out->value, s, len);
		return true;
	}
	/* a quoted literal: '' stands for one quote, and the closing quote must end the text */
	for (size_t i = 1; i < len; i++) {
		if (s[i] != '\'') {
			out->value[vi++] = s[i];
			continue;
		}
		if (i + 1 < len && s[i + 1] == '\'') {
			out->value[vi++] = '\'';
			i++;
			continue;
		}
		if (i + 1 != len) {
			snprintf(err, errlen, "text after the closing quote of a bound value");
			return false;
		}
		memcpy(out->literal, s, len);
		return true;
	}
	snprintf(err, errlen, "unterminated quoted bound value");
	return false;
}

/*
 * Finds the end of the parenthesised list starting at s (which points at '('), skipping quoted
 * text. Returns the index of the matching ')' or 0 when there is none or the list has a comma
 * (several key columns).
 */
static size_t list_end(const char *s, char *err, size_t errlen)
{
	bool quoted = false;

	for (size_t i = 1; s[i]; i++) {
		if (s[i] == '\'') {
			quoted = !quoted;
		} else if (!quoted && s[i] == ',') {
			snprintf(err, errlen, "bound has several values (multi-column key)");
			return 0;
		} else if (!quoted && s[i] == '(') {
			snprintf(err, errlen, "unexpected '(' in bound value");
			return 0;
		} else if (!quoted && s[i] == ')') {
			return i;
		}
	}
	snprintf(err, errlen, "unterminated value list in bound");
	return 0;
}

/* Parses "(value)" at *pp into b and advances *pp past the ')'. */
static bool parse_list(const char **pp, struct orch_bound *b, char *err, size_t errlen)
{
	const char *p = *pp;
	size_t end;

	if (*p != '(') {
		snprintf(err, errlen, "expected '(' in bound");
		return false;
	}
	end = list_end(p, err, errlen);
	if (end == 0 || !orch_bound_parse(p + 1, end - 1, b, err, errlen))
		return false;
	*pp = p + end + 1;
	return true;
}

bool orch_bounds_parse(const char *expr, struct orch_bounds *out, char *err, size_t errlen)
{
	static const char from[] = "FOR VALUES FROM ";
	static const char to[] = " TO ";
	const char *p = expr;

	memset(out, 0, sizeof(*out));
	if (!expr) {
		snprintf(err, errlen, "no partition bound");
		return false;
	}
	if (strcmp(expr, "DEFAULT") == 0) {
		out->is_default = true;
		return true;
	}
	if (strncmp(p, from, sizeof(from) - 1) != 0) {
		snprintf(err, errlen, "not a range partition bound: %.60s", expr);
		return false;
	}
	p += sizeof(from) - 1;
	if (!parse_list(&p, &out->lo, err, errlen))
		return false;
	if (strncmp(p, to, sizeof(to) - 1) != 0) {
		snprintf(err, errlen, "expected TO in bound: %.60s", expr);
		return false;
	}
	p += sizeof(to) - 1;
	if (!parse_list(&p, &out->hi, err, errlen))
		return false;
	if (*p != '\0') {
		snprintf(err, errlen, "text after the bound: %.60s", p);
		return false;
	}
	if (out->lo.kind == ORCH_BOUND_MAXVALUE || out->hi.kind == ORCH_BOUND_MINVALUE) {
		snprintf(err, errlen, "empty range: %.60s", expr);
		return false;
	}
	return true;
}
