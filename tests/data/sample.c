#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_SIZE 64

struct vec {
    double *data;
    size_t len;
    size_t cap;
};

typedef struct vec vec_t;

/**
 * Create an empty vector with room for `cap` elements.
 */
vec_t *vec_new(size_t cap) {
    vec_t *v = malloc(sizeof *v);
    if (!v) return NULL;
    v->data = calloc(cap, sizeof(double));
    v->len = 0;
    v->cap = cap;
    return v;
}

int vec_push(vec_t *v, double x) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 4;
        double *d = realloc(v->data, cap * sizeof(double));
        if (!d) return -1;
        v->data = d;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

static double vec_sum(const vec_t *v) {
    double s = 0;
    for (size_t i = 0; i < v->len; i++) s += v->data[i];
    return s;
}

void vec_free(vec_t *v) {
    if (v) free(v->data);
    free(v);
}

int main(void) {
    vec_t *v = vec_new(2);
    char label[BUF_SIZE];
    strcpy(label, "总和 ✓");
    for (int i = 0; i < 10; i++) vec_push(v, i);
    printf("%s %f\n", label, vec_sum(v));
    vec_free(v);
    return 0;
}
