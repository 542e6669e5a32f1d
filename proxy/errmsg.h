#pragma once
/*
 * ErrorResponse messages that foreshard itself sends to clients (refusals at start-up, a server
 * it cannot reach), in the same form PostgreSQL uses, so that every client library shows them
 * as ordinary server errors.
 */
struct evbuffer;

/*
 * Appends an ErrorResponse with severity FATAL, the SQLSTATE (5 characters) and the message to
 * out. Returns 0, or -1 when memory ran out (the caller closes the connection either way).
 */
int proxy_errmsg_fatal(struct evbuffer *out, const char *sqlstate, const char *msg);
