/*
 * The planner thread (see thread.h): turns forecast snapshots into plan actions and follows
 * them through the orchestrator.
 *
 * DESIGN
 * The thread sleeps in poll() on two eventfds — APPLY requests from the console and results from
 * the orchestrator — with a timeout of one planning period. It owns the list of actions; the
 * console sees it only as a published snapshot, republished whenever it changes. It plans only
 * when a new forecast snapshot has appeared, so planning follows the forecast window.
 */
#include "planner/thread.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/catalog.h"
#include "common/log.h"
#include "common/time.h"
#include "forecast/forecast.h"

#define MAX_ACTIONS 256 /* history kept for SHOW PLANS; the oldest finished ones go first */

struct planner_thread {
	struct planner_thread_args a;
	struct planner *planner;
	pthread_t thread;
	_Atomic bool stop;
	struct fs_mailbox applies;      /* uint32_t action ids from the console */
	struct fs_snap_slot plans_slot; /* SHOW PLANS */
	struct planner_action actions[MAX_ACTIONS];
	int n_actions;
	uint64_t forecast_version; /* last forecast slot version planned against */
};

static void plans_destroy(struct fs_snap *s)
{
	free(s);
}

static void publish_plans(struct planner_thread *t)
{
	struct planner_plans_snap *s =
	        malloc(sizeof(*s) + (size_t)t->n_actions * sizeof(s->actions[0]));

	if (!s)
		return; /* the console keeps the previous list */
	fs_snap_init(&s->snap, plans_destroy);
	s->n = t->n_actions;
	memcpy(s->actions, t->actions, (size_t)t->n_actions * sizeof(s->actions[0]));
	fs_snap_publish(&t->plans_slot, &s->snap);
}

static struct planner_action *find_action(struct planner_thread *t, uint32_t id)
{
	for (int i = 0; i < t->n_actions; i++) {
		if (t->actions[i].id == id)
			return &t->actions[i];
	}
	return NULL;
}

/* Makes room for one more action by forgetting the oldest one that is no longer in flight. */
static bool make_room(struct planner_thread *t)
{
	if (t->n_actions < MAX_ACTIONS)
		return true;
	for (int i = 0; i < t->n_actions; i++) {
		if (t->actions[i].state != PLANNER_APPLYING) {
			memmove(&t->actions[i], &t->actions[i + 1],
			        (size_t)(t->n_actions - i - 1) * sizeof(t->actions[0]));
			t->n_actions--;
			return true;
		}
	}
	return false;
}

static void hand_over(struct planner_thread *t, struct planner_action *a)
{
	a->state = PLANNER_APPLYING;
	if (!fs_mailbox_send(t->a.orch_inbox, a)) {
		a->state = PLANNER_FAILED;
		snprintf(a->reason + strlen(a->reason), sizeof(a->reason) - strlen(a->reason),
		         " [not applied: the orchestrator's queue is full]");
		return;
	}
	planner_note_started(t->planner, a->table_id, fs_wall_us() / 1000);
	fs_log(FS_LOG_INFO, "plan %u: applying %s %s of %s at %s", a->id, planner_kind_str(a->kind),
	       a->partition, a->table, a->split_sql);
}

static void plan_once(struct planner_thread *t)
{
	uint64_t v = fs_snap_version(t->a.forecast_slot);
	struct forecast_snapshot *fc;
	struct fs_catalog *cat;
	struct planner_action fresh[8];
	int n, mode;
	bool changed = false;

	if (v == t->forecast_version)
		return;
	t->forecast_version = v;
	fc = (struct forecast_snapshot *)fs_snap_acquire(t->a.forecast_slot);
	cat = (struct fs_catalog *)fs_snap_acquire(t->a.catalog_slot);
	mode = atomic_load(t->a.mode);
	if (fc && cat && fc->catalog_version == cat->version) {
		n = planner_plan(t->planner, cat, fc, fs_wall_us() / 1000, fresh, 8);
		for (int i = 0; i < n && make_room(t); i++) {
			struct planner_action *a = &t->actions[t->n_actions++];

			*a = fresh[i];
			fs_log(FS_LOG_INFO, "plan %u: %s", a->id, a->reason);
			if (mode == PLANNER_MODE_AUTO)
				hand_over(t, a);
			else
				/* advise (and observe) wait for APPLY; hold the table meanwhile */
				planner_note_started(t->planner, a->table_id, fs_wall_us() / 1000);
			changed = true;
		}
	}
	if (fc)
		fs_snap_release(&fc->snap);
	if (cat)
		fs_snap_release(&cat->snap);
	if (changed)
		publish_plans(t);
}

static void take_results(struct planner_thread *t)
{
	struct planner_result r;
	bool changed = false;

	fs_mailbox_ack_wakeup(t->a.orch_results);
	while (fs_mailbox_recv(t->a.orch_results, &r)) {
		struct planner_action *a = find_action(t, r.action_id);

		planner_note_finished(t->planner, r.table_id, fs_wall_us() / 1000);
		if (!a)
			continue;
		a->state = r.ok ? PLANNER_DONE : PLANNER_FAILED;
		a->cutover_ms = r.ok ? r.cutover_ms : 0;
		snprintf(a->reason + strlen(a->reason), sizeof(a->reason) - strlen(a->reason),
		         " [%s]", r.message);
		changed = true;
	}
	if (changed)
		publish_plans(t);
}

static void take_applies(struct planner_thread *t)
{
	uint32_t id;
	bool changed = false;

	fs_mailbox_ack_wakeup(&t->applies);
	while (fs_mailbox_recv(&t->applies, &id)) {
		struct planner_action *a = find_action(t, id);

		if (a && a->state == PLANNER_PROPOSED) {
			hand_over(t, a);
			changed = true;
		}
	}
	if (changed)
		publish_plans(t);
}

static void *planner_main(void *arg)
{
	struct planner_thread *t = arg;

	while (!atomic_load(&t->stop)) {
		struct pollfd fds[2] = {
		        {.fd = fs_mailbox_fd(&t->applies), .events = POLLIN},
		        {.fd = fs_mailbox_fd(t->a.orch_results), .events = POLLIN},
		};
		int timeout = (int)(t->a.period_ms / 4 > 0 ? t->a.period_ms / 4 : 1);

		if (poll(fds, 2, timeout) > 0) {
			if (fds[0].revents & POLLIN)
				take_applies(t);
			if (fds[1].revents & POLLIN)
				take_results(t);
		}
		plan_once(t);
	}
	return NULL;
}

struct planner_thread *planner_thread_start(const struct planner_thread_args *args, char *err,
                                            size_t errlen)
{
	struct planner_thread *t = calloc(1, sizeof(*t));

	if (!t) {
		snprintf(err, errlen, "planner: out of memory");
		return NULL;
	}
	t->a = *args;
	atomic_init(&t->stop, false);
	fs_snap_slot_init(&t->plans_slot);
	t->planner = planner_create(&args->planner);
	if (!t->planner || !fs_mailbox_init(&t->applies, 64, sizeof(uint32_t))) {
		snprintf(err, errlen, "planner: out of memory");
		goto fail;
	}
	publish_plans(t);
	if (pthread_create(&t->thread, NULL, planner_main, t) != 0) {
		snprintf(err, errlen, "planner: cannot start its thread");
		goto fail;
	}
	return t;
fail:
	if (t->planner)
		planner_destroy(t->planner);
	fs_mailbox_cleanup(&t->applies);
	fs_snap_slot_cleanup(&t->plans_slot);
	free(t);
	return NULL;
}

struct fs_snap_slot *planner_thread_plans(struct planner_thread *t)
{
	return &t->plans_slot;
}

bool planner_thread_apply(struct planner_thread *t, uint32_t id, char *err, size_t errlen)
{
	if (!fs_mailbox_send(&t->applies, &id)) {
		snprintf(err, errlen, "too many APPLY requests queued; try again");
		return false;
	}
	return true;
}

void planner_thread_stop(struct planner_thread *t)
{
	atomic_store(&t->stop, true);
	pthread_join(t->thread, NULL);
	planner_destroy(t->planner);
	fs_mailbox_cleanup(&t->applies);
	fs_snap_slot_cleanup(&t->plans_slot);
	free(t);
}
