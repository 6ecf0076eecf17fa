/* rng.h: segue's one source of pseudo-random numbers. Three generators,
 * each a pure function of its seed so that every result built on them is
 * reproducible: the splitmix64 stream (Steele, Lea & Flood 2014), small and
 * well mixed, for shuffles, k-means seeding and initial factors;
 * xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64, with
 * uniform, integer and normal draws, for the synthetic catalogue; and
 * xorshift64 for the random baseline. It is not for cryptography, and a
 * state is not thread-safe: one state per stream. Changing any function here
 * changes generated data, k-means, ALS, cross-validation and the random
 * baseline's figures; tests/test_rng.c pins the streams. */
#ifndef SEGUE_RNG_H
#define SEGUE_RNG_H

#include <stdint.h>

#define RNG_GOLDEN 0x9e3779b97f4a7c15ull /* 2^64 / golden ratio, splitmix64's increment */

/* splitmix64's output function: a bijection on 64-bit integers that mixes
 * every input bit into every output bit; also a good hash of one word. */
static inline uint64_t rng_mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* 64 unpredictable bits for a name, a salt or an id (not a seed to
 * reproduce): the kernel's (getrandom, not waiting for entropy), else the
 * clocks and the pid mixed, which still differ between two processes
 * started together. Thread-safe. */
uint64_t rng_entropy64(void);

/* The next number of the splitmix64 stream whose state is *state (any
 * value, 0 included, is a valid seed); advances the state. */
static inline uint64_t rng_splitmix64(uint64_t *state) { return rng_mix64(*state += RNG_GOLDEN); }

/* The next number of the xorshift64 stream (Marsaglia 2003, shifts 13, 7,
 * 17) whose state is *state (any value but 0); advances the state. Weaker
 * than the two above; the random baseline draws from it, and its published
 * evaluation figures depend on this exact sequence. */
static inline uint64_t rng_xorshift64(uint64_t *state)
{
	uint64_t s = *state;
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return *state = s;
}

/* A double uniform in [0, 1) from the top 53 bits of `bits`. */
static inline double rng_unit(uint64_t bits) { return (double)(bits >> 11) * 0x1p-53; }

/* A float uniform in [0, 1) from the top 24 bits of `bits`. */
static inline float rng_unit_float(uint64_t bits) { return (float)(bits >> 40) * 0x1p-24f; }

/* A xoshiro256** stream and the spare value of the normal draws. Plain
 * data, set by rng_seed. */
typedef struct rng {
	uint64_t s[4]; /* xoshiro256** state, never all zero */
	double spare;  /* second Box-Muller normal, valid when has_spare */
	int has_spare;
} rng;

/* Seeds r from `seed` (its state is the next four numbers of the splitmix64
 * stream seeded with `seed`). */
void rng_seed(rng *r, uint64_t seed);

static inline uint64_t rng__rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* The next 64 random bits of r. */
static inline uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rng__rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rng__rotl(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static inline double rng_u01(rng *r) { return rng_unit(rng_next(r)); }

/* Uniform in (0, 1): never 0, safe for log() and pow(u, negative). */
static inline double rng_open01(rng *r) { return ((double)(rng_next(r) >> 11) + 0.5) * 0x1p-53; }

/* Uniform integer in [0, n), n > 0, as the next number modulo n: the bias is
 * below n / 2^64 (under 2^-30 for n < 2^34). */
static inline uint64_t rng_below(rng *r, uint64_t n) { return rng_next(r) % n; }

/* A standard normal draw (Box-Muller: each pair of uniforms gives two, the
 * second kept in r for the next call). */
double rng_normal(rng *r);

#endif
