/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-server"

#include "config.h"

#include "tandem-server-storage.h"

G_DEFINE_QUARK (tandem-server-storage-error-quark, tandem_server_storage_error)

G_DEFINE_INTERFACE (TandemServerStorage, tandem_server_storage, G_TYPE_OBJECT)

static void
tandem_server_storage_default_init (TandemServerStorageInterface *iface)
{
}

TandemServerRecord *
tandem_server_record_new (void)
{
  TandemServerRecord *record = g_new0 (TandemServerRecord, 1);

  record->body = json_object_new ();
  record->field_revs = json_object_new ();
  return record;
}

void
tandem_server_record_free (TandemServerRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->id);
  g_free (record->updated_at);
  g_free (record->deleted_at);
  g_clear_pointer (&record->body, json_object_unref);
  g_clear_pointer (&record->field_revs, json_object_unref);
  g_free (record);
}

void
tandem_server_history_entry_free (TandemServerHistoryEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->at);
  g_free (entry->device_id);
  g_free (entry->op_id);
  g_free (entry->kind);
  g_free (entry->field);
  g_free (entry->old_value);
  g_free (entry->new_value);
  g_free (entry);
}

gboolean
tandem_server_storage_begin (TandemServerStorage *self,
                             GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->begin (self, error);
}

gboolean
tandem_server_storage_commit (TandemServerStorage *self,
                              GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->commit (self, error);
}

void
tandem_server_storage_rollback (TandemServerStorage *self)
{
  g_return_if_fail (TANDEM_IS_SERVER_STORAGE (self));
  TANDEM_SERVER_STORAGE_GET_IFACE (self)->rollback (self);
}

gboolean
tandem_server_storage_savepoint (TandemServerStorage *self,
                                 GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->savepoint (self, error);
}

gboolean
tandem_server_storage_release (TandemServerStorage *self,
                               GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->release (self, error);
}

void
tandem_server_storage_rollback_to (TandemServerStorage *self)
{
  g_return_if_fail (TANDEM_IS_SERVER_STORAGE (self));
  TANDEM_SERVER_STORAGE_GET_IFACE (self)->rollback_to (self);
}

gboolean
tandem_server_storage_add_token (TandemServerStorage *self,
                                 const char          *user_name,
                                 const char          *token_hash,
                                 GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->add_token (self, user_name, token_hash, error);
}

gboolean
tandem_server_storage_revoke_token (TandemServerStorage *self,
                                    const char          *token_hash,
                                    GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->revoke_token (self, token_hash, error);
}

gboolean
tandem_server_storage_lookup_token (TandemServerStorage *self,
                                    const char          *token_hash,
                                    gint64              *user_id,
                                    GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->lookup_token (self, token_hash, user_id, error);
}

gboolean
tandem_server_storage_get_idempotency (TandemServerStorage *self,
                                       gint64              user_id,
                                       const char          *key,
                                       char                **payload_hash,
                                       char                **result,
                                       GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->get_idempotency (self, user_id, key, payload_hash, result, error);
}

gboolean
tandem_server_storage_put_idempotency (TandemServerStorage *self,
                                       gint64              user_id,
                                       const char          *key,
                                       const char          *payload_hash,
                                       const char          *result,
                                       const char          *created_at,
                                       GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->put_idempotency (self, user_id, key, payload_hash, result, created_at, error);
}

gboolean
tandem_server_storage_claim_keys (TandemServerStorage *self,
                                  gint64               user_id,
                                  const char *const   *keys,
                                  guint                n_keys,
                                  gboolean            *claimed,
                                  GError             **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  g_return_val_if_fail (keys != NULL || n_keys == 0, FALSE);
  g_return_val_if_fail (claimed != NULL || n_keys == 0, FALSE);
  if (n_keys == 0)
    return TRUE;
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->claim_keys (self, user_id, keys, n_keys, claimed,
                                                             error);
}

TandemServerRecord *
tandem_server_storage_get_record (TandemServerStorage *self,
                                  gint64              user_id,
                                  const char          *id,
                                  GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), NULL);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->get_record (self, user_id, id, error);
}

gboolean
tandem_server_storage_put_record (TandemServerStorage *self,
                                  gint64              user_id,
                                  TandemServerRecord  *record,
                                  GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->put_record (self, user_id, record, error);
}

gboolean
tandem_server_storage_count_tasks_in_list (TandemServerStorage *self,
                                           gint64              user_id,
                                           const char          *list_id,
                                           gint64              *count,
                                           GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->count_tasks_in_list (self, user_id, list_id, count, error);
}

GPtrArray *
tandem_server_storage_list_changes (TandemServerStorage *self,
                                    gint64              user_id,
                                    gint64              after_seq,
                                    guint               limit,
                                    GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), NULL);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->list_changes (self, user_id, after_seq, limit, error);
}

gboolean
tandem_server_storage_get_feed_bounds (TandemServerStorage *self,
                                       gint64               user_id,
                                       gint64              *purged_seq,
                                       gint64              *last_seq,
                                       GError             **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->get_feed_bounds (self, user_id, purged_seq,
                                                                  last_seq, error);
}

gboolean
tandem_server_storage_add_history (TandemServerStorage            *self,
                                   gint64                         user_id,
                                   const char                     *entity_id,
                                   const TandemServerHistoryEntry *entry,
                                   GError                         **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->add_history (self, user_id, entity_id, entry, error);
}

GPtrArray *
tandem_server_storage_list_history (TandemServerStorage *self,
                                    gint64              user_id,
                                    const char          *entity_id,
                                    GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), NULL);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->list_history (self, user_id, entity_id, error);
}

gboolean
tandem_server_storage_purge (TandemServerStorage *self,
                             const char          *cutoff,
                             guint               *n_purged,
                             GError              **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->purge (self, cutoff, n_purged, error);
}

gboolean
tandem_server_storage_get_rate_bucket (TandemServerStorage *self,
                                       const char          *key,
                                       gint64              *level,
                                       gint64              *updated_at,
                                       gint64              *version,
                                       GError             **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->get_rate_bucket (self, key, level, updated_at,
                                                                  version, error);
}

gboolean
tandem_server_storage_put_rate_bucket (TandemServerStorage *self,
                                       const char          *key,
                                       gint64               seen_version,
                                       gint64               level,
                                       gint64               updated_at,
                                       gboolean            *stored,
                                       GError             **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (stored != NULL, FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->put_rate_bucket (self, key, seen_version, level,
                                                                  updated_at, stored, error);
}

gboolean
tandem_server_storage_prune_rate_buckets (TandemServerStorage *self,
                                          gint64               before,
                                          GError             **error)
{
  g_return_val_if_fail (TANDEM_IS_SERVER_STORAGE (self), FALSE);
  return TANDEM_SERVER_STORAGE_GET_IFACE (self)->prune_rate_buckets (self, before, error);
}
