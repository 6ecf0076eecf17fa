/* recommender.c: the registry of recommenders (see recommender.h). The
 * recommenders themselves live one per file, src/engine/rec_<name>.c. */
#include "engine/recommender.h"

#include <stdio.h>
#include <string.h>

/* The built-ins, defined in src/engine/rec_<name>.c. Their order is their
 * id and the order evaluate and --help list them in. */
extern const recommender rec_random, rec_popular, rec_content, rec_cooc, rec_als, rec_ease, rec_rp3beta, rec_hybrid,
	rec_title;
static const recommender *const builtins[] = {
	&rec_random, &rec_popular, &rec_content, &rec_cooc, &rec_als, &rec_ease, &rec_rp3beta, &rec_hybrid, &rec_title,
};
#define NBUILTINS (sizeof builtins / sizeof *builtins)

/* Those registered at run time, with ids NBUILTINS.. in registering order. */
static const recommender *added[RECOMMENDER_MAX - NBUILTINS];
static size_t nadded;

static int name_ok(const char *name)
{
	if (name == NULL || name[0] == '\0' || strlen(name) > 64)
		return 0;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '+' || *p == '-'))
			return 0;
	return 1;
}

int recommender_register(const recommender *r, seg_error *err)
{
	if (r == NULL || r->propose == NULL)
		return seg_error_set(err, SEG_EINVAL, "a recommender needs a name and a propose function");
	if (!name_ok(r->name))
		return seg_error_set(err, SEG_EINVAL, "recommender name '%s' is not 1-64 of a-z 0-9 _ + -",
		                     r->name ? r->name : "");
	if (recommender_find(r->name) >= 0)
		return seg_error_set(err, SEG_EINVAL, "a recommender called '%s' is already registered", r->name);
	/* A full registry is a limit of the program, not a lack of memory. */
	if (nadded == sizeof added / sizeof *added)
		return seg_error_set(err, SEG_EINVAL, "the registry is full: at most %d recommenders can be registered",
		                     RECOMMENDER_MAX);
	added[nadded] = r;
	return (int)(NBUILTINS + nadded++);
}

size_t recommender_count(void) { return NBUILTINS + nadded; }

const recommender *recommender_get(int id)
{
	if (id < 0 || (size_t)id >= recommender_count())
		return NULL;
	return (size_t)id < NBUILTINS ? builtins[id] : added[(size_t)id - NBUILTINS];
}

int recommender_find(const char *name)
{
	for (size_t i = 0; name != NULL && i < recommender_count(); i++)
		if (strcmp(name, recommender_get((int)i)->name) == 0)
			return (int)i;
	return -1;
}

const char *recommender_name(int id)
{
	const recommender *r = recommender_get(id);
	return r ? r->name : "?";
}

int recommender_names_join(const char *sep, char *buf, size_t cap)
{
	size_t n = 0;
	if (cap > 0)
		buf[0] = '\0';
	for (size_t i = 0; i < recommender_count(); i++) {
		int w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "%s%s", i ? sep : "",
		                 recommender_name((int)i));
		n += (size_t)(w > 0 ? w : 0);
	}
	return (int)n;
}

json_t *recommender_list_json(void)
{
	json_t *list = json_array();
	for (size_t i = 0; list != NULL && i < recommender_count(); i++) {
		const recommender *r = recommender_get((int)i);
		json_t *o =
			json_pack("{s:s,s:s,s:b}", "name", r->name, "description", r->description ? r->description : "",
		                  "needs_query", (r->flags & REC_NEEDS_QUERY) != 0);
		if (o == NULL || json_array_append_new(list, o) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}
