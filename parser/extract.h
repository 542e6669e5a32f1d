#pragma once
/*
 * The slow path of the parser: on a template cache miss, parse the text with libpg_query and
 * turn the tree into a template (parser/template.h) — which managed tables each statement
 * touches, with which operation, and which constants or parameters bound their partition key.
 */
#include <stdbool.h>

#include "common/catalog.h"
#include "parser/lexer.h"
#include "parser/template.h"

/*
 * Builds t for query text sql (NUL-terminated) whose shape and constants lx found, against
 * catalog cat (borrowed; NULL means no table is managed). Returns false, with t an unparsed
 * template of the shape, when libpg_query rejects the text. t is flagged PARSER_TMPL_NOCACHE
 * when a key value had to be taken from the tree rather than from a lexer constant. Allocates
 * (libpg_query does) and frees everything before returning; the calling worker's thread only.
 */
bool parser_extract_template(const char *sql, const struct parser_lexer *lx,
                             const struct fs_catalog *cat, struct parser_template *t);
