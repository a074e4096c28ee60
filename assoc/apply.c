/* Writing a decision, as pure logic: the difference between a message's
 * current links and a new decision, the history each change needs, and
 * whether the stored trace must be replaced. store_decision_write() then
 * writes exactly that. */
#include "assoc/assoc.h"

#include <string.h>

static char *
link_key(const StoreLink *l)
{
	return g_strdup_printf("%s:%s", l->module, l->record_id);
}

static void
changes_add(AssocChanges *ch, StoreLinkAction action, const StoreLink *link, const StoreLink *old, char *line)
{
	StoreLinkChange c = { action, link, old ? old->rule : NULL, old ? old->visibility : NULL };
	g_array_append_val(ch->writes, c);
	g_ptr_array_add(ch->lines, line);
}

/* A link of the decision: new, changed (rule or visibility), or as it was. */
static void
diff_link(AssocChanges *ch, const AssocLink *l, const StoreLink *o)
{
	if (!o)
		changes_add(ch, STORE_LINK_ADDED, l, NULL,
			    g_strdup_printf("added %s %s (rule %s, %s)", l->module, l->record_id, l->rule,
					    l->visibility));
	else if (strcmp(o->rule, l->rule) || strcmp(o->visibility, l->visibility))
		changes_add(ch, STORE_LINK_CHANGED, l, o,
			    g_strdup_printf("changed %s %s: rule %s -> %s, %s -> %s", l->module, l->record_id,
					    o->rule, l->rule, o->visibility, l->visibility));
}

AssocChanges *
assoc_apply(const AssocDecision *d, const StoreLinkState *current)
{
	AssocChanges *ch = g_new0(AssocChanges, 1);
	ch->writes = g_array_new(FALSE, FALSE, sizeof(StoreLinkChange));
	ch->lines = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) old = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < current->links->len; i++)
		g_hash_table_insert(old, link_key(current->links->pdata[i]), current->links->pdata[i]);
	for (guint i = 0; i < d->links->len; i++) {
		g_autofree char *k = link_key(d->links->pdata[i]);
		diff_link(ch, d->links->pdata[i], g_hash_table_lookup(old, k));
		g_hash_table_remove(old, k);
	}
	/* What is left was linked before and is not any more; the state is
	 * ordered by module and record id, as "module:id" sorts. */
	for (guint i = 0; i < current->links->len; i++) {
		const StoreLink *o = current->links->pdata[i];
		g_autofree char *k = link_key(o);
		if (g_hash_table_contains(old, k))
			changes_add(ch, STORE_LINK_REMOVED, o, NULL,
				    g_strdup_printf("removed %s %s (was rule %s, %s)", o->module, o->record_id, o->rule,
						    o->visibility));
	}
	/* An unchanged outcome keeps the decision it was first explained by. */
	ch->write_decision = ch->writes->len || !current->trace || strcmp(current->trace, d->trace);
	return ch;
}

void
assoc_changes_free(AssocChanges *ch)
{
	if (!ch)
		return;
	g_array_unref(ch->writes);
	g_ptr_array_unref(ch->lines);
	g_free(ch);
}
