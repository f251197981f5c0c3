/*
 * libFuzzer target: the glob checker against glibc's fnmatch.
 *
 * The input is "pattern NUL string". The checker is static, so this file
 * includes allowlist.c whole. Whatever the checker accepts, fnmatch must
 * take as a pattern: it may match or not, never fail (a result other than
 * 0 and FNM_NOMATCH). The sanitizers watch the checker's own reading.
 */
#include "../harness/allowlist.c"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *pat = malloc(size + 1);
    const char *str;
    int rc;

    if (pat == NULL)
        return 0;
    memcpy(pat, data, size);
    pat[size] = '\0';
    str = pat + strlen(pat);
    if ((size_t)(str - pat) < size)
        str++;
    if (glob_problem(pat) == NULL) {
        rc = fnmatch(pat, str, 0);
        if (rc != 0 && rc != FNM_NOMATCH) {
            fprintf(stderr, "fnmatch failed (%d) on accepted glob\n", rc);
            abort();
        }
    }
    free(pat);
    return 0;
}
