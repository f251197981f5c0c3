/*
 * Text made safe for where it goes: UTF-8 checks, the failure text that
 * Criterion copies unescaped into its --xml and --json outputs, and
 * strings for the JSON report. Internal to the harness and the CLI.
 */
#ifndef LEASH_TEXT_H
#define LEASH_TEXT_H

#include <stddef.h>
#include <stdint.h>

/*
 * The length (1 to 4) of the well-formed UTF-8 character at s, which has
 * n bytes left, and the character in *cp; 0 when the bytes there are not
 * one (a stray continuation byte, a bad lead byte, a sequence cut short,
 * an overlong form, a surrogate, beyond U+10FFFF).
 */
size_t leash__utf8_char(const char *s, size_t n, uint32_t *cp);

/* The offset of the first byte of s[0..n) that is not well-formed UTF-8,
 * or n when all of it is. */
size_t leash__utf8_bad(const char *s, size_t n);

/*
 * s for Criterion: tabs become four spaces, the characters " \ < > & become
 * ' / ( ) +, CR and DEL a space, and what XML 1.0 does not allow (other C0
 * controls, U+FFFE, U+FFFF) and bytes that are not UTF-8 each a '?'. A
 * line longer than max_line bytes is broken, the rest indented by two
 * spaces, since Criterion's console cuts long lines. A text longer than
 * max bytes is cut at a blank line, with a note. Result: malloc'd, or
 * NULL when memory ran out.
 */
char *leash__criterion_text(const char *s, size_t max, size_t max_line);

/* A malloc'd copy of s with each byte that is not UTF-8 replaced by
 * U+FFFD, for jansson, which takes only UTF-8; NULL when memory ran
 * out. */
char *leash__utf8_fix(const char *s);

#endif
