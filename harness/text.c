/*
 * Text made safe for where it goes. Criterion 2.4.1 copies assertion
 * messages into its --xml and --json files as they are, so the text it
 * gets must be valid in both: UTF-8, no character XML 1.0 forbids, none
 * of the characters that would end an XML attribute or CDATA section or
 * a JSON string. jansson refuses strings that are not UTF-8, so the JSON
 * report keeps every valid character and marks only the bad bytes.
 */
#include "text.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t leash__utf8_char(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t c, min;
    size_t len, i;

    if (n == 0)
        return 0;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] >= 0xC2 && u[0] <= 0xDF) {
        len = 2;
        c = u[0] & 0x1F;
        min = 0x80;
    } else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
        len = 3;
        c = u[0] & 0x0F;
        min = 0x800;
    } else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
        len = 4;
        c = u[0] & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80)
            return 0;
        c = c << 6 | (u[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

size_t leash__utf8_bad(const char *s, size_t n)
{
    size_t i = 0, k;
    uint32_t c;

    while (i < n) {
        k = leash__utf8_char(s + i, n - i, &c);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

/* What Criterion gets for the character c of k bytes at s, into out;
 * the number of bytes written (at most 4). */
static size_t safe_char(const char *s, size_t k, uint32_t c, char *out)
{
    static const char from[] = "\"\\<>&", to[] = "'/()+";
    const char *p;

    if (k == 0)
        c = '?';
    else if (c == '\t') {
        memcpy(out, "    ", 4);
        return 4;
    } else if (c == '\r' || c == 0x7F)
        c = ' ';
    else if ((c < 0x20 && c != '\n') || c == 0xFFFE || c == 0xFFFF)
        c = '?';
    else if (c >= 0x80) {
        memcpy(out, s, k);
        return k;
    } else if (c != 0 && (p = strchr(from, (int)c)) != NULL)
        c = (uint32_t)to[p - from];
    out[0] = (char)c;
    return 1;
}

char *leash__criterion_text(const char *s, size_t max, size_t max_line)
{
    size_t n = strlen(s), cut = n, i, k, w, o = 0, col = 0;
    char *out, buf[4];
    uint32_t c = 0;

    if (n > max) {
        for (cut = max; cut > 0; cut--)
            if (s[cut - 1] == '\n' && s[cut] == '\n')
                break;
        if (cut == 0)
            cut = max;
    }
    /* Each byte gives at most 4 (a tab); each line break adds 3. */
    out = malloc(cut * 7 + 128);
    if (out == NULL)
        return NULL;
    for (i = 0; i < cut; i += k) {
        k = leash__utf8_char(s + i, cut - i, &c);
        w = safe_char(s + i, k, c, buf);
        if (k == 0)
            k = 1;
        if (buf[0] != '\n' && max_line > 2 && col + w > max_line) {
            memcpy(out + o, "\n  ", 3);
            o += 3;
            col = 2;
        }
        memcpy(out + o, buf, w);
        o += w;
        col = buf[0] == '\n' ? 0 : col + w;
    }
    if (cut < n)
        o += (size_t)sprintf(out + o, "\n... %zu more bytes: see the JSON "
                             "report (LEASH_REPORT_DIR)", n - cut);
    out[o] = '\0';
    return out;
}

char *leash__utf8_fix(const char *s)
{
    size_t n = strlen(s), i = 0, o = 0, k;
    char *out = malloc(n * 3 + 1);
    uint32_t c;

    if (out == NULL)
        return NULL;
    while (i < n) {
        k = leash__utf8_char(s + i, n - i, &c);
        if (k == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
    return out;
}
