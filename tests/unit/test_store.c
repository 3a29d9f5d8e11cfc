// SPDX-License-Identifier: Apache-2.0
/*
 * The store against a fake Airflow client and a fake clock: one fetch for
 * concurrent readers (single-flight), what a write changes is asked again
 * and nothing else is, a listed run revalidated by its changes and listed
 * whole when a note is read relist seconds after its last full listing
 * (states alone never), a running log fetched again from its token (and
 * whole when the server refuses the token), a final log kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "call.h"
#include "check.h"
#include "store.h"

#define TASKS 3

/* The fake server: one DAG "d", one run "r", tasks t0..t2. */
struct airflow {
	pthread_mutex_t lock;
	char state[TASKS][16];
	char note[TASKS][32];
	time_t updated[TASKS]; /* server time of the last change */
	time_t server_now;
	char text[256]; /* t0's try 1 */
	int log_over;	/* the try is over: end_of_log */
	int refuse_token;
	unsigned ti_delay_ms;
	/* calls, and those that did not carry the reader's call */
	int strangers;
	int tis, tis_changed, ti, run, log, set_state, set_note, by_state;
	int changed_all; /* of tis_changed: across every DAG ("~") */
	int too_many;	 /* tis_changed answers -E2BIG */
	time_t since;	 /* of the last tis_changed */
	char last_token[32];
};

static double clock_now;

/* The system call of every store call here: the client must get it. */
static const struct call reader = {.deadline = 1234.5};

static void check_call(struct airflow *a, const struct call *call)
{
	if (!call || call->deadline != reader.deadline)
		__atomic_add_fetch(&a->strangers, 1, __ATOMIC_RELAXED);
}

static double fake_clock(void *arg)
{
	(void)arg;
	return clock_now;
}

static void fill_ti(struct airflow *a, int i, struct af_ti *t)
{
	char id[8];

	memset(t, 0, sizeof(*t));
	snprintf(id, sizeof(id), "t%d", i);
	t->task_id = strdup(id);
	t->map_index = -1;
	t->dag_id = strdup("d");
	t->run_id = strdup("r");
	t->state = a->state[i][0] ? strdup(a->state[i]) : NULL;
	t->note = a->note[i][0] ? strdup(a->note[i]) : NULL;
	t->try_number = 1;
	t->info = strdup("{}\n");
	t->info_len = 3;
}

static int task_index(const char *task)
{
	return task[0] == 't' && task[1] >= '0' && task[1] < '0' + TASKS &&
			       !task[2]
		       ? task[1] - '0'
		       : -1;
}

static int f_run(struct airflow *a, const struct call *call, const char *dag,
		 const char *run, struct af_run *out)
{
	pthread_mutex_lock(&a->lock);
	a->run++;
	pthread_mutex_unlock(&a->lock);
	check_call(a, call);
	if (strcmp(dag, "d") || strcmp(run, "r"))
		return -ENOENT;
	memset(out, 0, sizeof(*out));
	out->run_id = strdup("r");
	out->state = strdup("running");
	out->info = strdup("{}\n");
	out->info_len = 3;
	return 0;
}

static int list(struct airflow *a, time_t since, struct af_ti **tis, size_t *n)
{
	*tis = calloc(TASKS, sizeof(**tis));
	*n = 0;
	for (int i = 0; i < TASKS; i++)
		if (a->updated[i] >= since)
			fill_ti(a, i, &(*tis)[(*n)++]);
	return 0;
}

static int f_tis(struct airflow *a, const struct call *call, const char *dag,
		 const char *run, struct af_ti **tis, size_t *n)
{
	int err;

	check_call(a, call);

	pthread_mutex_lock(&a->lock);
	a->tis++;
	err = list(a, 0, tis, n);
	pthread_mutex_unlock(&a->lock);
	return err;
}

static int f_tis_changed(struct airflow *a, const struct call *call,
			 const char *dag, const char *run, time_t since,
			 long max, struct af_ti **tis, size_t *n)
{
	int err;

	check_call(a, call);

	pthread_mutex_lock(&a->lock);
	a->tis_changed++;
	a->changed_all += !strcmp(dag, "~") && !strcmp(run, "~");
	a->since = since;
	err = a->too_many ? -E2BIG : list(a, since, tis, n);
	pthread_mutex_unlock(&a->lock);
	return err;
}

static int f_by_state(struct airflow *a, const struct call *call,
		      const char *state, time_t since, struct af_ti **tis,
		      size_t *n)
{
	check_call(a, call);
	pthread_mutex_lock(&a->lock);
	a->by_state++;
	*tis = calloc(TASKS, sizeof(**tis));
	*n = 0;
	for (int i = 0; i < TASKS; i++)
		if (!strcmp(a->state[i], state))
			fill_ti(a, i, &(*tis)[(*n)++]);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static time_t f_server_time(struct airflow *a)
{
	return a->server_now;
}

static int f_ti(struct airflow *a, const struct call *call, const char *dag,
		const char *run, const char *task, int map_index,
		struct af_ti *out)
{
	int i = task_index(task);

	check_call(a, call);

	usleep(a->ti_delay_ms * 1000);
	pthread_mutex_lock(&a->lock);
	a->ti++;
	if (i >= 0)
		fill_ti(a, i, out);
	pthread_mutex_unlock(&a->lock);
	return i >= 0 ? 0 : -ENOENT;
}

static int f_log(struct airflow *a, const struct call *call, const char *dag,
		 const char *run, const char *task, int map_index,
		 int try_number, const char *token, logstream_sink sink,
		 void *arg, char **next, int *end_of_log)
{
	size_t from = 0, len;
	char tok[32];
	int err;

	check_call(a, call);

	pthread_mutex_lock(&a->lock);
	a->log++;
	snprintf(a->last_token, sizeof(a->last_token), "%s",
		 token ? token : "-");
	if (token && a->refuse_token) {
		pthread_mutex_unlock(&a->lock);
		return -ESTALE;
	}
	if (token)
		from = strtoul(token + 4, NULL, 10);
	len = strlen(a->text);
	snprintf(tok, sizeof(tok), "pos:%zu", len);
	*end_of_log = a->log_over;
	pthread_mutex_unlock(&a->lock);
	err = from < len ? sink(arg, a->text + from, len - from) : 0;
	*next = err ? NULL : strdup(tok);
	return err;
}

static int f_set_state(struct airflow *a, const struct call *call,
		       const char *dag, const char *run, const char *task,
		       int map_index, const char *state)
{
	int i = task_index(task);

	check_call(a, call);

	pthread_mutex_lock(&a->lock);
	a->set_state++;
	snprintf(a->state[i], sizeof(a->state[i]), "%s", state);
	a->updated[i] = a->server_now;
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static int f_set_note(struct airflow *a, const struct call *call,
		      const char *dag, const char *run, const char *task,
		      int map_index, const char *note, size_t len,
		      struct af_ti *out)
{
	int i = task_index(task);

	check_call(a, call);

	pthread_mutex_lock(&a->lock);
	a->set_note++;
	snprintf(a->note[i], sizeof(a->note[i]), "%.*s", (int)len, note);
	/* as Airflow: a note moves no updated_at */
	fill_ti(a, i, out);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

static const struct store_client fake_client = {
	.run = f_run,
	.tis = f_tis,
	.tis_changed = f_tis_changed,
	.by_state = f_by_state,
	.server_time = f_server_time,
	.ti = f_ti,
	.log = f_log,
	.set_state = f_set_state,
	.set_note = f_set_note,
};

static int dirfd_;

static struct store *new_store(struct airflow *a)
{
	struct store_config cfg = {
		.ttl = 10,
		.log_ttl = 2,
		.relist = 60,
		.recent = 24,
		.max_runs = 100,
		.cache_bytes = 1 << 20,
		.log_dirfd = dirfd_,
		.disk_bytes = 1 << 20,
		.disk_files = 8,
		.now = fake_clock,
	};

	memset(a, 0, sizeof(*a));
	pthread_mutex_init(&a->lock, NULL);
	for (int i = 0; i < TASKS; i++)
		strcpy(a->state[i], "success");
	a->server_now = 1000000;
	clock_now = 100;
	return store_new(&cfg, &fake_client, a);
}

/* The state store_ti gives for task, or "" on error. */
static const char *state_of(struct store *s, const char *task, char *buf)
{
	struct s_ti *t;

	buf[0] = 0;
	if (store_ti(s, &reader, "d", "r", task, -1, &t) == 0) {
		snprintf(buf, 16, "%s", t->ti.state ? t->ti.state : "none");
		store_put(t);
	}
	return buf;
}

/* Whether the run's listing has task with the state (note: the note). */
static int listed_is(struct store *s, const char *task, const char *want,
		     int note)
{
	struct s_tis *l;
	int found = 0;

	if (store_tis(s, &reader, "d", "r", &l))
		return 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct af_ti *t = &l->v[i]->ti;
		const char *v = note ? t->note : t->state;

		if (!strcmp(t->task_id, task))
			found = v && !strcmp(v, want);
	}
	store_put(l);
	return found;
}

static int listed_state_is(struct store *s, const char *task, const char *state)
{
	return listed_is(s, task, state, 0);
}

static int listed_note_is(struct store *s, const char *task, const char *note)
{
	return listed_is(s, task, note, 1);
}

static void *read_t1(void *arg)
{
	char buf[16];

	state_of(arg, "t1", buf);
	return NULL;
}

static void test_single_flight(void)
{
	struct airflow a;
	struct store *s = new_store(&a);
	pthread_t th[4];

	a.ti_delay_ms = 100;
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, read_t1, s);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(a.ti == 1);
	CHECK(a.strangers == 0);
	store_free(&s);
}

static void test_coherence_after_writes(void)
{
	struct airflow a;
	struct store *s = new_store(&a);
	char buf[16];

	CHECK(listed_state_is(s, "t0", "success"));
	CHECK(a.tis == 1);
	/* what a listing holds is read without a request */
	CHECK(!strcmp(state_of(s, "t0", buf), "success") && a.ti == 0);
	CHECK(store_set_state(s, &reader, "d", "r", "t0", -1, "failed") == 0);
	CHECK(a.set_state == 1);
	/* the written one is asked again, the others are not */
	CHECK(!strcmp(state_of(s, "t0", buf), "failed") && a.ti == 1);
	CHECK(!strcmp(state_of(s, "t1", buf), "success") && a.ti == 1);
	/* a note answers with the record: kept, nothing asked */
	CHECK(store_set_note(s, &reader, "d", "r", "t2", -1, "seen", 4) == 0);
	CHECK(!strcmp(state_of(s, "t2", buf), "success") && a.ti == 1);
	/* the next listing after a write is a full one */
	clock_now += 11;
	CHECK(listed_state_is(s, "t0", "failed"));
	CHECK(a.tis == 2 && a.tis_changed == 0);
	CHECK(a.strangers == 0);
	store_free(&s);
}

static void test_relisting(void)
{
	struct airflow a;
	struct store *s = new_store(&a);

	CHECK(listed_state_is(s, "t1", "success") && a.tis == 1);
	/* within ttl: nothing asked */
	clock_now += 5;
	CHECK(listed_state_is(s, "t1", "success") && a.tis == 1);
	/* after ttl: what changed since, merged into what is known */
	a.server_now += 20;
	strcpy(a.state[1], "failed"); /* changed elsewhere */
	a.updated[1] = a.server_now;
	clock_now += 6;
	CHECK(listed_state_is(s, "t1", "failed"));
	CHECK(listed_state_is(s, "t2", "success"));
	CHECK(a.tis == 1 && a.tis_changed == 1);
	/* past relist, states alone are still what changed */
	clock_now += 61;
	a.server_now += 61;
	strcpy(a.note[2], "seen elsewhere"); /* moves no updated_at */
	CHECK(listed_state_is(s, "t1", "failed"));
	CHECK(a.tis == 1 && a.tis_changed == 2);
	/* a note about to be read: the run is listed whole, once */
	store_notes_due(s, "d", "r");
	CHECK(listed_note_is(s, "t2", "seen elsewhere"));
	CHECK(a.tis == 2 && a.tis_changed == 2);
	store_notes_due(s, "d", "r");
	CHECK(listed_note_is(s, "t2", "seen elsewhere"));
	CHECK(a.tis == 2 && a.tis_changed == 2);
	CHECK(a.strangers == 0);
	store_free(&s);
}

/* The tasks in @by-state/state, as "t0 t2" ("" when none, "?" on error). */
static const char *in_state(struct store *s, const char *state, char *buf)
{
	struct s_tis *l;

	strcpy(buf, "?");
	if (store_by_state(s, &reader, state, &l))
		return buf;
	buf[0] = 0;
	for (size_t i = 0; i < l->n; i++)
		sprintf(buf + strlen(buf), "%s%s", i ? " " : "",
			l->v[i]->ti.task_id);
	store_put(l);
	return buf;
}

static void test_by_state(void)
{
	struct airflow a;
	struct store *s = new_store(&a);
	char buf[64];

	strcpy(a.state[0], "failed");
	CHECK(!strcmp(in_state(s, "failed", buf), "t0"));
	CHECK(!strcmp(in_state(s, "success", buf), "t1 t2"));
	CHECK(a.by_state == 2 && a.tis_changed == 0);
	/* after ttl: one listing of what changed serves both states */
	a.server_now += 20;
	clock_now += 11;
	strcpy(a.state[0], "success"); /* leaves failed */
	strcpy(a.state[2], "failed");
	a.updated[0] = a.updated[2] = a.server_now;
	CHECK(!strcmp(in_state(s, "failed", buf), "t2"));
	CHECK(!strcmp(in_state(s, "success", buf), "t0 t1"));
	CHECK(a.by_state == 2 && a.tis_changed == 1 && a.changed_all == 1);
	/* within ttl: nothing asked */
	CHECK(!strcmp(in_state(s, "failed", buf), "t2") && a.tis_changed == 1);
	/* too many changed: asked once, then each state listed whole */
	a.server_now += 20;
	clock_now += 11;
	a.too_many = 1;
	CHECK(!strcmp(in_state(s, "failed", buf), "t2"));
	CHECK(!strcmp(in_state(s, "success", buf), "t0 t1"));
	CHECK(a.by_state == 4 && a.tis_changed == 2);
	/* past relist: each state listed whole (its window moves) */
	a.too_many = 0;
	a.server_now += 61;
	clock_now += 61;
	CHECK(!strcmp(in_state(s, "failed", buf), "t2"));
	CHECK(a.by_state == 5 && a.tis_changed == 2);
	CHECK(a.strangers == 0);
	store_free(&s);
}

/* A state's list due to be listed whole does not stretch the others'. */
static void test_by_state_due_left_out(void)
{
	struct airflow a;
	struct store *s = new_store(&a);
	time_t failed_since;
	char buf[64];

	CHECK(!strcmp(in_state(s, "success", buf), "t0 t1 t2"));
	a.server_now += 40;
	clock_now += 40;
	failed_since = a.server_now;
	CHECK(!strcmp(in_state(s, "failed", buf), ""));
	a.server_now += 30; /* success: 70 s since its full listing */
	clock_now += 30;
	CHECK(!strcmp(in_state(s, "failed", buf), "") && a.tis_changed == 1);
	CHECK(a.since == failed_since - 60);
	store_free(&s);
}

/* The bytes of t0's try 1 as the store gives them. */
static int log_is(struct store *s, const char *want)
{
	struct s_ti *t;
	struct s_log *l;
	char buf[256];
	long n = -1;

	if (store_ti(s, &reader, "d", "r", "t0", -1, &t))
		return 0;
	if (store_log(s, &reader, &t->ti, "d", "r", 1, &l) == 0) {
		n = store_log_read(l, 0, sizeof(buf), buf);
		store_put(l);
	}
	store_put(t);
	return n == (long)strlen(want) && !memcmp(buf, want, (size_t)n);
}

static void test_log_growth(void)
{
	struct airflow a;
	struct store *s = new_store(&a);

	strcpy(a.state[0], "running");
	strcpy(a.text, "line 1\n");
	CHECK(log_is(s, "line 1\n") && a.log == 1);
	CHECK(!strcmp(a.last_token, "-"));
	/* within log_ttl the snapshot stands */
	strcat(a.text, "line 2\n");
	CHECK(log_is(s, "line 1\n") && a.log == 1);
	/* then only what follows is asked for */
	clock_now += 3;
	CHECK(log_is(s, "line 1\nline 2\n") && a.log == 2);
	CHECK(!strcmp(a.last_token, "pos:7"));
	/* a server that refuses the token: all of it, shown once */
	strcat(a.text, "line 3\n");
	a.refuse_token = 1;
	clock_now += 3;
	CHECK(log_is(s, "line 1\nline 2\nline 3\n") && a.log == 4);
	CHECK(!strcmp(a.last_token, "-"));
	/* over: fetched once more, then kept for good */
	a.refuse_token = 0;
	a.log_over = 1;
	strcpy(a.state[0], "success");
	a.updated[0] = a.server_now;
	clock_now += 11; /* the record expires: success is learnt */
	CHECK(log_is(s, "line 1\nline 2\nline 3\n") && a.log == 5);
	clock_now += 1000;
	CHECK(log_is(s, "line 1\nline 2\nline 3\n") && a.log == 5);
	CHECK(a.strangers == 0);
	store_free(&s);
}

static void test_prefetch_counted_once_read(void)
{
	const struct call pre = {.deadline = reader.deadline,
				 .flags = CALL_PREFETCH};
	struct airflow a;
	struct store *s = new_store(&a);
	struct store_stats st;
	struct s_ti *t;
	struct s_log *l;

	strcpy(a.text, "line 1\n");
	a.log_over = 1;
	CHECK(store_ti(s, &reader, "d", "r", "t0", -1, &t) == 0);
	CHECK(store_log(s, &pre, &t->ti, "d", "r", 1, &l) == 0);
	store_put(l);
	store_get_stats(s, &st);
	CHECK(st.ra_used == 0 && a.log == 1);
	/* the reader finds it: used, and no second fetch */
	CHECK(log_is(s, "line 1\n") && a.log == 1);
	store_get_stats(s, &st);
	CHECK(st.ra_used == 1 && st.ra_wasted == 0);
	store_put(t);
	CHECK(a.strangers == 0);
	store_free(&s);
}

int main(void)
{
	char dir[] = "/tmp/test_store.XXXXXX";

	if (!mkdtemp(dir))
		return 1;
	dirfd_ = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	test_single_flight();
	test_coherence_after_writes();
	test_relisting();
	test_by_state();
	test_by_state_due_left_out();
	test_log_growth();
	test_prefetch_counted_once_read();
	close(dirfd_);
	rmdir(dir);
	return CHECK_DONE();
}
