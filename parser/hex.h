#pragma once
/* The value of one hexadecimal digit, shared by the lexer (escapes) and the key encoder (uuid). */

/* The value of hex digit c (either case), or -1 when c is not one. */
static inline int parser_hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
