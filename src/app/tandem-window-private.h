/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "tandem-task-details.h"
#include "tandem-task-list-model.h"
#include "tandem-task-row.h"
#include "tandem-window.h"

G_BEGIN_DECLS

struct _TandemWindow
{
  AdwApplicationWindow  parent_instance;

  TandemStore          *store;
  TandemSyncEngine     *engine;
  GSettings            *settings;
  TandemTaskListModel  *model;
  GtkSingleSelection   *selection;
  GHashTable           *sidebar_rows;      /* key → TandemSidebarRow */
  GCancellable         *cancellable;
  char                 *last_deleted_id;
  AdwToast             *last_toast;        /* weak */
  guint                 clock_id;
  guint                 focus_sync_id;
  guint                 state_refresh_id;
  gboolean              show_completed;
  gboolean              selecting_sidebar;
  gboolean              activated_before;

  /* template */
  AdwToastOverlay      *toast_overlay;
  AdwLeaflet           *leaflet;
  GtkMenuButton        *new_list_button;
  GtkPopover           *new_list_popover;
  GtkEntry             *new_list_entry;
  GtkListBox           *sidebar_list;
  AdwWindowTitle       *content_title;
  GtkWidget            *sync_button;
  GtkWidget            *search_button;
  GtkWidget            *state_button;
  GtkSearchBar         *search_bar;
  GtkSearchEntry       *search_entry;
  GtkWidget            *new_task_clamp;
  GtkEntry             *new_task_entry;
  GtkStack             *content_stack;
  GtkListView          *list_view;
  AdwStatusPage        *empty_page;
  TandemTaskDetails    *details;
};

/* tandem-window-actions.c */
void     _tandem_window_class_actions_init  (GtkWidgetClass *widget_class);
void     _tandem_window_actions_init        (TandemWindow   *self);
void     _tandem_window_update_actions      (TandemWindow   *self);
void     _tandem_window_sync_now            (TandemWindow   *self);

/* tandem-window.c */
/* After a change made on this device: read the store again and let the
 * engine know (it syncs shortly after). */
void     _tandem_window_local_change        (TandemWindow   *self);
/* A failed action: a toast saying what could not be done and why. */
void     _tandem_window_show_error          (TandemWindow   *self,
                                             const char     *what,
                                             const GError   *error);
AdwToast *_tandem_window_add_toast          (TandemWindow   *self,
                                             AdwToast       *toast);
/* The selected task, or NULL. */
TandemTaskObject *_tandem_window_get_selected (TandemWindow *self);
void     _tandem_window_select_task         (TandemWindow   *self,
                                             const char     *task_id,
                                             gboolean        scroll);
void     _tandem_window_select_sidebar      (TandemWindow   *self,
                                             const char     *key);
void     _tandem_window_show_details        (TandemWindow   *self);

/* For tests. */
TandemTaskListModel *_tandem_window_get_model        (TandemWindow *self);
TandemTaskRow       *_tandem_window_find_row         (TandemWindow *self,
                                                      const char   *task_id);
GtkEntry            *_tandem_window_get_new_task_entry (TandemWindow *self);
GtkSearchEntry      *_tandem_window_get_search_entry (TandemWindow *self);
TandemTaskDetails   *_tandem_window_get_details      (TandemWindow *self);
const char          *_tandem_window_get_sync_status_text (TandemWindow *self);
AdwToast            *_tandem_window_get_last_toast   (TandemWindow *self);

G_END_DECLS
