/* rng.c: seeding and the normal draw of the xoshiro256** streams (see
 * rng.h; the rest is inline there). */
#include "core/rng.h"

#include <math.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define RNG_PI 3.14159265358979323846

void rng_seed(rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix64(&x);
	r->has_spare = 0;
	r->spare = 0;
}

double rng_normal(rng *r)
{
	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	double u1 = rng_open01(r), u2 = rng_u01(r);
	double rad = sqrt(-2.0 * log(u1));
	r->spare = rad * sin(2.0 * RNG_PI * u2);
	r->has_spare = 1;
	return rad * cos(2.0 * RNG_PI * u2);
}

uint64_t rng_entropy64(void)
{
	uint64_t x;
	if (getrandom(&x, sizeof x, GRND_NONBLOCK) == (ssize_t)sizeof x)
		return x;
	struct timespec a, b;
	clock_gettime(CLOCK_REALTIME, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	return rng_mix64((uint64_t)a.tv_nsec ^ ((uint64_t)a.tv_sec << 30) ^ ((uint64_t)getpid() << 40) ^
	                 (uint64_t)b.tv_nsec);
}
