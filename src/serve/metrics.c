/* metrics.c: the Prometheus counters of the server (see internal.h):
 * requests by route and status class, a latency histogram per route, and
 * the nearest-neighbour search counters. Lock-free (atomic counters), but
 * for a copy of the held models' names under the model lock. */
#include "serve/internal.h"

#include "core/progress.h"
#include "models/knn.h"

/* Names for metrics of the routes that are not API routes. */
static const char *route_label(int r)
{
	if (r == R_STATIC)
		return "static";
	if (r == R_NOTFOUND)
		return "unmatched";
	return serve_routes[r].path;
}

/* The method of a route: a label of its own, because one path may be
 * routed for two (GET and POST /api/experiments). */
static const char *method_label(int r)
{
	if (r == R_STATIC)
		return "GET";
	if (r == R_NOTFOUND)
		return "";
	return serve_routes[r].method;
}

/* Latency histogram bucket upper bounds, seconds. */
static const double BUCKETS[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBUCKETS (sizeof BUCKETS / sizeof *BUCKETS)
_Static_assert(NBUCKETS == SERVE_NBUCKETS, "route_stats has a counter per bucket");

void serve__metrics_record(server *s, const req *r, double secs)
{
	route_stats *st = &s->stats[r->route];
	unsigned k = r->status / 100;
	if (k >= 1 && k <= 5)
		atomic_fetch_add(&st->status[k], 1);
	size_t b = 0;
	while (b < NBUCKETS && secs > BUCKETS[b])
		b++;
	atomic_fetch_add(&st->bucket[b], 1);
	atomic_fetch_add(&st->micros, (unsigned long)(secs * 1e6));
}

void serve__metrics_text(server *s, strbuf *sb)
{
	strbuf_puts(sb, "# HELP segue_requests_total HTTP requests by route and status class.\n"
	                "# TYPE segue_requests_total counter\n");
	for (int rt = 0; rt < R__COUNT; rt++)
		for (int k = 1; k <= 5; k++) {
			unsigned long v = atomic_load(&s->stats[rt].status[k]);
			if (v)
				strbuf_printf(sb,
				              "segue_requests_total{route=\"%s\",method=\"%s\",status=\"%dxx\"} %lu\n",
				              route_label(rt), method_label(rt), k, v);
		}
	strbuf_puts(sb, "# HELP segue_request_duration_seconds Time to answer, by route.\n"
	                "# TYPE segue_request_duration_seconds histogram\n");
	for (int rt = 0; rt < R__COUNT; rt++) {
		unsigned long total = 0;
		for (size_t b = 0; b <= NBUCKETS; b++)
			total += atomic_load(&s->stats[rt].bucket[b]);
		if (total == 0)
			continue;
		unsigned long cum = 0;
		for (size_t b = 0; b < NBUCKETS; b++) {
			cum += atomic_load(&s->stats[rt].bucket[b]);
			strbuf_printf(
				sb, "segue_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%g\"} %lu\n",
				route_label(rt), method_label(rt), BUCKETS[b], cum);
		}
		strbuf_printf(sb, "segue_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} %lu\n",
		              route_label(rt), method_label(rt), total);
		strbuf_printf(sb, "segue_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n",
		              route_label(rt), method_label(rt), (double)atomic_load(&s->stats[rt].micros) / 1e6);
		strbuf_printf(sb, "segue_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %lu\n",
		              route_label(rt), method_label(rt), total);
	}
	strbuf_printf(sb,
	              "# HELP segue_uptime_seconds Seconds since the server started.\n"
	              "# TYPE segue_uptime_seconds gauge\nsegue_uptime_seconds %.3f\n"
	              "# HELP segue_model_tracks Tracks in the served model.\n"
	              "# TYPE segue_model_tracks gauge\nsegue_model_tracks %zu\n"
	              "# HELP segue_model_reloads_total Models put in place while serving (a new champion).\n"
	              "# TYPE segue_model_reloads_total counter\nsegue_model_reloads_total %lu\n"
	              "# HELP segue_variant_model_fallback_total Requests whose experiment variant named a model "
	              "version this server does not hold (answered by the champion).\n"
	              "# TYPE segue_variant_model_fallback_total counter\nsegue_variant_model_fallback_total %lu\n",
	              progress_now() - s->started, engine_rows(serve__cur->eng), atomic_load(&s->reloads),
	              atomic_load(&s->variant_fallbacks));
	/* What the server holds, copied under the model lock (the models'
	 * names are fixed once published; the pointers are not). */
	char held[2][64] = {"", ""};
	int held_rv[2] = {0, 0};
	pthread_mutex_lock(&s->model_lock);
	const serve_model *hm[2] = {s->model, s->challenger};
	for (int a = 0; a < 2; a++)
		if (hm[a] != NULL) {
			snprintf(held[a], sizeof held[a], "%s", hm[a]->version);
			held_rv[a] = hm[a]->registry_version;
		}
	pthread_mutex_unlock(&s->model_lock);
	strbuf_puts(sb, "# HELP segue_model_held The model versions this server holds, by registry alias "
	                "(registry_version 0: not from the registry).\n"
	                "# TYPE segue_model_held gauge\n");
	for (int a = 0; a < 2; a++)
		if (held[a][0] != '\0')
			strbuf_printf(sb, "segue_model_held{alias=\"%s\",version=\"%s\",registry_version=\"%d\"} 1\n",
			              a ? "challenger" : "champion", held[a], held_rv[a]);
	knn_stats ks;
	knn_stats_get(&ks);
	strbuf_printf(
		sb,
		"# HELP segue_knn_searches_total Exact nearest-neighbour searches, by method.\n"
		"# TYPE segue_knn_searches_total counter\n"
		"segue_knn_searches_total{method=\"clusters\"} %llu\n"
		"segue_knn_searches_total{method=\"quantised\"} %llu\n"
		"# HELP segue_knn_rows_scored_total Rows the clustered searches scored (the rest were ruled out).\n"
		"# TYPE segue_knn_rows_scored_total counter\nsegue_knn_rows_scored_total %llu\n"
		"# HELP segue_knn_rescans_total Quantised searches that needed a second scan.\n"
		"# TYPE segue_knn_rescans_total counter\nsegue_knn_rescans_total %llu\n",
		(unsigned long long)ks.cluster_searches, (unsigned long long)ks.quant_searches,
		(unsigned long long)ks.cluster_rows, (unsigned long long)ks.quant_rescans);
}
