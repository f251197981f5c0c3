/*
 * A pipeline on leash's runtime: a generator, a squarer and a summer
 * joined by channels, the way a Go program would write it.
 */
#include <leash/leash.h>
#include <stdio.h>
#include <stdlib.h>

struct stage {
    leash_chan_t *in, *out;
    long n;
};

static void generate(void *arg)
{
    struct stage *s = arg;
    long i;

    for (i = 1; i <= s->n; i++)
        leash_chan_send(s->out, &i);
    leash_chan_close(s->out);
}

static void square(void *arg)
{
    struct stage *s = arg;
    long v;

    while (leash_chan_recv(s->in, &v)) {
        v *= v;
        leash_chan_send(s->out, &v);
    }
    leash_chan_close(s->out);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10, v, sum = 0;
    leash_chan_t *numbers = leash_chan_make(sizeof(long), 4);
    leash_chan_t *squares = leash_chan_make(sizeof(long), 0);
    struct stage gen = { NULL, numbers, n }, sq = { numbers, squares, 0 };

    leash_go(generate, &gen);
    leash_go(square, &sq);
    while (leash_chan_recv(squares, &v))
        sum += v;
    printf("sum of squares 1..%ld = %ld\n", n, sum);
    return 0;
}
