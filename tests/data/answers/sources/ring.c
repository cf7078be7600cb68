#include <stdlib.h>
#include <string.h>

#include "ring.h"

struct ring {
	size_t head;
	size_t tail;
	size_t size;
	int *slots;
};

struct ring *ring_new(size_t size)
{
	struct ring *r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	r->slots = calloc(size, sizeof(int));
	if (r->slots == NULL) {
		free(r);
		return NULL;
	}
	r->head = 0;
	r->tail = 0;
	r->size = size;
	return r;
}

int ring_push(struct ring *r, int value)
{
	size_t next = (r->head + 1) % r->size;
	if (next == r->tail)
		return -1;
	r->slots[r->head] = value;
	r->head = next;
	return 0;
}

int ring_pop(struct ring *r, int *out)
{
	if (r->head == r->tail)
		return -1;
	*out = r->slots[r->tail];
	r->tail = (r->tail + 1) % r->size;
	return 0;
}

void ring_free(struct ring *r)
{
	if (r == NULL)
		return;
	free(r->slots);
	free(r);
}
