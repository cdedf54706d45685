/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "tandem-core"

#include "config.h"

#include "tandem-codec.h"

#include <math.h>
#include <string.h>

#include "tandem-position.h"

G_DEFINE_QUARK (tandem-codec-error-quark, tandem_codec_error)

/* Device ids are made by the device; this only keeps them sane. */
#define DEVICE_ID_MAX 100
/* Longer than any RFC 3339 timestamp; keeps hostile input out of messages. */
#define TIMESTAMP_MAX 64
/* Error messages quote what they refuse; a quote is never the whole body. */
#define MESSAGE_MAX 1000

/* Errors */

static void
set_codec_error (GError           **error,
                 TandemCodecError   code,
                 const char        *path,
                 const char        *message)
{
  g_autofree char *full = NULL;

  if (path != NULL && *path != '\0')
    full = g_strdup_printf ("%s: %s", path, message);
  else
    full = g_strdup (message);

  /* json-glib's parse errors quote the text cut at a byte count, which
   * may split a character; messages end up in JSON problem bodies. */
  if (!g_utf8_validate (full, -1, NULL))
    {
      char *valid = g_utf8_make_valid (full, -1);

      g_free (full);
      full = valid;
    }

  if (strlen (full) > MESSAGE_MAX)
    {
      char *end = g_utf8_find_prev_char (full, full + MESSAGE_MAX);

      *end = '\0';
      g_set_error (error, TANDEM_CODEC_ERROR, code, "%s…", full);
    }
  else
    g_set_error_literal (error, TANDEM_CODEC_ERROR, code, full);
}

static gboolean
fail (GError           **error,
      TandemCodecError   code,
      const char        *path,
      const char        *format,
      ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError           **error,
      TandemCodecError   code,
      const char        *path,
      const char        *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  set_codec_error (error, code, path, message);
  return FALSE;
}

/* The model names the field at the start of some messages ("priority: must
 * be…", "tags[2]: …"); put the full member path in its place so the field
 * is named once. */
static gboolean
fail_model (GError           **error,
            TandemCodecError   code,
            const char        *path,
            const char        *field_name,
            const char        *message)
{
  gsize n = strlen (field_name);

  if (g_str_has_prefix (message, field_name) && (message[n] == ':' || message[n] == '['))
    {
      g_autofree char *full = g_strconcat (path, message + n, NULL);

      set_codec_error (error, code, NULL, full);
      return FALSE;
    }
  set_codec_error (error, code, path, message);
  return FALSE;
}

static char *
member_path (const char *path,
             const char *name)
{
  if (path == NULL || *path == '\0')
    return g_strdup (name);
  return g_strdup_printf ("%s.%s", path, name);
}

static char *
element_path (const char *path,
              guint       index)
{
  return g_strdup_printf ("%s[%u]", path, index);
}

/* What a node is, for "must be a string, got …". */
static char *
describe_node (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup ("an object");
    case JSON_NODE_ARRAY:
      return g_strdup ("an array");
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      return g_strdup_printf ("the integer %" G_GINT64_FORMAT, json_node_get_int (node));
    case G_TYPE_DOUBLE:
      {
        char buffer[G_ASCII_DTOSTR_BUF_SIZE];

        return g_strdup_printf ("the number %s",
                                g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node)));
      }
    case G_TYPE_BOOLEAN:
      return g_strdup (json_node_get_boolean (node) ? "true" : "false");
    case G_TYPE_STRING:
      return g_strdup ("a string");
    default:
      return g_strdup ("a value of another type");
    }
}

static gboolean
holds_value_type (JsonNode *node,
                  GType     type)
{
  return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type;
}

/* Parsing */

static gboolean
is_json_whitespace (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static gboolean
read_hex4 (const char *p,
           const char *end,
           gunichar   *out)
{
  gunichar value = 0;

  if (end - p < 4)
    return FALSE;
  for (guint i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return FALSE;
      value = value * 16 + digit;
    }
  *out = value;
  return TRUE;
}

/* Checks the escape that starts at @p (just after the backslash) and
 * returns the number of bytes it takes, 0 when the text ends first (the
 * parser reports that), or -1 with an error. Escapes that would make text
 * the model cannot hold (\u0000, unpaired surrogates) are refused here,
 * since json-glib would silently truncate or mis-encode them. */
static gssize
scan_escape (const char  *data,
             const char  *p,
             const char  *end,
             GError     **error)
{
  gsize offset = p - 1 - data;
  gunichar unit, low;

  if (p >= end)
    return 0;

  if (strchr ("\"\\/bfnrt", *p) != NULL)
    return 1;
  if (*p != 'u')
    {
      fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
            "malformed JSON: “\\%c” at byte %" G_GSIZE_FORMAT " is not a JSON escape",
            g_ascii_isprint (*p) ? *p : '?', offset);
      return -1;
    }
  if (!read_hex4 (p + 1, end, &unit))
    {
      fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
            "malformed JSON: “\\u” at byte %" G_GSIZE_FORMAT " needs four hex digits", offset);
      return -1;
    }
  if (unit == 0)
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID_UTF8, NULL,
            "a string contains \\u0000 at byte %" G_GSIZE_FORMAT "; text cannot hold NUL characters",
            offset);
      return -1;
    }
  if (unit >= 0xdc00 && unit <= 0xdfff)
    goto unpaired;
  if (unit >= 0xd800 && unit <= 0xdbff)
    {
      if (end - p < 11 || p[5] != '\\' || p[6] != 'u' || !read_hex4 (p + 7, end, &low) ||
          low < 0xdc00 || low > 0xdfff)
        goto unpaired;
      return 11;
    }
  return 5;

unpaired:
  fail (error, TANDEM_CODEC_ERROR_INVALID_UTF8, NULL,
        "a string contains an unpaired UTF-16 surrogate (\\u%04X) at byte %" G_GSIZE_FORMAT
        "; it is not a character", unit, offset);
  return -1;
}

/* Whether @token (@length bytes) is a number as RFC 8259 writes it:
 * json-glib also takes 0x10, 01, .5 and 1. as numbers. */
static gboolean
is_json_number (const char *token,
                gsize       length)
{
  gsize i = 0;

  if (i < length && token[i] == '-')
    i++;
  if (i < length && token[i] == '0')
    i++;
  else if (i < length && token[i] >= '1' && token[i] <= '9')
    {
      while (i < length && g_ascii_isdigit (token[i]))
        i++;
    }
  else
    return FALSE;

  if (i < length && token[i] == '.')
    {
      if (++i >= length || !g_ascii_isdigit (token[i]))
        return FALSE;
      while (i < length && g_ascii_isdigit (token[i]))
        i++;
    }
  if (i < length && (token[i] == 'e' || token[i] == 'E'))
    {
      if (++i < length && (token[i] == '+' || token[i] == '-'))
        i++;
      if (i >= length || !g_ascii_isdigit (token[i]))
        return FALSE;
      while (i < length && g_ascii_isdigit (token[i]))
        i++;
    }
  return i == length;
}

/* Checks the number token at @p and returns its length, or 0 with an
 * error. json-glib wraps integers beyond 64 bits (9223372036854775808
 * becomes -9223372036854775808) and turns 1e400 into an infinity it then
 * writes as "inf.0", so those are refused here. */
static gsize
scan_number (const char  *data,
             const char  *p,
             const char  *end,
             GError     **error)
{
  g_autofree char *token = NULL;
  gsize offset = p - data;
  gsize length = 0;

  while (p + length < end &&
         (g_ascii_isalnum (p[length]) || strchr (".+-", p[length]) != NULL))
    length++;

  token = g_strndup (p, length);
  if (!is_json_number (token, length))
    {
      fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
            "malformed JSON: “%s” at byte %" G_GSIZE_FORMAT " is not a JSON number", token, offset);
      return 0;
    }

  if (strpbrk (token, ".eE") == NULL)
    {
      if (!g_ascii_string_to_signed (token, 10, G_MININT64, G_MAXINT64, NULL, NULL))
        {
          fail (error, TANDEM_CODEC_ERROR_RANGE, NULL,
                "the integer %s at byte %" G_GSIZE_FORMAT " does not fit in 64 bits", token, offset);
          return 0;
        }
    }
  else if (!isfinite (g_ascii_strtod (token, NULL)))
    {
      fail (error, TANDEM_CODEC_ERROR_RANGE, NULL,
            "the number %s at byte %" G_GSIZE_FORMAT " is too large", token, offset);
      return 0;
    }
  return length;
}

/* A linear pass over the text before json-glib sees it: json-glib's parser
 * recurses once per nesting level, so depth is bounded here, where it costs
 * nothing. The pass also refuses what json-glib would accept although it is
 * not JSON: single quotes and comments (which would make this pass lose
 * track of strings), a second value after the first ("{} {}" parses as
 * "{}"), and numbers JSON does not have or json-glib would mangle. */
static gboolean
scan_json (const char  *data,
           gsize        length,
           GError     **error)
{
  const char *end = data + length;
  gboolean in_string = FALSE;
  gboolean in_literal = FALSE;   /* a top-level number, true, false or null */
  gboolean top_done = FALSE;     /* the one top-level value has ended */
  int depth = 0;

  for (const char *p = data; p < end; p++)
    {
      char c = *p;

      if (in_string)
        {
          if (c == '\\')
            {
              gssize skip = scan_escape (data, p + 1, end, error);

              if (skip < 0)
                return FALSE;
              if (skip == 0)
                break;
              p += skip;
            }
          else if (c == '"')
            {
              in_string = FALSE;
              if (depth == 0)
                top_done = TRUE;
            }
          continue;
        }

      if (is_json_whitespace (c))
        {
          if (in_literal)
            {
              in_literal = FALSE;
              top_done = TRUE;
            }
          continue;
        }

      if (depth == 0 && (top_done || (in_literal && strchr ("[{\"", c) != NULL)))
        return fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
                     "malformed JSON: unexpected text after the JSON value at byte %" G_GSIZE_FORMAT,
                     (gsize) (p - data));

      switch (c)
        {
        case '"':
          in_string = TRUE;
          break;

        case '[':
        case '{':
          if (++depth > TANDEM_JSON_MAX_DEPTH)
            return fail (error, TANDEM_CODEC_ERROR_TOO_DEEP, NULL,
                         "JSON nested more than %d levels deep (at byte %" G_GSIZE_FORMAT ")",
                         TANDEM_JSON_MAX_DEPTH, (gsize) (p - data));
          break;

        case ']':
        case '}':
          if (--depth < 0)
            return fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
                         "malformed JSON: “%c” at byte %" G_GSIZE_FORMAT " closes nothing",
                         c, (gsize) (p - data));
          if (depth == 0)
            top_done = TRUE;
          break;

        case '\'':
          return fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
                       "malformed JSON: single quote at byte %" G_GSIZE_FORMAT
                       "; JSON strings use double quotes", (gsize) (p - data));

        case '/':
          return fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL,
                       "malformed JSON: “/” at byte %" G_GSIZE_FORMAT
                       "; JSON has no comments", (gsize) (p - data));

        default:
          if (c == '-' || c == '.' || g_ascii_isdigit (c))
            {
              gsize token_length = scan_number (data, p, end, error);

              if (token_length == 0)
                return FALSE;
              p += token_length - 1;
            }
          if (depth == 0)
            in_literal = TRUE;
          break;
        }
    }
  return TRUE;
}

JsonNode *
tandem_json_parse (const char  *data,
                   gssize       length,
                   GError     **error)
{
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *nul;
  const char *bad;
  JsonNode *root;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (data == NULL)
    data = "";
  if (length < 0)
    length = strlen (data);

  /* A NUL byte is most often UTF-16 sent as bytes. */
  if ((nul = memchr (data, '\0', length)) != NULL)
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID_UTF8, NULL,
            "the JSON text contains a NUL byte at byte %" G_GSIZE_FORMAT
            "; send it as UTF-8 (not UTF-16)", (gsize) (nul - data));
      return NULL;
    }
  if (!g_utf8_validate (data, length, &bad))
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID_UTF8, NULL,
            "the JSON text is not valid UTF-8 (at byte %" G_GSIZE_FORMAT ")",
            (gsize) (bad - data));
      return NULL;
    }
  if (!scan_json (data, length, error))
    return NULL;

  parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data, length, &local_error))
    {
      const char *message = local_error->message;

      if (g_str_has_prefix (message, "<data>:"))
        message += strlen ("<data>:");
      fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL, "malformed JSON: %s", message);
      return NULL;
    }

  root = json_parser_steal_root (parser);
  if (root == NULL)
    {
      fail (error, TANDEM_CODEC_ERROR_MALFORMED, NULL, "malformed JSON: the text is empty");
      return NULL;
    }
  return root;
}

/* Compact JSON, written directly: json-glib's generator builds and frees
 * a string per node and was a sixth of a pull's instructions. The output
 * is json-glib 1.6's to the byte (test-codec checks it), including its
 * escapes: \uXXXX for 0x01-0x1e and 0x7f, short forms for \b \t \n \f
 * \r, 0x1f left as it is; except for doubles with an exponent, which
 * json-glib writes as "1e+40.0", not a JSON number. FALSE when @node holds
 * an infinity or NaN, which JSON cannot write (parsing never makes one). */
static gboolean write_compact (GString  *out,
                               JsonNode *node);

static void
write_string (GString    *out,
              const char *text)
{
  const char *run = text;

  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;
      const char *escape = NULL;
      char buffer[8];

      switch (c)
        {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\b': escape = "\\b"; break;
        case '\t': escape = "\\t"; break;
        case '\n': escape = "\\n"; break;
        case '\f': escape = "\\f"; break;
        case '\r': escape = "\\r"; break;
        default:
          if (c < 0x1f || c == 0x7f)
            {
              g_snprintf (buffer, sizeof buffer, "\\u%04x", c);
              escape = buffer;
            }
        }
      if (escape != NULL)
        {
          g_string_append_len (out, run, p - run);
          g_string_append (out, escape);
          run = p + 1;
        }
    }
  g_string_append (out, run);
  g_string_append_c (out, '"');
}

typedef struct
{
  GString  *out;
  gboolean  first;
  gboolean  ok;
} WriteMembers;

static void
write_member (JsonObject  *object,
              const char  *name,
              JsonNode    *value,
              gpointer     data)
{
  WriteMembers *w = data;

  if (!w->ok)
    return;
  if (!w->first)
    g_string_append_c (w->out, ',');
  w->first = FALSE;
  write_string (w->out, name);
  g_string_append_c (w->out, ':');
  w->ok = write_compact (w->out, value);
}

static void
write_element (JsonArray *array,
               guint      index,
               JsonNode  *value,
               gpointer   data)
{
  WriteMembers *w = data;

  if (!w->ok)
    return;
  if (index > 0)
    g_string_append_c (w->out, ',');
  w->ok = write_compact (w->out, value);
}

static gboolean
write_compact (GString  *out,
               JsonNode *node)
{
  WriteMembers w = { out, TRUE, TRUE };

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      g_string_append_c (out, '{');
      json_object_foreach_member (json_node_get_object (node), write_member, &w);
      g_string_append_c (out, '}');
      return w.ok;

    case JSON_NODE_ARRAY:
      g_string_append_c (out, '[');
      json_array_foreach_element (json_node_get_array (node), write_element, &w);
      g_string_append_c (out, ']');
      return w.ok;

    case JSON_NODE_NULL:
      g_string_append (out, "null");
      return TRUE;

    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          return TRUE;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          return TRUE;
        case G_TYPE_STRING:
          write_string (out, json_node_get_string (node));
          return TRUE;
        case G_TYPE_DOUBLE:
          {
            double value = json_node_get_double (node);
            char buffer[G_ASCII_DTOSTR_BUF_SIZE];

            if (!isfinite (value))
              return FALSE;
            /* The shortest text that reads back as the same double; ".0"
             * keeps it a double where it would read as an integer. */
            g_string_append (out, g_ascii_dtostr (buffer, sizeof buffer, value));
            if (strpbrk (buffer, ".eE") == NULL)
              g_string_append (out, ".0");
            return TRUE;
          }
        default:
          return FALSE;
        }
    }
  return FALSE;
}

char *
tandem_json_to_string (JsonNode *node,
                       gboolean  pretty)
{
  g_autoptr(JsonGenerator) generator = NULL;

  g_return_val_if_fail (node != NULL, NULL);

  if (!pretty)
    {
      GString *out = g_string_sized_new (256);

      if (write_compact (out, node))
        return g_string_free (out, FALSE);
      g_string_free (out, TRUE);
    }

  generator = json_generator_new ();
  json_generator_set_pretty (generator, pretty);
  if (pretty)
    json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

/* Reading members */

static gboolean
check_object (JsonNode    *node,
              const char  *path,
              const char  *what,
              JsonObject **out,
              GError     **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_autofree char *got = describe_node (node);

      if (path == NULL || *path == '\0')
        return fail (error, TANDEM_CODEC_ERROR_TYPE, NULL, "%s must be a JSON object, got %s",
                     what, got);
      return fail (error, TANDEM_CODEC_ERROR_TYPE, path, "must be an object, got %s", got);
    }
  *out = json_node_get_object (node);
  return TRUE;
}

static gboolean
check_array (JsonNode    *node,
             const char  *path,
             JsonArray  **out,
             GError     **error)
{
  if (!JSON_NODE_HOLDS_ARRAY (node))
    {
      g_autofree char *got = describe_node (node);

      return fail (error, TANDEM_CODEC_ERROR_TYPE, path, "must be an array, got %s", got);
    }
  *out = json_node_get_array (node);
  return TRUE;
}

static gboolean
check_string (JsonNode    *node,
              const char  *path,
              gboolean     nullable,
              const char **out,
              GError     **error)
{
  const char *str;

  if (nullable && JSON_NODE_HOLDS_NULL (node))
    {
      *out = NULL;
      return TRUE;
    }
  if (!holds_value_type (node, G_TYPE_STRING))
    {
      g_autofree char *got = describe_node (node);

      return fail (error, TANDEM_CODEC_ERROR_TYPE, path, "must be a string%s, got %s",
                   nullable ? " or null" : "", got);
    }
  /* Trees built by hand have not been through tandem_json_parse(). */
  str = json_node_get_string (node);
  if (str == NULL || !g_utf8_validate (str, -1, NULL))
    return fail (error, TANDEM_CODEC_ERROR_INVALID_UTF8, path, "is not valid UTF-8");
  *out = str;
  return TRUE;
}

static gboolean
check_int (JsonNode    *node,
           const char  *path,
           gint64       min,
           gint64       max,
           gint64      *out,
           GError     **error)
{
  gint64 value;

  if (!holds_value_type (node, G_TYPE_INT64))
    {
      g_autofree char *got = describe_node (node);

      return fail (error, TANDEM_CODEC_ERROR_TYPE, path, "must be an integer, got %s", got);
    }
  value = json_node_get_int (node);
  if (value < min || value > max)
    {
      if (max == G_MAXINT64)
        return fail (error, TANDEM_CODEC_ERROR_RANGE, path,
                     "must be an integer of %" G_GINT64_FORMAT " or more, got %" G_GINT64_FORMAT,
                     min, value);
      return fail (error, TANDEM_CODEC_ERROR_RANGE, path,
                   "must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                   ", got %" G_GINT64_FORMAT, min, max, value);
    }
  *out = value;
  return TRUE;
}

/* Returns the member in *out, or NULL when it is absent and optional. */
static gboolean
get_member (JsonObject  *object,
            const char  *path,
            const char  *name,
            gboolean     required,
            JsonNode   **out,
            GError     **error)
{
  *out = json_object_get_member (object, name);
  if (*out == NULL && required)
    {
      g_autofree char *mpath = member_path (path, name);

      return fail (error, TANDEM_CODEC_ERROR_MISSING, mpath, "required member is missing");
    }
  return TRUE;
}

typedef enum
{
  MEMBER_OPTIONAL = 0,
  MEMBER_REQUIRED = 1 << 0,
  MEMBER_NULLABLE = 1 << 1,
} MemberFlags;

/* *out is NULL when the member is absent (optional) or null (nullable). */
static gboolean
read_string (JsonObject   *object,
             const char   *path,
             const char   *name,
             MemberFlags   flags,
             const char  **out,
             GError      **error)
{
  g_autofree char *mpath = NULL;
  JsonNode *node;

  *out = NULL;
  if (!get_member (object, path, name, flags & MEMBER_REQUIRED, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  mpath = member_path (path, name);
  return check_string (node, mpath, flags & MEMBER_NULLABLE, out, error);
}

/* *out keeps its value when the member is absent (optional). */
static gboolean
read_int (JsonObject  *object,
          const char  *path,
          const char  *name,
          gboolean     required,
          gint64       min,
          gint64       max,
          gint64      *out,
          GError     **error)
{
  g_autofree char *mpath = NULL;
  JsonNode *node;

  if (!get_member (object, path, name, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  mpath = member_path (path, name);
  return check_int (node, mpath, min, max, out, error);
}

static gboolean
read_bool (JsonObject  *object,
           const char  *path,
           const char  *name,
           gboolean    *out,
           GError     **error)
{
  JsonNode *node;

  if (!get_member (object, path, name, TRUE, &node, error))
    return FALSE;
  if (!holds_value_type (node, G_TYPE_BOOLEAN))
    {
      g_autofree char *mpath = member_path (path, name);
      g_autofree char *got = describe_node (node);

      return fail (error, TANDEM_CODEC_ERROR_TYPE, mpath, "must be true or false, got %s", got);
    }
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* *out is NULL when the member is absent (optional). */
static gboolean
read_object (JsonObject   *object,
             const char   *path,
             const char   *name,
             gboolean      required,
             JsonObject  **out,
             GError      **error)
{
  g_autofree char *mpath = NULL;
  JsonNode *node;

  *out = NULL;
  if (!get_member (object, path, name, required, &node, error))
    return FALSE;
  if (node == NULL)
    return TRUE;
  mpath = member_path (path, name);
  return check_object (node, mpath, name, out, error);
}

static gboolean
read_array (JsonObject  *object,
            const char  *path,
            const char  *name,
            JsonArray  **out,
            GError     **error)
{
  g_autofree char *mpath = NULL;
  JsonNode *node;

  if (!get_member (object, path, name, TRUE, &node, error))
    return FALSE;
  mpath = member_path (path, name);
  return check_array (node, mpath, out, error);
}

/* Values */

static gboolean
check_uuid (const char  *id,
            const char  *path,
            GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!tandem_validate_uuid (id, &local_error))
    return fail (error, TANDEM_CODEC_ERROR_INVALID, path, "%s", local_error->message);
  return TRUE;
}

static gboolean
check_timestamp (const char  *str,
                 const char  *path,
                 GError     **error)
{
  g_autoptr(GDateTime) parsed = NULL;

  if (strlen (str) > TIMESTAMP_MAX)
    return fail (error, TANDEM_CODEC_ERROR_RANGE, path,
                 "is %" G_GSIZE_FORMAT " bytes long; an RFC 3339 timestamp is at most %d",
                 strlen (str), TIMESTAMP_MAX);
  /* No default zone: a timestamp without an offset is refused. */
  parsed = g_date_time_new_from_iso8601 (str, NULL);
  if (parsed == NULL)
    return fail (error, TANDEM_CODEC_ERROR_INVALID, path,
                 "“%s” is not an RFC 3339 timestamp such as 2026-11-25T17:31:45Z", str);
  return TRUE;
}

static gboolean
check_device_id (const char  *device_id,
                 const char  *path,
                 GError     **error)
{
  gsize len = strlen (device_id);

  if (len == 0)
    return fail (error, TANDEM_CODEC_ERROR_INVALID, path, "must not be empty");
  if (len > DEVICE_ID_MAX)
    return fail (error, TANDEM_CODEC_ERROR_RANGE, path,
                 "is %" G_GSIZE_FORMAT " bytes long; at most %d", len, DEVICE_ID_MAX);
  for (const char *p = device_id; *p; p = g_utf8_next_char (p))
    if (!g_unichar_isprint (g_utf8_get_char (p)))
      return fail (error, TANDEM_CODEC_ERROR_INVALID, path,
                   "contains a character that is not printable (U+%04X)", g_utf8_get_char (p));
  return TRUE;
}

/* A comment body as the model wants it; too long is a range error. */
static gboolean
check_comment_body (const char  *body,
                    const char  *path,
                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!tandem_validate_comment (body, &local_error))
    return fail (error,
                 strlen (body) > TANDEM_COMMENT_MAX ? TANDEM_CODEC_ERROR_RANGE
                                                    : TANDEM_CODEC_ERROR_INVALID,
                 path, "%s", local_error->message);
  return TRUE;
}

static gboolean
check_tag (const char  *tag,
           const char  *path,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (!tandem_validate_tag (tag, &local_error))
    return fail (error,
                 strlen (tag) > TANDEM_TAG_MAX ? TANDEM_CODEC_ERROR_RANGE
                                               : TANDEM_CODEC_ERROR_INVALID,
                 path, "%s", local_error->message);
  return TRUE;
}

/* Checks the JSON type of a task field's value (so a wrong type is a
 * TYPE error with the member's path), then sets it through the model,
 * which does the rest of the validation. @task is unchanged on error. */
static gboolean
task_set_member (TandemTask   *task,
                 TandemField   field,
                 JsonNode     *value,
                 const char   *path,
                 GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  TandemCodecError code = TANDEM_CODEC_ERROR_INVALID;
  const char *str = NULL;

  switch (field)
    {
    case TANDEM_FIELD_TITLE:
    case TANDEM_FIELD_NOTES:
    case TANDEM_FIELD_POSITION:
      if (!check_string (value, path, FALSE, &str, error))
        return FALSE;
      if ((field == TANDEM_FIELD_TITLE && strlen (str) > TANDEM_TITLE_MAX) ||
          (field == TANDEM_FIELD_NOTES && strlen (str) > TANDEM_NOTES_MAX))
        code = TANDEM_CODEC_ERROR_RANGE;
      break;

    case TANDEM_FIELD_DUE:
    case TANDEM_FIELD_LIST_ID:
      if (!check_string (value, path, TRUE, &str, error))
        return FALSE;
      break;

    case TANDEM_FIELD_DONE:
    case TANDEM_FIELD_DELETED:
      if (!holds_value_type (value, G_TYPE_BOOLEAN))
        {
          g_autofree char *got = describe_node (value);

          return fail (error, TANDEM_CODEC_ERROR_TYPE, path, "must be true or false, got %s", got);
        }
      break;

    case TANDEM_FIELD_PRIORITY:
      if (!holds_value_type (value, G_TYPE_INT64))
        {
          g_autofree char *got = describe_node (value);

          return fail (error, TANDEM_CODEC_ERROR_TYPE, path,
                       "must be an integer from 0 to %d, got %s", TANDEM_PRIORITY_MAX, got);
        }
      code = TANDEM_CODEC_ERROR_RANGE;
      break;

    case TANDEM_FIELD_TAGS:
      {
        JsonArray *array;
        guint n;

        if (!check_array (value, path, &array, error))
          return FALSE;
        n = json_array_get_length (array);
        if (n > TANDEM_TAGS_MAX)
          return fail (error, TANDEM_CODEC_ERROR_RANGE, path,
                       "%u tags; a task has at most %d", n, TANDEM_TAGS_MAX);
        for (guint i = 0; i < n; i++)
          {
            g_autofree char *epath = element_path (path, i);
            const char *tag;

            if (!check_string (json_array_get_element (array, i), epath, FALSE, &tag, error) ||
                !check_tag (tag, epath, error))
              return FALSE;
          }
      }
      break;

    case TANDEM_FIELD_COMMENTS:
    case TANDEM_N_FIELDS:
    default:
      g_assert_not_reached ();
    }

  if (!tandem_task_set_field (task, field, value, &local_error))
    return fail_model (error, code, path, tandem_field_name (field), local_error->message);
  return TRUE;
}

static gboolean
list_set_member (TandemList  *list,
                 const char  *name,
                 JsonNode    *value,
                 const char  *path,
                 GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *str;

  if (!check_string (value, path, FALSE, &str, error))
    return FALSE;

  if (g_str_equal (name, "name"))
    {
      if (!tandem_validate_list_name (str, &local_error))
        return fail (error,
                     strlen (str) > TANDEM_LIST_NAME_MAX ? TANDEM_CODEC_ERROR_RANGE
                                                         : TANDEM_CODEC_ERROR_INVALID,
                     path, "%s", local_error->message);
      g_free (list->name);
      list->name = g_strdup (str);
      return TRUE;
    }

  g_assert (g_str_equal (name, "position"));
  if (!tandem_position_is_valid (str))
    return fail (error, TANDEM_CODEC_ERROR_INVALID, path, "“%s” is not a valid ordering key", str);
  g_free (list->position);
  list->position = g_strdup (str);
  return TRUE;
}

/* json_node_copy() shares objects and arrays; the codec never lets a
 * decoded op or an encoded tree alias the caller's. */
static JsonNode *
node_deep_copy (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObject *copy = json_object_new ();
        g_autoptr(GList) names = json_object_get_members (object);
        JsonNode *result = json_node_new (JSON_NODE_OBJECT);

        for (const GList *l = names; l != NULL; l = l->next)
          json_object_set_member (copy, l->data,
                                  node_deep_copy (json_object_get_member (object, l->data)));
        json_node_take_object (result, copy);
        return result;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);
        JsonArray *copy = json_array_sized_new (n);
        JsonNode *result = json_node_new (JSON_NODE_ARRAY);

        for (guint i = 0; i < n; i++)
          json_array_add_element (copy, node_deep_copy (json_array_get_element (array, i)));
        json_node_take_array (result, copy);
        return result;
      }

    case JSON_NODE_VALUE:
    case JSON_NODE_NULL:
    default:
      return json_node_copy (node);
    }
}

static JsonObject *
object_deep_copy (JsonObject *object)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonNode) copy = NULL;

  json_node_set_object (node, object);
  copy = node_deep_copy (node);
  return json_object_ref (json_node_get_object (copy));
}

static JsonNode *
string_or_null (const char *str)
{
  if (str == NULL)
    return json_node_new (JSON_NODE_NULL);
  return json_node_init_string (json_node_alloc (), str);
}

/* Records */

TandemRecord *
tandem_record_new_task (TandemTask *task)
{
  TandemRecord *record;

  g_return_val_if_fail (task != NULL, NULL);

  record = g_new0 (TandemRecord, 1);
  record->entity = TANDEM_ENTITY_TASK;
  record->task = task;
  return record;
}

TandemRecord *
tandem_record_new_list (TandemList *list)
{
  TandemRecord *record;

  g_return_val_if_fail (list != NULL, NULL);

  record = g_new0 (TandemRecord, 1);
  record->entity = TANDEM_ENTITY_LIST;
  record->list = list;
  return record;
}

void
tandem_record_free (TandemRecord *record)
{
  if (record == NULL)
    return;
  g_clear_pointer (&record->task, tandem_task_free);
  g_clear_pointer (&record->list, tandem_list_free);
  g_free (record);
}

static const TandemField task_wire_fields[] = {
  TANDEM_FIELD_LIST_ID,
  TANDEM_FIELD_TITLE,
  TANDEM_FIELD_NOTES,
  TANDEM_FIELD_DONE,
  TANDEM_FIELD_DUE,
  TANDEM_FIELD_PRIORITY,
  TANDEM_FIELD_POSITION,
  TANDEM_FIELD_TAGS,
  TANDEM_FIELD_COMMENTS,
};

JsonNode *
tandem_task_to_json (const TandemTask *task)
{
  JsonObject *object;
  JsonNode *node;

  g_return_val_if_fail (task != NULL, NULL);

  object = json_object_new ();
  json_object_set_string_member (object, "entity", "task");
  json_object_set_member (object, "id", string_or_null (task->id));
  for (guint i = 0; i < G_N_ELEMENTS (task_wire_fields); i++)
    json_object_set_member (object, tandem_field_name (task_wire_fields[i]),
                            tandem_task_get_field (task, task_wire_fields[i]));
  json_object_set_int_member (object, "rev", task->rev);
  json_object_set_member (object, "updated_at", string_or_null (task->updated_at));
  json_object_set_boolean_member (object, "deleted", task->deleted);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

static gboolean
check_entity_member (JsonObject  *object,
                     const char  *path,
                     const char  *expected,
                     GError     **error)
{
  g_autofree char *mpath = member_path (path, "entity");
  const char *entity;

  if (!read_string (object, path, "entity", MEMBER_REQUIRED, &entity, error))
    return FALSE;
  if (!g_str_equal (entity, expected))
    return fail (error, TANDEM_CODEC_ERROR_INVALID, mpath, "expected “%s”, got “%s”",
                 expected, entity);
  return TRUE;
}

static gboolean
read_comment (JsonNode       *node,
              const char     *path,
              TandemComment **out,
              GError        **error)
{
  g_autofree char *id_path = member_path (path, "id");
  g_autofree char *body_path = member_path (path, "body");
  g_autofree char *device_path = member_path (path, "device_id");
  g_autofree char *created_path = member_path (path, "created_at");
  const char *id, *body, *device_id, *created_at;
  JsonObject *object;

  if (!check_object (node, path, "a comment", &object, error) ||
      !read_string (object, path, "id", MEMBER_REQUIRED, &id, error) ||
      !check_uuid (id, id_path, error) ||
      !read_string (object, path, "body", MEMBER_REQUIRED, &body, error) ||
      !check_comment_body (body, body_path, error) ||
      !read_string (object, path, "device_id", MEMBER_REQUIRED, &device_id, error) ||
      !check_device_id (device_id, device_path, error) ||
      !read_string (object, path, "created_at", MEMBER_REQUIRED, &created_at, error) ||
      !check_timestamp (created_at, created_path, error))
    return FALSE;

  *out = tandem_comment_new (id, body, device_id, created_at);
  return TRUE;
}

static TandemTask *
task_from_json_at (JsonNode    *node,
                   const char  *path,
                   GError     **error)
{
  g_autoptr(TandemTask) task = NULL;
  g_autofree char *id_path = member_path (path, "id");
  g_autofree char *comments_path = member_path (path, "comments");
  g_autofree char *updated_path = member_path (path, "updated_at");
  JsonObject *object;
  JsonArray *comments;
  const char *id;
  const char *updated_at;

  if (!check_object (node, path, "a task", &object, error) ||
      !check_entity_member (object, path, "task", error) ||
      !read_string (object, path, "id", MEMBER_REQUIRED, &id, error) ||
      !check_uuid (id, id_path, error))
    return NULL;

  task = tandem_task_new ();
  task->id = g_strdup (id);

  for (guint i = 0; i < G_N_ELEMENTS (task_wire_fields); i++)
    {
      TandemField field = task_wire_fields[i];
      const char *name = tandem_field_name (field);
      g_autofree char *mpath = member_path (path, name);
      JsonNode *value;

      if (field == TANDEM_FIELD_COMMENTS)
        continue;
      if (!get_member (object, path, name, TRUE, &value, error) ||
          !task_set_member (task, field, value, mpath, error))
        return NULL;
    }

  if (!read_array (object, path, "comments", &comments, error))
    return NULL;
  for (guint i = 0; i < json_array_get_length (comments); i++)
    {
      g_autofree char *epath = element_path (comments_path, i);
      TandemComment *comment = NULL;

      if (!read_comment (json_array_get_element (comments, i), epath, &comment, error))
        return NULL;
      if (!tandem_task_add_comment (task, comment))   /* frees a duplicate */
        {
          g_autofree char *id_epath = member_path (epath, "id");

          fail (error, TANDEM_CODEC_ERROR_INVALID, id_epath, "a comment with this id is already in the task");
          return NULL;
        }
    }

  if (!read_int (object, path, "rev", TRUE, 0, G_MAXINT64, &task->rev, error) ||
      !read_string (object, path, "updated_at", MEMBER_REQUIRED | MEMBER_NULLABLE, &updated_at, error) ||
      (updated_at != NULL && !check_timestamp (updated_at, updated_path, error)))
    return NULL;
  task->updated_at = g_strdup (updated_at);

  {
    g_autofree char *deleted_path = member_path (path, "deleted");
    JsonNode *value;

    if (!get_member (object, path, "deleted", TRUE, &value, error) ||
        !task_set_member (task, TANDEM_FIELD_DELETED, value, deleted_path, error))
      return NULL;
  }

  /* A record on the wire is the server's state. */
  task->sync_status = TANDEM_SYNC_SYNCED;
  return g_steal_pointer (&task);
}

TandemTask *
tandem_task_from_json (JsonNode  *node,
                       GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return task_from_json_at (node, "", error);
}

JsonNode *
tandem_list_to_json (const TandemList *list)
{
  JsonObject *object;
  JsonNode *node;

  g_return_val_if_fail (list != NULL, NULL);

  object = json_object_new ();
  json_object_set_string_member (object, "entity", "list");
  json_object_set_member (object, "id", string_or_null (list->id));
  json_object_set_member (object, "name", string_or_null (list->name));
  json_object_set_member (object, "position", string_or_null (list->position));
  json_object_set_int_member (object, "rev", list->rev);
  json_object_set_member (object, "updated_at", string_or_null (list->updated_at));
  json_object_set_boolean_member (object, "deleted", list->deleted);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

static TandemList *
list_from_json_at (JsonNode    *node,
                   const char  *path,
                   GError     **error)
{
  g_autoptr(TandemList) list = NULL;
  g_autofree char *id_path = member_path (path, "id");
  g_autofree char *updated_path = member_path (path, "updated_at");
  static const char *members[] = { "name", "position" };
  JsonObject *object;
  const char *id;
  const char *updated_at;

  if (!check_object (node, path, "a list", &object, error) ||
      !check_entity_member (object, path, "list", error) ||
      !read_string (object, path, "id", MEMBER_REQUIRED, &id, error) ||
      !check_uuid (id, id_path, error))
    return NULL;

  list = tandem_list_new ();
  list->id = g_strdup (id);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      g_autofree char *mpath = member_path (path, members[i]);
      JsonNode *value;

      if (!get_member (object, path, members[i], TRUE, &value, error) ||
          !list_set_member (list, members[i], value, mpath, error))
        return NULL;
    }

  if (!read_int (object, path, "rev", TRUE, 0, G_MAXINT64, &list->rev, error) ||
      !read_string (object, path, "updated_at", MEMBER_REQUIRED | MEMBER_NULLABLE, &updated_at, error) ||
      (updated_at != NULL && !check_timestamp (updated_at, updated_path, error)) ||
      !read_bool (object, path, "deleted", &list->deleted, error))
    return NULL;
  list->updated_at = g_strdup (updated_at);

  list->sync_status = TANDEM_SYNC_SYNCED;
  return g_steal_pointer (&list);
}

TandemList *
tandem_list_from_json (JsonNode  *node,
                       GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return list_from_json_at (node, "", error);
}

JsonNode *
tandem_record_to_json (const TandemRecord *record)
{
  g_return_val_if_fail (record != NULL, NULL);

  switch (record->entity)
    {
    case TANDEM_ENTITY_TASK:
      g_return_val_if_fail (record->task != NULL, NULL);
      return tandem_task_to_json (record->task);
    case TANDEM_ENTITY_LIST:
      g_return_val_if_fail (record->list != NULL, NULL);
      return tandem_list_to_json (record->list);
    default:
      break;
    }
  g_return_val_if_reached (NULL);
}

static gboolean
parse_entity (const char    *str,
              const char    *path,
              TandemEntity  *entity,
              GError       **error)
{
  if (!tandem_entity_from_string (str, entity))
    return fail (error, TANDEM_CODEC_ERROR_INVALID, path, "“%s” is not an entity (task, list)", str);
  return TRUE;
}

static TandemRecord *
record_from_json_at (JsonNode    *node,
                     const char  *path,
                     GError     **error)
{
  g_autofree char *entity_path = member_path (path, "entity");
  JsonObject *object;
  TandemEntity entity;
  const char *str;

  if (!check_object (node, path, "a record", &object, error) ||
      !read_string (object, path, "entity", MEMBER_REQUIRED, &str, error) ||
      !parse_entity (str, entity_path, &entity, error))
    return NULL;

  if (entity == TANDEM_ENTITY_TASK)
    {
      TandemTask *task = task_from_json_at (node, path, error);

      return task != NULL ? tandem_record_new_task (task) : NULL;
    }
  else
    {
      TandemList *list = list_from_json_at (node, path, error);

      return list != NULL ? tandem_record_new_list (list) : NULL;
    }
}

TandemRecord *
tandem_record_from_json (JsonNode  *node,
                         GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return record_from_json_at (node, "", error);
}

/* Ops */

JsonNode *
tandem_op_to_json (const TandemOp *op)
{
  JsonObject *object;
  JsonNode *node;

  g_return_val_if_fail (op != NULL, NULL);

  object = json_object_new ();
  json_object_set_member (object, "op_id", string_or_null (op->op_id));
  json_object_set_string_member (object, "entity", tandem_entity_to_string (op->entity));
  json_object_set_member (object, "entity_id", string_or_null (op->entity_id));
  json_object_set_string_member (object, "kind", tandem_op_kind_to_string (op->kind));
  json_object_set_int_member (object, "base_rev", op->base_rev);
  json_object_set_object_member (object, "patch",
                                 op->patch != NULL ? object_deep_copy (op->patch) : json_object_new ());
  json_object_set_object_member (object, "base",
                                 op->base != NULL ? object_deep_copy (op->base) : json_object_new ());
  if (op->created_at != NULL)
    json_object_set_string_member (object, "created_at", op->created_at);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

/* Checks that @patch holds only @allowed (a NULL-terminated list). */
static gboolean
check_patch_members (JsonObject          *patch,
                     const char          *path,
                     TandemOpKind         kind,
                     const char * const  *allowed,
                     GError             **error)
{
  g_autoptr(GList) names = json_object_get_members (patch);

  for (const GList *l = names; l != NULL; l = l->next)
    {
      if (!g_strv_contains (allowed, l->data))
        {
          g_autofree char *mpath = member_path (path, l->data);
          g_autofree char *list = g_strjoinv (", ", (char **) allowed);

          if (allowed[0] == NULL)
            return fail (error, TANDEM_CODEC_ERROR_INVALID, mpath,
                         "a %s carries no fields; its patch must be {}",
                         tandem_op_kind_to_string (kind));
          return fail (error, TANDEM_CODEC_ERROR_INVALID, mpath,
                       "not a member of a %s patch (it holds only %s)",
                       tandem_op_kind_to_string (kind), list);
        }
    }
  return TRUE;
}

static gboolean
check_task_patch (TandemOpKind   kind,
                  JsonObject    *patch,
                  const char    *path,
                  GError       **error)
{
  static const char * const none[] = { NULL };
  static const char * const tag_members[] = { "tag", NULL };
  static const char * const comment_members[] = { "comment_id", "body", NULL };

  switch (kind)
    {
    case TANDEM_OP_CREATE:
    case TANDEM_OP_UPDATE:
    case TANDEM_OP_RESTORE:
      {
        g_autoptr(TandemTask) scratch = tandem_task_new ();
        g_autoptr(GList) names = json_object_get_members (patch);

        for (const GList *l = names; l != NULL; l = l->next)
          {
            g_autofree char *mpath = member_path (path, l->data);
            TandemField field;

            if (!tandem_field_from_name (l->data, &field) || !tandem_field_is_patchable (field))
              return fail (error, TANDEM_CODEC_ERROR_INVALID, mpath,
                           "not a task field a patch can set (title, notes, done, due, "
                           "priority, list_id, position, tags)");
            if (!task_set_member (scratch, field, json_object_get_member (patch, l->data),
                                  mpath, error))
              return FALSE;
          }
        if (kind == TANDEM_OP_CREATE && !json_object_has_member (patch, "title"))
          {
            g_autofree char *mpath = member_path (path, "title");

            return fail (error, TANDEM_CODEC_ERROR_MISSING, mpath,
                         "required member is missing; a create needs a title");
          }
        if (kind == TANDEM_OP_UPDATE && json_object_get_size (patch) == 0)
          return fail (error, TANDEM_CODEC_ERROR_INVALID, path,
                       "an update must set at least one field");
        return TRUE;
      }

    case TANDEM_OP_DELETE:
      return check_patch_members (patch, path, kind, none, error);

    case TANDEM_OP_TAG_ADD:
    case TANDEM_OP_TAG_REMOVE:
      {
        g_autofree char *tag_path = member_path (path, "tag");
        const char *tag;

        return check_patch_members (patch, path, kind, tag_members, error) &&
               read_string (patch, path, "tag", MEMBER_REQUIRED, &tag, error) &&
               check_tag (tag, tag_path, error);
      }

    case TANDEM_OP_COMMENT_ADD:
      {
        g_autofree char *id_path = member_path (path, "comment_id");
        g_autofree char *body_path = member_path (path, "body");
        const char *id, *body;

        return check_patch_members (patch, path, kind, comment_members, error) &&
               read_string (patch, path, "comment_id", MEMBER_REQUIRED, &id, error) &&
               check_uuid (id, id_path, error) &&
               read_string (patch, path, "body", MEMBER_REQUIRED, &body, error) &&
               check_comment_body (body, body_path, error);
      }

    default:
      break;
    }
  g_assert_not_reached ();
  return FALSE;
}

static gboolean
check_list_patch (TandemOpKind   kind,
                  JsonObject    *patch,
                  const char    *path,
                  GError       **error)
{
  static const char * const none[] = { NULL };
  static const char * const fields[] = { "name", "position", NULL };
  g_autoptr(TandemList) scratch = NULL;
  g_autoptr(GList) names = NULL;

  if (kind == TANDEM_OP_DELETE)
    return check_patch_members (patch, path, kind, none, error);

  g_assert (kind == TANDEM_OP_CREATE || kind == TANDEM_OP_UPDATE || kind == TANDEM_OP_RESTORE);

  if (!check_patch_members (patch, path, kind, fields, error))
    return FALSE;

  scratch = tandem_list_new ();
  names = json_object_get_members (patch);
  for (const GList *l = names; l != NULL; l = l->next)
    {
      g_autofree char *mpath = member_path (path, l->data);

      if (!list_set_member (scratch, l->data, json_object_get_member (patch, l->data), mpath, error))
        return FALSE;
    }
  if (kind == TANDEM_OP_CREATE && !json_object_has_member (patch, "name"))
    {
      g_autofree char *mpath = member_path (path, "name");

      return fail (error, TANDEM_CODEC_ERROR_MISSING, mpath,
                   "required member is missing; a list create needs a name");
    }
  if (kind == TANDEM_OP_UPDATE && json_object_get_size (patch) == 0)
    return fail (error, TANDEM_CODEC_ERROR_INVALID, path, "an update must set at least one field");
  return TRUE;
}

static TandemOp *
op_from_json_at (JsonNode    *node,
                 const char  *path,
                 GError     **error)
{
  g_autoptr(TandemOp) op = NULL;
  g_autofree char *op_id_path = member_path (path, "op_id");
  g_autofree char *entity_path = member_path (path, "entity");
  g_autofree char *entity_id_path = member_path (path, "entity_id");
  g_autofree char *kind_path = member_path (path, "kind");
  g_autofree char *base_rev_path = member_path (path, "base_rev");
  g_autofree char *patch_path = member_path (path, "patch");
  g_autofree char *created_path = member_path (path, "created_at");
  const char *op_id, *entity_str, *entity_id, *kind_str, *created_at;
  JsonObject *object, *patch, *base;
  TandemEntity entity;
  TandemOpKind kind;
  gint64 base_rev = 0;

  if (!check_object (node, path, "an op", &object, error) ||
      !read_string (object, path, "op_id", MEMBER_REQUIRED, &op_id, error) ||
      !check_uuid (op_id, op_id_path, error) ||
      !read_string (object, path, "entity", MEMBER_REQUIRED, &entity_str, error) ||
      !parse_entity (entity_str, entity_path, &entity, error) ||
      !read_string (object, path, "entity_id", MEMBER_REQUIRED, &entity_id, error) ||
      !check_uuid (entity_id, entity_id_path, error) ||
      !read_string (object, path, "kind", MEMBER_REQUIRED, &kind_str, error))
    return NULL;

  if (!tandem_op_kind_from_string (kind_str, &kind))
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID, kind_path,
            "“%s” is not an op kind (create, update, delete, restore, tag_add, tag_remove, "
            "comment_add)", kind_str);
      return NULL;
    }
  if (entity == TANDEM_ENTITY_LIST &&
      (kind == TANDEM_OP_TAG_ADD || kind == TANDEM_OP_TAG_REMOVE || kind == TANDEM_OP_COMMENT_ADD))
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID, kind_path,
            "a list has no %s; list ops are create, update, delete and restore", kind_str);
      return NULL;
    }

  if (!read_int (object, path, "base_rev", TRUE, 0, G_MAXINT64, &base_rev, error))
    return NULL;
  if (kind == TANDEM_OP_CREATE && base_rev != 0)
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID, base_rev_path,
            "must be 0 for a create, got %" G_GINT64_FORMAT, base_rev);
      return NULL;
    }

  if (!read_object (object, path, "patch", TRUE, &patch, error) ||
      !read_object (object, path, "base", FALSE, &base, error) ||
      !read_string (object, path, "created_at", MEMBER_OPTIONAL, &created_at, error) ||
      (created_at != NULL && !check_timestamp (created_at, created_path, error)))
    return NULL;

  if (entity == TANDEM_ENTITY_TASK ? !check_task_patch (kind, patch, patch_path, error)
                                   : !check_list_patch (kind, patch, patch_path, error))
    return NULL;

  op = tandem_op_new ();
  op->op_id = g_strdup (op_id);
  op->entity = entity;
  op->entity_id = g_strdup (entity_id);
  op->kind = kind;
  op->base_rev = base_rev;
  g_clear_pointer (&op->patch, json_object_unref);
  op->patch = object_deep_copy (patch);
  if (base != NULL)
    {
      g_clear_pointer (&op->base, json_object_unref);
      op->base = object_deep_copy (base);
    }
  op->created_at = g_strdup (created_at);
  return g_steal_pointer (&op);
}

TandemOp *
tandem_op_from_json (JsonNode  *node,
                     GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return op_from_json_at (node, "", error);
}

/* Canonical JSON: object members sorted by their UTF-8 bytes, no
 * whitespace, strings escaped minimally (", \ and control characters),
 * integers in decimal. */
static void
canonical_string (GString    *out,
                  const char *str)
{
  g_string_append_c (out, '"');
  for (const char *p = str; *p; p++)
    {
      guchar c = *p;

      switch (c)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, c);
          break;
        }
    }
  g_string_append_c (out, '"');
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (a, b);
}

static void
canonical_node (GString  *out,
                JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        g_autoptr(GList) names = g_list_sort (json_object_get_members (object), compare_strings);

        g_string_append_c (out, '{');
        for (const GList *l = names; l != NULL; l = l->next)
          {
            if (l != names)
              g_string_append_c (out, ',');
            canonical_string (out, l->data);
            g_string_append_c (out, ':');
            canonical_node (out, json_object_get_member (object, l->data));
          }
        g_string_append_c (out, '}');
      }
      break;

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            canonical_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
      }
      break;

    case JSON_NODE_NULL:
      g_string_append (out, "null");
      break;

    case JSON_NODE_VALUE:
    default:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_DOUBLE:
          {
            char buffer[G_ASCII_DTOSTR_BUF_SIZE];

            g_string_append (out, g_ascii_dtostr (buffer, sizeof buffer, json_node_get_double (node)));
          }
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_STRING:
          canonical_string (out, json_node_get_string (node));
          break;
        default:
          g_warn_if_reached ();
          g_string_append (out, "null");
          break;
        }
      break;
    }
}

char *
tandem_op_payload_hash (const TandemOp *op)
{
  g_autoptr(JsonObject) payload = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GString) canonical = NULL;

  g_return_val_if_fail (op != NULL, NULL);
  g_return_val_if_fail (op->patch != NULL, NULL);

  payload = json_object_new ();
  json_object_set_string_member (payload, "entity", tandem_entity_to_string (op->entity));
  json_object_set_member (payload, "entity_id", string_or_null (op->entity_id));
  json_object_set_string_member (payload, "kind", tandem_op_kind_to_string (op->kind));
  json_object_set_int_member (payload, "base_rev", op->base_rev);
  json_object_set_object_member (payload, "patch", json_object_ref (op->patch));

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, payload);
  canonical = g_string_new (NULL);
  canonical_node (canonical, node);
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, canonical->str, canonical->len);
}

/* Push */

TandemPushRequest *
tandem_push_request_new (void)
{
  TandemPushRequest *request = g_new0 (TandemPushRequest, 1);

  request->ops = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_op_free);
  return request;
}

void
tandem_push_request_free (TandemPushRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->device_id);
  g_clear_pointer (&request->ops, g_ptr_array_unref);
  g_free (request);
}

JsonNode *
tandem_push_request_to_json (const TandemPushRequest *request)
{
  JsonObject *object;
  JsonArray *ops;
  JsonNode *node;

  g_return_val_if_fail (request != NULL, NULL);

  object = json_object_new ();
  json_object_set_member (object, "device_id", string_or_null (request->device_id));
  ops = json_array_sized_new (request->ops->len);
  for (guint i = 0; i < request->ops->len; i++)
    json_array_add_element (ops, tandem_op_to_json (g_ptr_array_index (request->ops, i)));
  json_object_set_array_member (object, "ops", ops);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

TandemPushRequest *
tandem_push_request_from_json (JsonNode  *node,
                               GError   **error)
{
  g_autoptr(TandemPushRequest) request = NULL;
  JsonObject *object;
  JsonArray *ops;
  const char *device_id;
  guint n;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_object (node, "", "a push request", &object, error) ||
      !read_string (object, "", "device_id", MEMBER_REQUIRED, &device_id, error) ||
      !check_device_id (device_id, "device_id", error) ||
      !read_array (object, "", "ops", &ops, error))
    return NULL;

  n = json_array_get_length (ops);
  if (n > TANDEM_PUSH_MAX_OPS)
    {
      fail (error, TANDEM_CODEC_ERROR_RANGE, "ops", "%u ops in one push; at most %d",
            n, TANDEM_PUSH_MAX_OPS);
      return NULL;
    }

  request = tandem_push_request_new ();
  request->device_id = g_strdup (device_id);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *epath = element_path ("ops", i);
      TandemOp *op = op_from_json_at (json_array_get_element (ops, i), epath, error);

      if (op == NULL)
        return NULL;
      op->device_id = g_strdup (device_id);
      g_ptr_array_add (request->ops, op);
    }
  return g_steal_pointer (&request);
}

TandemPushResult *
tandem_push_result_new (void)
{
  TandemPushResult *result = g_new0 (TandemPushResult, 1);

  result->field_revs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return result;
}

void
tandem_push_result_free (TandemPushResult *result)
{
  if (result == NULL)
    return;
  g_free (result->op_id);
  g_free (result->type);
  g_clear_pointer (&result->record, tandem_record_free);
  g_clear_pointer (&result->current, tandem_record_free);
  g_clear_pointer (&result->field_revs, g_hash_table_unref);
  g_free (result->error);
  g_free (result);
}

static int
compare_string_ptrs (gconstpointer a,
                     gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

JsonNode *
tandem_push_result_to_json (const TandemPushResult *result)
{
  JsonObject *object;
  JsonNode *node;

  g_return_val_if_fail (result != NULL, NULL);

  object = json_object_new ();
  json_object_set_member (object, "op_id", string_or_null (result->op_id));
  json_object_set_int_member (object, "status", result->status);
  json_object_set_member (object, "type", string_or_null (result->type));
  if (result->record != NULL)
    json_object_set_member (object, tandem_entity_to_string (result->record->entity),
                            tandem_record_to_json (result->record));
  if (result->current != NULL)
    json_object_set_member (object, "current", tandem_record_to_json (result->current));
  if (result->field_revs != NULL &&
      (result->current != NULL || g_hash_table_size (result->field_revs) > 0))
    {
      g_autoptr(GPtrArray) names = g_ptr_array_new ();
      JsonObject *revs = json_object_new ();
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, result->field_revs);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (names, key);

      /* Sorted, so the same result always encodes to the same text. */
      g_ptr_array_sort (names, compare_string_ptrs);
      for (guint i = 0; i < names->len; i++)
        {
          const char *name = g_ptr_array_index (names, i);
          const gint64 *rev = g_hash_table_lookup (result->field_revs, name);

          json_object_set_int_member (revs, name, *rev);
        }
      json_object_set_object_member (object, "field_revs", revs);
    }
  if (result->error != NULL)
    json_object_set_string_member (object, "error", result->error);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

static TandemPushResult *
push_result_from_json_at (JsonNode    *node,
                          const char  *path,
                          GError     **error)
{
  g_autoptr(TandemPushResult) result = NULL;
  g_autofree char *op_id_path = member_path (path, "op_id");
  g_autofree char *type_path = member_path (path, "type");
  g_autofree char *task_path = member_path (path, "task");
  g_autofree char *list_path = member_path (path, "list");
  g_autofree char *current_path = member_path (path, "current");
  g_autofree char *field_revs_path = member_path (path, "field_revs");
  g_autofree char *error_path = member_path (path, "error");
  JsonObject *object, *field_revs;
  JsonNode *task_node, *list_node, *current_node;
  const char *op_id, *type, *message;
  gint64 status = 0;

  /* An invalid op (and one held behind it) may have no usable op_id: the
   * server answers with what was sent, or null, and the result is known by
   * its place in the response. Every other result names a real op. */
  if (!check_object (node, path, "a push result", &object, error) ||
      !read_string (object, path, "op_id", MEMBER_REQUIRED | MEMBER_NULLABLE, &op_id, error) ||
      !read_int (object, path, "status", TRUE, 100, 599, &status, error) ||
      !read_string (object, path, "type", MEMBER_REQUIRED, &type, error))
    return NULL;
  if (*type == '\0')
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID, type_path, "must not be empty");
      return NULL;
    }
  if (!g_str_equal (type, "invalid") && !g_str_equal (type, "held"))
    {
      if (op_id == NULL)
        {
          fail (error, TANDEM_CODEC_ERROR_TYPE, op_id_path, "must be a string, got null");
          return NULL;
        }
      if (!check_uuid (op_id, op_id_path, error))
        return NULL;
    }

  result = tandem_push_result_new ();
  result->op_id = g_strdup (op_id);
  result->status = status;
  result->type = g_strdup (type);

  task_node = json_object_get_member (object, "task");
  list_node = json_object_get_member (object, "list");
  if (task_node != NULL && list_node != NULL)
    {
      fail (error, TANDEM_CODEC_ERROR_INVALID, list_path,
            "a result carries one record, “task” or “list”, not both");
      return NULL;
    }
  if (task_node != NULL)
    {
      TandemTask *task = task_from_json_at (task_node, task_path, error);

      if (task == NULL)
        return NULL;
      result->record = tandem_record_new_task (task);
    }
  else if (list_node != NULL)
    {
      TandemList *list = list_from_json_at (list_node, list_path, error);

      if (list == NULL)
        return NULL;
      result->record = tandem_record_new_list (list);
    }
  else if (g_str_equal (type, "applied"))
    {
      fail (error, TANDEM_CODEC_ERROR_MISSING, task_path,
            "required member is missing; an applied result carries the record (“task” or “list”)");
      return NULL;
    }

  current_node = json_object_get_member (object, "current");
  if (current_node != NULL)
    {
      if (!(result->current = record_from_json_at (current_node, current_path, error)))
        return NULL;
    }
  else if (g_str_equal (type, "conflict"))
    {
      fail (error, TANDEM_CODEC_ERROR_MISSING, current_path,
            "required member is missing; a conflict carries the server's record");
      return NULL;
    }

  if (!read_object (object, path, "field_revs", FALSE, &field_revs, error))
    return NULL;
  if (field_revs != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (field_revs);

      for (const GList *l = names; l != NULL; l = l->next)
        {
          g_autofree char *mpath = member_path (field_revs_path, l->data);
          gint64 rev;

          if (!check_int (json_object_get_member (field_revs, l->data), mpath, 0, G_MAXINT64,
                          &rev, error))
            return NULL;
          g_hash_table_insert (result->field_revs, g_strdup (l->data), g_memdup2 (&rev, sizeof rev));
        }
    }

  if (!read_string (object, path, "error", MEMBER_OPTIONAL, &message, error))
    return NULL;
  if (message == NULL && g_str_equal (type, "invalid"))
    {
      fail (error, TANDEM_CODEC_ERROR_MISSING, error_path,
            "required member is missing; an invalid result says why");
      return NULL;
    }
  result->error = g_strdup (message);

  return g_steal_pointer (&result);
}

TandemPushResult *
tandem_push_result_from_json (JsonNode  *node,
                              GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return push_result_from_json_at (node, "", error);
}

JsonNode *
tandem_push_response_to_json (GPtrArray *results)
{
  JsonObject *object;
  JsonArray *array;
  JsonNode *node;

  g_return_val_if_fail (results != NULL, NULL);

  array = json_array_sized_new (results->len);
  for (guint i = 0; i < results->len; i++)
    json_array_add_element (array, tandem_push_result_to_json (g_ptr_array_index (results, i)));
  object = json_object_new ();
  json_object_set_array_member (object, "results", array);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

GPtrArray *
tandem_push_response_from_json (JsonNode  *node,
                                GError   **error)
{
  g_autoptr(GPtrArray) results = NULL;
  JsonObject *object;
  JsonArray *array;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_object (node, "", "a push response", &object, error) ||
      !read_array (object, "", "results", &array, error))
    return NULL;

  results = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_push_result_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *epath = element_path ("results", i);
      TandemPushResult *result;

      result = push_result_from_json_at (json_array_get_element (array, i), epath, error);
      if (result == NULL)
        return NULL;
      g_ptr_array_add (results, result);
    }
  return g_steal_pointer (&results);
}

/* Changes */

TandemChangesPage *
tandem_changes_page_new (void)
{
  TandemChangesPage *page = g_new0 (TandemChangesPage, 1);

  page->changes = g_ptr_array_new_with_free_func ((GDestroyNotify) tandem_record_free);
  return page;
}

void
tandem_changes_page_free (TandemChangesPage *page)
{
  if (page == NULL)
    return;
  g_clear_pointer (&page->changes, g_ptr_array_unref);
  g_free (page->cursor);
  g_free (page);
}

JsonNode *
tandem_changes_page_to_json (const TandemChangesPage *page)
{
  JsonObject *object;
  JsonArray *changes;
  JsonNode *node;

  g_return_val_if_fail (page != NULL, NULL);

  changes = json_array_sized_new (page->changes->len);
  for (guint i = 0; i < page->changes->len; i++)
    json_array_add_element (changes, tandem_record_to_json (g_ptr_array_index (page->changes, i)));
  object = json_object_new ();
  json_object_set_array_member (object, "changes", changes);
  json_object_set_member (object, "cursor", string_or_null (page->cursor));
  json_object_set_boolean_member (object, "has_more", page->has_more);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

TandemChangesPage *
tandem_changes_page_from_json (JsonNode  *node,
                               GError   **error)
{
  g_autoptr(TandemChangesPage) page = NULL;
  JsonObject *object;
  JsonArray *changes;
  const char *cursor;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  page = tandem_changes_page_new ();
  if (!check_object (node, "", "a changes page", &object, error) ||
      !read_array (object, "", "changes", &changes, error))
    return NULL;

  for (guint i = 0; i < json_array_get_length (changes); i++)
    {
      g_autofree char *epath = element_path ("changes", i);
      TandemRecord *record = record_from_json_at (json_array_get_element (changes, i), epath, error);

      if (record == NULL)
        return NULL;
      g_ptr_array_add (page->changes, record);
    }

  if (!read_string (object, "", "cursor", MEMBER_REQUIRED, &cursor, error) ||
      !read_bool (object, "", "has_more", &page->has_more, error))
    return NULL;
  page->cursor = g_strdup (cursor);
  return g_steal_pointer (&page);
}

/* Problems */

static const char * const problem_members[] = { "type", "title", "status", "detail", NULL };

TandemProblem *
tandem_problem_new (const char *type,
                    const char *title,
                    guint       status,
                    const char *detail)
{
  TandemProblem *problem = g_new0 (TandemProblem, 1);

  /* RFC 9457: an absent type means "about:blank". */
  problem->type = g_strdup (type != NULL ? type : "about:blank");
  problem->title = g_strdup (title);
  problem->status = status;
  problem->detail = g_strdup (detail);
  return problem;
}

void
tandem_problem_free (TandemProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->type);
  g_free (problem->title);
  g_free (problem->detail);
  g_clear_pointer (&problem->extra, json_object_unref);
  g_free (problem);
}

JsonNode *
tandem_problem_to_json (const TandemProblem *problem)
{
  JsonObject *object;
  JsonNode *node;

  g_return_val_if_fail (problem != NULL, NULL);

  object = json_object_new ();
  json_object_set_string_member (object, "type", problem->type != NULL ? problem->type : "about:blank");
  if (problem->title != NULL)
    json_object_set_string_member (object, "title", problem->title);
  if (problem->status != 0)
    json_object_set_int_member (object, "status", problem->status);
  if (problem->detail != NULL)
    json_object_set_string_member (object, "detail", problem->detail);
  if (problem->extra != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (problem->extra);

      for (const GList *l = names; l != NULL; l = l->next)
        {
          /* The standard members come from the struct, never from extra. */
          if (g_strv_contains (problem_members, l->data))
            continue;
          json_object_set_member (object, l->data,
                                  node_deep_copy (json_object_get_member (problem->extra, l->data)));
        }
    }

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

TandemProblem *
tandem_problem_from_json (JsonNode  *node,
                          GError   **error)
{
  g_autoptr(TandemProblem) problem = NULL;
  g_autoptr(GList) names = NULL;
  JsonObject *object;
  const char *type, *title, *detail;
  gint64 status = 0;

  g_return_val_if_fail (node != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Every member is optional (RFC 9457); present ones must have their type. */
  if (!check_object (node, "", "a problem", &object, error) ||
      !read_string (object, "", "type", MEMBER_OPTIONAL, &type, error) ||
      !read_string (object, "", "title", MEMBER_OPTIONAL, &title, error) ||
      !read_int (object, "", "status", FALSE, 100, 599, &status, error) ||
      !read_string (object, "", "detail", MEMBER_OPTIONAL, &detail, error))
    return NULL;

  problem = tandem_problem_new (type, title, status, detail);
  names = json_object_get_members (object);
  for (const GList *l = names; l != NULL; l = l->next)
    {
      if (g_strv_contains (problem_members, l->data))
        continue;
      if (problem->extra == NULL)
        problem->extra = json_object_new ();
      json_object_set_member (problem->extra, l->data,
                              node_deep_copy (json_object_get_member (object, l->data)));
    }
  return g_steal_pointer (&problem);
}
