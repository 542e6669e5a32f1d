#pragma once
/*
 * The catalog the parser targets classify against: public.events keyed by a bigint id,
 * public.ts_events keyed by a timestamptz ts, and public.names keyed by a text name, the three
 * key encodings the parser has.
 */
#include "common/catalog.h"

/* The catalog, built on first use and kept for the life of the process. Aborts on failure. */
const struct fs_catalog *fuzz_catalog(void);
