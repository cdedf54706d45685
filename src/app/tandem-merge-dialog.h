/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "tandem-store.h"
#include "tandem-sync-engine.h"

G_BEGIN_DECLS

#define TANDEM_TYPE_MERGE_DIALOG (tandem_merge_dialog_get_type ())
G_DECLARE_FINAL_TYPE (TandemMergeDialog, tandem_merge_dialog, TANDEM, MERGE_DIALOG, AdwWindow)

/* A modal window, transient for @parent, that shows the conflict of
 * @task_id side by side and resolves it with the user's choices: one op
 * through @store, then a sync through @engine (which may be NULL). Emits
 * "resolved" (task id) before it closes; Cancel changes nothing. */
GtkWindow  *tandem_merge_dialog_new         (GtkWindow         *parent,
                                             TandemStore       *store,
                                             TandemSyncEngine  *engine,
                                             const char        *task_id);
const char *tandem_merge_dialog_get_task_id (TandemMergeDialog *self);

G_END_DECLS
