#pragma once
/*
 * The profile event: what a proxy worker tells the forecast thread about one statement. It is
 * a fixed-size struct copied by value through a lock-free ring (common/ring.h), so producing one
 * costs a few stores and never allocates.
 */
#include <stdint.h>

enum fs_op {
	FS_OP_READ = 0, /* SELECT */
	FS_OP_WRITE,    /* INSERT, UPDATE, DELETE, COPY FROM */
	FS_OP_DDL,      /* CREATE, ALTER, DROP, ... */
	FS_OP_OTHER,    /* anything else the parser recognised */
};

enum fs_pred {
	FS_PRED_NONE = 0, /* no usable predicate on the partition key: the whole key space */
	FS_PRED_EQ,       /* key = c */
	FS_PRED_IN,       /* key IN (c1, ..., cn), or several INSERT rows */
	FS_PRED_RANGE,    /* BETWEEN, <, <=, >, >= combined with AND */
	FS_PRED_PREFIX,   /* key LIKE 'abc%' */
};

/* Table id used when a statement touches no managed table. */
#define FS_TABLE_NONE 0xffffu

struct fs_profile_event {
	uint64_t ts_us;  /* wall-clock microseconds when the statement's first message arrived */
	uint64_t key_lo; /* encoded lowest key touched (parser/keyenc.h), inclusive */
	uint64_t key_hi; /* encoded highest key touched, inclusive */
	uint32_t template_id; /* id of the normalized query shape, 0 when unparsed */
	uint32_t latency_us;  /* first message to ReadyForQuery */
	uint32_t rows;        /* rows returned or affected, from CommandComplete */
	uint16_t worker_id;   /* proxy worker that produced the event */
	uint16_t table_id;    /* catalog table id (common/catalog.h) or FS_TABLE_NONE */
	uint16_t key_col;     /* attribute number of the partition key column */
	uint8_t op;           /* enum fs_op */
	uint8_t pred;         /* enum fs_pred */
	uint8_t error;        /* 1 when the statement ended in ErrorResponse */
	uint8_t pad[19];      /* keeps the struct at one cache line */
};

_Static_assert(sizeof(struct fs_profile_event) == 64, "profile event must stay one cache line");
