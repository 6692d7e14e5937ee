/* SPDX-License-Identifier: MIT */
/* Log-linear histogram: exact below 2^(HIST_SUB_BITS+1), then HIST_SUB
 * equal-width buckets per power of two. */
#include <string.h>

#include "bench.h"

static unsigned bucket_of(uint64_t v)
{
	if (v < 2 * HIST_SUB)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned e = msb - HIST_SUB_BITS;
	return e * HIST_SUB + (unsigned)(v >> e);
}

/* Lower bound and width of a bucket. */
static void bucket_range(unsigned idx, uint64_t *lo, uint64_t *width)
{
	if (idx < 2 * HIST_SUB) {
		*lo = idx;
		*width = 1;
		return;
	}
	unsigned e = idx / HIST_SUB - 1;
	uint64_t mant = idx % HIST_SUB + HIST_SUB;
	*lo = mant << e;
	*width = (uint64_t)1 << e;
}

void hist_reset(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t v)
{
	h->bucket[bucket_of(v)]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (!src->count)
		return;
	for (unsigned i = 0; i < HIST_BUCKETS; i++)
		dst->bucket[i] += src->bucket[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

double hist_quantile(const struct hist *h, double q)
{
	if (!h->count)
		return 0;
	if (q >= 1.0)
		return (double)h->max;
	/* The smallest value with at least ceil(q * count) samples at or below it. */
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen < rank)
			continue;
		uint64_t lo, width;
		bucket_range(i, &lo, &width);
		double v = (double)lo + (double)(width - 1) / 2.0;
		if (v < (double)h->min)
			v = (double)h->min;
		if (v > (double)h->max)
			v = (double)h->max;
		return v;
	}
	return (double)h->max;
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0;
}
